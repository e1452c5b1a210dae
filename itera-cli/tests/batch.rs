//! Batch execution (issue #18 item 2) end to end, against a loopback server (127.0.0.1 only)
//! written here that speaks both providers' batch APIs as their references describe them —
//! OpenAI: `POST /v1/files` (multipart, purpose=batch), `POST /v1/batches`, `GET
//! /v1/batches/{id}` (`status`, `output_file_id`), `GET /v1/files/{id}/content` (JSONL of
//! `{custom_id, response: {status_code, body}, error}`); Anthropic: `POST /v1/messages/batches`
//! (`requests: [{custom_id, params}]`), `GET /v1/messages/batches/{id}` (`processing_status`,
//! `results_url`), the results JSONL (`{custom_id, result: {type, message | error}}`) — and the
//! direct endpoints for what a batch did not answer. The server counts batch submissions and
//! direct calls. Checked: an experiment through batches reaches a verdict with the discounted
//! cost equal to a hand computation; failed and missing items are called directly at full price;
//! a run killed mid-poll (SIGKILL) resumes by polling the journaled batch, with zero
//! resubmissions; the API key is sent and found in no output.
#![allow(clippy::unwrap_used)]

mod common;

use common::text;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: usize = 120;
const KEY: &str = "sk-batch-test-5ecret-0xBEEF";
const P_IN: f64 = 2.0;
const P_OUT: f64 = 8.0;
const IN_TOK: u64 = 20;
const OUT_TOK: u64 = 1;
/// The `batch_discount` the Anthropic fixture's price sets (the OpenAI one takes the default 0.5).
const ANTHROPIC_DISCOUNT: f64 = 0.25;
/// Requests per batch in the fixture: several batches per phase.
const MAX_REQ: usize = 16;

#[derive(Clone, Copy, PartialEq)]
enum Provider {
    OpenAi,
    Anthropic,
}

#[derive(Default)]
struct Mock {
    /// Batches created (the count a resubmission would raise).
    submissions: AtomicUsize,
    /// Direct (non-batch) calls.
    direct: AtomicUsize,
    /// Rows called directly.
    direct_rows: Mutex<Vec<usize>>,
    /// While set, every batch is in progress.
    hold: AtomicBool,
    /// Uploaded files by id.
    files: Mutex<BTreeMap<String, String>>,
    /// Batches by id: their request lines.
    batches: Mutex<BTreeMap<String, Vec<Value>>>,
    /// Requests refused for a missing or wrong key.
    unauthorized: AtomicUsize,
}

/// Row `i` of a batch: errored when `i % 10 == 3`, absent (OpenAI) or expired (Anthropic) when
/// `i % 10 == 7`; answered "yes" otherwise.
fn row_of(text: &str) -> usize {
    text.trim_start_matches("question ")
        .trim()
        .parse()
        .unwrap_or(0)
}

fn chat(content: &str) -> Value {
    json!({"id": "cmpl", "object": "chat.completion", "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content}}],
           "usage": {"prompt_tokens": IN_TOK, "completion_tokens": OUT_TOK,
                     "total_tokens": IN_TOK + OUT_TOK}})
}

fn message(content: &str) -> Value {
    json!({"id": "msg", "type": "message", "role": "assistant", "model": "claude-test",
           "content": [{"type": "text", "text": content}], "stop_reason": "end_turn",
           "usage": {"input_tokens": IN_TOK, "output_tokens": OUT_TOK}})
}

/// The JSONL part of a multipart upload.
fn file_part(body: &str) -> String {
    let start = body.find("name=\"file\"").unwrap_or(0);
    let start = start + body[start..].find("\r\n\r\n").unwrap_or(0) + 4;
    let end = start + body[start..].find("\r\n--").unwrap_or(body.len() - start);
    body[start..end].to_string()
}

fn route(m: &Mock, port: u16, method: &str, path: &str, auth: bool, body: &[u8]) -> (u16, String) {
    if !auth {
        m.unauthorized.fetch_add(1, Ordering::SeqCst);
        return (401, json!({"error": {"message": "bad key"}}).to_string());
    }
    let text = String::from_utf8_lossy(body).to_string();
    let req: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let held = m.hold.load(Ordering::SeqCst);
    match (method, path) {
        ("POST", "/v1/chat/completions") => {
            m.direct.fetch_add(1, Ordering::SeqCst);
            let i = row_of(req["messages"][0]["content"].as_str().unwrap_or(""));
            m.direct_rows.lock().unwrap().push(i);
            (200, chat("yes").to_string())
        }
        ("POST", "/v1/messages") => {
            m.direct.fetch_add(1, Ordering::SeqCst);
            let i = row_of(
                req["messages"][0]["content"][0]["text"]
                    .as_str()
                    .unwrap_or(""),
            );
            m.direct_rows.lock().unwrap().push(i);
            (200, message("yes").to_string())
        }
        ("POST", "/v1/files") => {
            let mut files = m.files.lock().unwrap();
            let id = format!("file-{}", files.len());
            files.insert(id.clone(), file_part(&text));
            (
                200,
                json!({"id": id, "object": "file", "purpose": "batch"}).to_string(),
            )
        }
        ("POST", "/v1/batches") => {
            let file = req["input_file_id"].as_str().unwrap_or("").to_string();
            let lines: Vec<Value> = m.files.lock().unwrap()[&file]
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(req["endpoint"], "/v1/chat/completions");
            let n = m.submissions.fetch_add(1, Ordering::SeqCst);
            let id = format!("batch_{n}");
            m.batches.lock().unwrap().insert(id.clone(), lines);
            (
                200,
                json!({"id": id, "object": "batch", "status": "validating"}).to_string(),
            )
        }
        ("POST", "/v1/messages/batches") => {
            let lines = req["requests"].as_array().cloned().unwrap_or_default();
            let n = m.submissions.fetch_add(1, Ordering::SeqCst);
            let id = format!("msgbatch_{n}");
            m.batches.lock().unwrap().insert(id.clone(), lines);
            (
                200,
                json!({"id": id, "type": "message_batch",
                         "processing_status": "in_progress", "results_url": null})
                .to_string(),
            )
        }
        ("GET", p) if p.starts_with("/v1/files/") && p.ends_with("/content") => {
            let id = p
                .trim_start_matches("/v1/files/out-")
                .trim_end_matches("/content");
            let lines = m.batches.lock().unwrap()[id].clone();
            let mut out = String::new();
            for l in lines {
                let i = row_of(l["body"]["messages"][0]["content"].as_str().unwrap_or(""));
                let line = match i % 10 {
                    3 => json!({"id": "r", "custom_id": l["custom_id"], "response": null,
                                "error": {"code": "server_error", "message": "boom"}}),
                    7 => continue,
                    _ => json!({"id": "r", "custom_id": l["custom_id"], "error": null,
                                "response": {"status_code": 200, "request_id": "q",
                                             "body": chat("yes")}}),
                };
                out.push_str(&line.to_string());
                out.push('\n');
            }
            (200, out)
        }
        ("GET", p) if p.starts_with("/v1/batches/") => {
            let id = p.trim_start_matches("/v1/batches/");
            let status = if held { "in_progress" } else { "completed" };
            (200, json!({"id": id, "object": "batch", "status": status,
                         "output_file_id": if held { Value::Null } else { json!(format!("out-{id}")) }})
                .to_string())
        }
        ("GET", p) if p.starts_with("/v1/messages/batches/") && p.ends_with("/results") => {
            let id = p
                .trim_start_matches("/v1/messages/batches/")
                .trim_end_matches("/results");
            let lines = m.batches.lock().unwrap()[id].clone();
            let mut out = String::new();
            for l in lines {
                let i = row_of(
                    l["params"]["messages"][0]["content"][0]["text"]
                        .as_str()
                        .unwrap_or(""),
                );
                let result = match i % 10 {
                    3 => json!({"type": "errored", "error": {"type": "error",
                                "error": {"type": "api_error", "message": "boom"}}}),
                    7 => json!({"type": "expired"}),
                    _ => json!({"type": "succeeded", "message": message("yes")}),
                };
                out.push_str(&json!({"custom_id": l["custom_id"], "result": result}).to_string());
                out.push('\n');
            }
            (200, out)
        }
        ("GET", p) if p.starts_with("/v1/messages/batches/") => {
            let id = p.trim_start_matches("/v1/messages/batches/");
            let (status, url) = if held {
                ("in_progress", Value::Null)
            } else {
                (
                    "ended",
                    json!(format!(
                        "http://127.0.0.1:{port}/v1/messages/batches/{id}/results"
                    )),
                )
            };
            (
                200,
                json!({"id": id, "type": "message_batch", "processing_status": status,
                         "results_url": url})
                .to_string(),
            )
        }
        _ => (
            404,
            json!({"error": {"message": format!("no route {method} {path}")}}).to_string(),
        ),
    }
}

fn handle(stream: TcpStream, m: &Mock, port: u16) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let (mut len, mut auth) = (0usize, false);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or(("", ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "x-api-key" => auth |= v.trim() == KEY,
                "authorization" => auth |= v.trim() == format!("Bearer {KEY}"),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, out) = route(m, port, &method, &path, auth, &body);
        let resp = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{out}",
            out.len()
        );
        if stream.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

fn start() -> (u16, Arc<Mock>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mock = Arc::new(Mock::default());
    let m = Arc::clone(&mock);
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let m = Arc::clone(&m);
            std::thread::spawn(move || handle(s, &m, port));
        }
    });
    (port, mock)
}

fn experiment(dir: &Path, port: u16, provider: Provider) -> std::path::PathBuf {
    let mut data = String::from("id,question,answer,tier\n");
    let mut rec = String::from("id,pred\n");
    for i in 0..ROWS {
        let slice = if (i / 2) % 2 == 0 { "a" } else { "b" };
        data.push_str(&format!("r{i},question {i},yes,{slice}\n"));
        let base = if i % 2 == 0 { "yes" } else { "no" };
        rec.push_str(&format!("r{i},{base}\n"));
    }
    std::fs::write(dir.join("rows.csv"), data).unwrap();
    std::fs::write(dir.join("rec.csv"), rec).unwrap();
    let arm = match provider {
        Provider::OpenAi => format!(
            r#"[arms.openai]
base_url = "http://127.0.0.1:{port}/v1"
model = "gpt-test"
api_key_env = "ITERA_TEST_BATCH_KEY"
user = "{{input}}"
max_tokens = 4
execution = "batch"
batch_poll_s = 0.05
batch_max_requests = {MAX_REQ}
"#
        ),
        Provider::Anthropic => format!(
            r#"[arms.anthropic]
base_url = "http://127.0.0.1:{port}/v1"
model = "claude-test"
api_key_env = "ITERA_TEST_BATCH_KEY"
user = "{{input}}"
max_tokens = 4
execution = "batch"
batch_poll_s = 0.05
batch_max_requests = {MAX_REQ}
"#
        ),
    };
    // The Anthropic fixture sets its own batch_discount; the OpenAI one takes the default.
    let discount = match provider {
        Provider::OpenAi => String::new(),
        Provider::Anthropic => format!(", batch_discount = {ANTHROPIC_DISCOUNT}"),
    };
    let toml = format!(
        r#"[experiment]
name = "batch"
question = "Does the batched candidate beat base?"
hypothesis = "cand answers more rows."
seed = 5
deterministic = true

[data]
path = "rows.csv"
id = "id"
input = "question"
expected = "answer"
slice = "tier"

[metric]
name = "accuracy"
scorer = "exact"
trials = 1

[threshold]
min_effect_pp = 5.0
slice_loss_floor_pp = -2.0

[run]
accept_underpowered = "a 120-row loopback fixture: this suite checks batch execution, not the decision"

[[arms]]
id = "base"
baseline = true
source = "prod"
replay = {{ path = "rec.csv", id = "id", output = "pred" }}

[[arms]]
id = "cand"
parent = "base"
change = "the model, called through the provider's batch API"
price = {{ input_per_mtok_usd = {P_IN}, output_per_mtok_usd = {P_OUT}{discount} }}

{arm}"#
    );
    let path = dir.join("exp.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn itera(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_itera"));
    c.args(args)
        .env("ITERA_TEST_BATCH_KEY", KEY)
        .current_dir(dir);
    c
}

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("out/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|e| e["event"].clone())
        .collect()
}

fn all_text(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_text(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
}

/// No (part, row, trial) is in two submitted batches, and every batch submitted is done.
fn submitted_once(ev: &[Value]) -> usize {
    let mut items = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for e in ev.iter().filter(|e| e["event"] == "batch-submitted") {
        ids.insert(e["batch_id"].as_str().unwrap().to_string());
        for it in e["items"].as_array().unwrap() {
            let key = (
                e["part"].to_string(),
                it["row"].to_string(),
                it["trial"].to_string(),
            );
            assert!(items.insert(key.clone()), "{key:?} submitted twice");
        }
    }
    let done: BTreeSet<String> = ev
        .iter()
        .filter(|e| e["event"] == "batch-done")
        .map(|e| e["batch_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, done, "every submitted batch ends with batch-done");
    ids.len()
}

fn full_run(provider: Provider) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (port, mock) = start();
    let f = experiment(dir, port, provider);
    let o = itera(
        dir,
        &[
            "run",
            f.to_str().unwrap(),
            "--out",
            "out",
            "--json",
            "--quiet",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        mock.unauthorized.load(Ordering::SeqCst),
        0,
        "the key was sent"
    );
    let ev = events(dir);
    // Several batches per phase (MAX_REQ requests each), none submitted twice, all done.
    let batches = submitted_once(&ev);
    assert_eq!(batches, mock.submissions.load(Ordering::SeqCst));
    assert!(batches >= 4, "{batches} batches");
    let calls: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "call" && e["arm"] == "cand")
        .collect();
    // Every (part, row, trial) of cand journaled exactly once.
    let keys: BTreeSet<String> = calls
        .iter()
        .map(|e| format!("{}|{}|{}", e["part"], e["row"], e["trial"]))
        .collect();
    assert_eq!(keys.len(), calls.len(), "a call journaled twice");
    let row = |e: &Value| -> usize { e["row"].as_str().unwrap()[1..].parse().unwrap() };
    // The failed (i % 10 == 3) and missing/expired (i % 10 == 7) items went through the direct
    // path; nothing else did but the pilot.
    let retried: Vec<usize> = calls
        .iter()
        .filter(|e| e["part"] != "train" && matches!(row(e) % 10, 3 | 7))
        .map(|e| row(e))
        .collect();
    assert!(!retried.is_empty());
    let direct: Vec<usize> = mock.direct_rows.lock().unwrap().clone();
    for r in &retried {
        assert!(direct.contains(r), "row {r} was not called directly");
    }
    let pilot = direct.len() - retried.len();
    assert!(
        (1..=2).contains(&pilot),
        "direct {direct:?} retried {retried:?}"
    );
    // Cost by hand: the token price less the batch discount through the batch (OpenAI: the
    // default, the providers' published 50%; Anthropic: the price's batch_discount = 0.25), the
    // full price for the items called directly.
    let full = (IN_TOK as f64 * P_IN + OUT_TOK as f64 * P_OUT) / 1e6;
    let off = match provider {
        Provider::OpenAi => 0.5,
        Provider::Anthropic => ANTHROPIC_DISCOUNT,
    };
    for e in &calls {
        let cost = e["outcome"]["cost_usd"].as_f64().unwrap();
        let want = if matches!(row(e) % 10, 3 | 7) || e["part"] == "train" {
            full
        } else {
            full * (1.0 - off)
        };
        assert!((cost - want).abs() < 1e-15, "{e}: {cost} != {want}");
    }
    let test_calls: Vec<&&Value> = calls.iter().filter(|e| e["part"] == "test").collect();
    let n_direct = test_calls
        .iter()
        .filter(|e| matches!(row(e) % 10, 3 | 7))
        .count();
    let n = test_calls.len();
    let mean = ((n - n_direct) as f64 * full * (1.0 - off) + n_direct as f64 * full) / n as f64;
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/data.json")).unwrap()).unwrap();
    let cand = data["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "cand")
        .unwrap()
        .clone();
    let per_1k = cand["cost_per_1k_usd"].as_f64().unwrap();
    assert!(
        (per_1k - 1000.0 * mean).abs() < 1e-9,
        "cost per 1k {per_1k} != hand computation {}",
        1000.0 * mean
    );
    assert!(
        data["decision"].is_string() || data["verdict"].is_object(),
        "{data}"
    );
    // The key reached the server and no output.
    let mut everything = String::from_utf8_lossy(&o.stdout).to_string();
    everything.push_str(&String::from_utf8_lossy(&o.stderr));
    all_text(&dir.join("out"), &mut everything);
    assert!(
        !everything.contains(KEY),
        "the API key leaked into an output"
    );
}

#[test]
fn openai_batch_experiment_reaches_a_verdict_with_the_discount_priced() {
    full_run(Provider::OpenAi);
}

#[test]
fn anthropic_batch_experiment_reaches_a_verdict_with_the_discount_priced() {
    full_run(Provider::Anthropic);
}

fn killed_mid_poll(provider: Provider) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (port, mock) = start();
    mock.hold.store(true, Ordering::SeqCst);
    let f = experiment(dir, port, provider);
    let args = [
        "run",
        f.to_str().unwrap(),
        "--out",
        "out",
        "--stop-after",
        "dev",
        "-q",
    ];
    let mut child = itera(dir, &args).spawn().unwrap();
    // Wait until the dev batches are journaled and being polled, then SIGKILL.
    let t0 = Instant::now();
    loop {
        let submitted = events(dir)
            .iter()
            .filter(|e| e["event"] == "batch-submitted")
            .count();
        if submitted > 0 && submitted == mock.submissions.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no batch submitted");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = mock.submissions.load(Ordering::SeqCst);
    let journaled = events(dir)
        .iter()
        .filter(|e| e["event"] == "batch-submitted")
        .count();
    assert_eq!(before, journaled, "every accepted batch was journaled");
    assert!(
        events(dir).iter().all(|e| e["event"] != "batch-done"),
        "killed before a batch ended"
    );
    mock.hold.store(false, Ordering::SeqCst);
    let o = itera(dir, &args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        mock.submissions.load(Ordering::SeqCst),
        before,
        "the resume submitted a batch again instead of polling the journaled ones"
    );
    let ev = events(dir);
    assert_eq!(submitted_once(&ev), before);
    let calls: Vec<String> = ev
        .iter()
        .filter(|e| e["event"] == "call" && e["arm"] == "cand" && e["part"] == "dev")
        .map(|e| format!("{}|{}", e["row"], e["trial"]))
        .collect();
    let unique: BTreeSet<&String> = calls.iter().collect();
    assert_eq!(unique.len(), calls.len(), "a result journaled twice");
    assert!(!calls.is_empty());
}

#[test]
fn a_batch_run_killed_mid_poll_resumes_without_resubmitting_openai() {
    killed_mid_poll(Provider::OpenAi);
}

#[test]
fn a_batch_run_killed_mid_poll_resumes_without_resubmitting_anthropic() {
    killed_mid_poll(Provider::Anthropic);
}

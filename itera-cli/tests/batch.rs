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

mod batch_mock;
mod common;

use batch_mock::start;

use common::text;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
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
    // What the provider said about a failed item is journaled with its batch, not lost.
    let said: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "batch-done")
        .flat_map(|e| e["errors"].as_array().into_iter().flatten())
        .collect();
    assert!(
        said.iter()
            .any(|m| m.as_str().unwrap_or("").contains("boom")),
        "batch-done carries no item error: {said:?}"
    );
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

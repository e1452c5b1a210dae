//! The `anthropic` arm end to end, against a loopback Messages server (127.0.0.1 only) written
//! here: cache tokens priced at their own rates with the steady-state cost in `data.json` equal
//! to a hand computation and the cold calls shown apart (G28); a reply cut at `max_tokens`
//! tagged with the registered failure mode `truncated`; the API key (from an env var) sent as
//! `x-api-key` and found in no output; with `[run] adaptive_concurrency = true` against a server
//! admitting at most K requests (429 above), no call is lost and the run summary carries each
//! arm's concurrency trace and calls per second.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::{self, Reply, Request};
use common::text;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const ROWS: usize = 200;
const KEY: &str = "sk-ant-test-5ecret-key-0xC0FFEE";

/// Prices of the test (USD per million tokens): input, output, cache read, cache write.
const P_IN: f64 = 3.0;
const P_OUT: f64 = 15.0;
const P_READ: f64 = 0.3;
const P_WRITE: f64 = 3.75;
/// Usage every reply reports: uncached input, output, and the cached prefix's size.
const UNCACHED: u64 = 20;
const OUT: u64 = 1;
const CACHED: u64 = 1000;

/// Row `i`'s call is cold (wrote the cache, read none) when `i % 10 == 0`; the reply is cut at
/// max_tokens on `i % 10 == 9` (a wrong, truncated "n").
fn reply(i: usize) -> Value {
    let cold = i.is_multiple_of(10);
    let cut = i % 10 == 9;
    serde_json::json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": if cut { "n" } else { "yes" }}],
        "stop_reason": if cut { "max_tokens" } else { "end_turn" },
        "usage": {
            "input_tokens": UNCACHED, "output_tokens": OUT,
            "cache_creation_input_tokens": if cold { CACHED } else { 0 },
            "cache_read_input_tokens": if cold { 0 } else { CACHED }
        }
    })
}

/// A server admitting at most `k` requests at once (0: no limit), counting the refusals.
#[derive(Default)]
struct Gate {
    k: usize,
    in_flight: AtomicUsize,
    refused: AtomicUsize,
}

/// Answers one Messages request: 429 above `k` in flight, 401 without the key or the version
/// header, 400 unless the system prompt is cached, else row `i`'s reply.
fn answer(req: &Request, gate: &Gate) -> Reply {
    let body = req.json();
    let now = gate.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let (status, out) = if gate.k > 0 && now > gate.k {
        gate.refused.fetch_add(1, Ordering::SeqCst);
        (
            429,
            serde_json::json!({"type": "error", "error": {"type": "rate_limit_error", "message": "too many requests"}}),
        )
    } else if req.header("x-api-key") != Some(KEY)
        || req.header("anthropic-version").is_none_or(str::is_empty)
    {
        (
            401,
            serde_json::json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        )
    } else if body["system"][0]["cache_control"]["type"] != "ephemeral" || body["max_tokens"] != 8 {
        (
            400,
            serde_json::json!({"type": "error", "error": {"type": "invalid_request_error", "message": "system not cached"}}),
        )
    } else {
        let content = body["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap_or("");
        let i: usize = content.trim_start_matches("question ").parse().unwrap_or(0);
        if gate.k > 0 {
            std::thread::sleep(Duration::from_millis(15));
        }
        (200, reply(i))
    };
    gate.in_flight.fetch_sub(1, Ordering::SeqCst);
    Some((status, out.to_string()))
}

fn start(k: usize) -> (u16, Arc<Gate>) {
    let (listener, port) = http::bind();
    let gate = Arc::new(Gate {
        k,
        ..Gate::default()
    });
    let g = Arc::clone(&gate);
    http::serve(listener, move |req| answer(req, &g));
    (port, gate)
}

fn experiment(dir: &Path, port: u16, run: &str) -> std::path::PathBuf {
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
    let toml = format!(
        r#"[experiment]
name = "claude-tiers"
question = "Does the cached Claude arm beat base?"
hypothesis = "cand answers more rows."
seed = 11
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
accept_underpowered = "a 200-row loopback fixture: this suite checks pricing and concurrency, not the decision"
{run}

[[failure_modes]]
id = "truncated"
weight = 1.0
description = "the reply was cut at max_tokens"

[[failure_modes]]
id = "wrong_label"
weight = 2.0

[[failure_modes]]
id = "refusal"
weight = 1.0

[[arms]]
id = "base"
baseline = true
source = "prod"
replay = {{ path = "rec.csv", id = "id", output = "pred" }}

[[arms]]
id = "cand"
parent = "base"
change = "Claude with a cached system prompt"
price = {{ input_per_mtok_usd = {P_IN}, output_per_mtok_usd = {P_OUT}, cache_read_per_mtok_usd = {P_READ}, cache_write_per_mtok_usd = {P_WRITE} }}

[arms.anthropic]
base_url = "http://127.0.0.1:{port}/v1"
model = "claude-test"
api_key_env = "ITERA_TEST_ANTHROPIC_KEY"
system = "Answer yes or no."
cache_system = true
user = "{{input}}"
max_tokens = 8
"#
    );
    let path = dir.join("exp.toml");
    std::fs::write(&path, toml).unwrap();
    path
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

#[test]
fn anthropic_cache_tokens_are_priced_at_cache_rates_in_data_json() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (port, _) = start(0);
    let f = experiment(dir, port, "");
    let o = Command::new(env!("CARGO_BIN_EXE_itera"))
        .args([
            "run",
            f.to_str().unwrap(),
            "--out",
            "out",
            "--json",
            "--quiet",
        ])
        .env("ITERA_TEST_ANTHROPIC_KEY", KEY)
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/data.json")).unwrap()).unwrap();
    let cand = data["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "cand")
        .unwrap()
        .clone();
    // By hand: a warm call reads the 1,000 cached tokens; its 20 other prompt tokens and its
    // one output token are billed at the input and output rates.
    let warm = (UNCACHED as f64 * P_IN + CACHED as f64 * P_READ + OUT as f64 * P_OUT) / 1e6;
    let cold = (UNCACHED as f64 * P_IN + CACHED as f64 * P_WRITE + OUT as f64 * P_OUT) / 1e6;
    let steady = cand["cost_per_1k_usd"].as_f64().unwrap();
    assert!(
        (steady - 1000.0 * warm).abs() < 1e-12,
        "steady-state cost per 1k {steady} != hand computation {} (warm calls only, G28)",
        1000.0 * warm
    );
    // The cold calls are the test rows with i % 10 == 0, shown apart.
    let journal = std::fs::read_to_string(dir.join("out/journal.jsonl")).unwrap();
    let calls: Vec<Value> = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|e| e["event"].clone())
        .filter(|e| e["event"] == "call" && e["arm"] == "cand" && e["part"] == "test")
        .collect();
    let row = |e: &Value| -> usize { e["row"].as_str().unwrap()[1..].parse().unwrap() };
    let n_cold = calls.iter().filter(|e| row(e).is_multiple_of(10)).count();
    assert!(n_cold > 0, "the test split holds a cold row");
    assert_eq!(
        cand["cold"]["calls"].as_u64(),
        Some(n_cold as u64),
        "{cand}"
    );
    assert!((cand["cold"]["cost_usd"].as_f64().unwrap() - n_cold as f64 * cold).abs() < 1e-12);
    let md = std::fs::read_to_string(dir.join("out/conclusion.md")).unwrap();
    assert!(
        md.contains(&format!("Cold calls of cand: {n_cold} on test")),
        "{md}"
    );
    // Input tokens count every prompt token, cached ones included (journaled apart).
    let c0 = &calls[0]["outcome"]["usage"];
    assert_eq!(c0["input_tokens"].as_u64(), Some(UNCACHED + CACHED), "{c0}");
    // A reply cut at max_tokens is journaled truncated and tagged with the registered mode.
    let cut: Vec<&Value> = calls.iter().filter(|e| row(e) % 10 == 9).collect();
    assert!(!cut.is_empty());
    for e in cut {
        assert_eq!(e["outcome"]["usage"]["truncated"], true, "{e}");
        assert_eq!(
            e["outcome"]["failure_modes"],
            serde_json::json!(["truncated"]),
            "{e}"
        );
    }
    // The key reached the server (else 401) and no output.
    let mut everything = String::from_utf8_lossy(&o.stdout).to_string();
    everything.push_str(&String::from_utf8_lossy(&o.stderr));
    all_text(&dir.join("out"), &mut everything);
    assert!(
        !everything.contains(KEY),
        "the API key leaked into an output"
    );
}

#[test]
fn adaptive_concurrency_shows_in_the_run_summary_and_loses_no_call() {
    const K: usize = 4;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (port, gate) = start(K);
    let f = experiment(
        dir,
        port,
        "concurrency = 16\nadaptive_concurrency = true\nmax_attempts = 50",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_itera"))
        .args([
            "run",
            f.to_str().unwrap(),
            "--out",
            "out",
            "--json",
            "--quiet",
        ])
        .env("ITERA_TEST_ANTHROPIC_KEY", KEY)
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        gate.refused.load(Ordering::SeqCst) > 0,
        "the gate refused some calls"
    );
    let c = &v["concurrency"]["cand"];
    assert_eq!(c["max"], 16, "{v}");
    assert!(c["calls_per_second"].as_f64().unwrap() > 0.0, "{c}");
    assert!(c["overloaded"].as_u64().unwrap() > 0, "{c}");
    let trace = c["trace"].as_array().unwrap();
    assert_eq!(trace[0], serde_json::json!([0.0, 16]), "{c}");
    assert!(c["final_limit"].as_u64().unwrap() <= 2 * K as u64, "{c}");
    // No call lost: every test call of cand scored (none failed).
    assert_eq!(v["calls"]["cand"]["failed"].as_u64().unwrap_or(0), 0, "{v}");
}

//! Benchmarks of the journal's hot paths (DESIGN "The store and journal"): appending a realistic
//! `call` event — canonical JSON, the SHA-256 chain link, one write — to a directory store and to
//! an in-memory store, and opening (verifying) a directory whose journal holds 10,000 lines.
//!
//! `cargo bench -p itera-benches --bench journal`

use divan::Bencher;
use itera_core::{CallOutcome, CallRecord, Event, Part, RowId, Store, Usage};

fn main() {
    divan::main();
}

/// Lines in the journal that `open_verify` opens.
const LINES: usize = 10_000;

/// A call as an LLM arm produces it: a paragraph of output, usage, cost, judge and rubric hash.
fn call(i: usize) -> Event {
    let hex = "3f9a1c0e7b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a";
    Event::Call(CallRecord {
        arm: "arm-alpha-7f3".into(),
        version: 0,
        spec_hash: hex.into(),
        row: RowId(format!("txn-{i:06}")),
        part: Part::Dev,
        trial: (i % 3) as u32,
        attempts: 1,
        errors: Vec::new(),
        latency_ms: 812.25 + i as f64 % 97.0,
        outcome: CallOutcome::Scored {
            output: serde_json::json!({
                "category": "travel",
                "confidence": 0.87,
                "reasoning": "The vendor is an airline and the amount matches a domestic fare; \
                              the memo mentions a flight to a client site, so this is travel \
                              rather than a reimbursable client expense.",
            }),
            score: if i.is_multiple_of(4) { 0.0 } else { 1.0 },
            failure_modes: Vec::new(),
            deferred_findings: Vec::new(),
            judge: "llm-judge-v2".into(),
            rubric_hash: Some(hex.into()),
            usage: Usage {
                input_tokens: Some(1_482),
                output_tokens: Some(96),
                cache_read_tokens: Some(1_024),
                cache_write_tokens: None,
                cost_usd: None,
            },
            cost_usd: Some(0.004_713),
        },
    })
}

/// One `call` appended to a directory store (written and flushed; no fsync).
#[divan::bench]
fn append_dir(bencher: Bencher<'_, '_>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::dir(dir.path()).expect("store");
    let mut i = 0;
    bencher
        .with_inputs(|| {
            i += 1;
            call(i)
        })
        .bench_local_values(|event| store.append(event).expect("append"));
}

/// One `call` appended to an in-memory store.
#[divan::bench]
fn append_memory(bencher: Bencher<'_, '_>) {
    let store = Store::in_memory();
    let mut i = 0;
    bencher
        .with_inputs(|| {
            i += 1;
            call(i)
        })
        .bench_local_values(|event| store.append(event).expect("append"));
}

/// `Store::dir` on a directory whose journal holds 10,000 `call` lines: read, verify the chain,
/// check the registration.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn open_verify_10k(bencher: Bencher<'_, '_>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::dir(dir.path()).expect("store");
    for i in 0..LINES {
        store.append(call(i)).expect("append");
    }
    drop(store);
    bencher.bench(|| {
        let store = Store::dir(dir.path()).expect("open");
        divan::black_box(store);
    });
}

/// `Store::entries` on the same 10,000-line journal (the runner re-reads it on resume).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn entries_10k(bencher: Bencher<'_, '_>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::dir(dir.path()).expect("store");
    for i in 0..LINES {
        store.append(call(i)).expect("append");
    }
    bencher.bench(|| store.entries().expect("entries").len());
}

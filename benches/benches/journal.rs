//! Benchmarks of the journal's hot paths (DESIGN "The store and journal"), measured through the
//! public pipeline only — the journal is written by phase methods, never by callers (G1, G7):
//!
//! - `score_dev_dir` / `score_dev_memory`: dev scoring of an instant arm, so the time is the
//!   runner's bookkeeping plus one journal line per call (canonical JSON, the SHA-256 chain link,
//!   one write) to a directory store and to an in-memory store; divide by the calls reported.
//! - `open_verify` / `entries`: opening (reading and verifying the chain of) a directory whose
//!   journal holds ≈ 10,000 call lines, and re-reading its entries (the runner does on resume).
//!
//! `cargo bench -p itera-benches --bench journal`

use async_trait::async_trait;
use divan::Bencher;
use itera_core::run::judges::ExactMatch;
use itera_core::*;
use serde_json::{Value, json};
use std::path::Path;

fn main() {
    divan::main();
}

/// Rows in the experiment: dev ≈ 50% of them, × 2 arms × 3 trials ≈ 3 call lines per row.
const ROWS: usize = 3_400;

/// An arm that answers at once with a realistic paragraph of output and token usage.
struct Instant(&'static str);

#[async_trait]
impl Arm for Instant {
    fn id(&self) -> &str {
        self.0
    }
    fn spec(&self) -> String {
        format!("instant arm {}", self.0)
    }
    fn reports(&self) -> Reports {
        Reports {
            tokens: true,
            ..Reports::default()
        }
    }
    async fn call(&self, input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let mut out = ArmOutput::text(input["expected"].as_str().unwrap_or("travel"));
        out.usage = Usage {
            input_tokens: Some(1_482),
            output_tokens: Some(96),
            cache_read_tokens: Some(1_024),
            ..Usage::default()
        };
        Ok(out)
    }
}

fn frame() -> Frame {
    Frame::builder("journal-bench", "Does v2 beat v1?", "v2 is better.")
        .baseline("v1", "src/lib.rs:1")
        .arm("v2", "v1", "better prompt")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .trials(3)
        .seed(7)
        .build()
        .expect("frame")
}

fn rows() -> Vec<Row> {
    (0..ROWS)
        .map(|i| {
            let expected = ["travel", "software", "supplies"][i % 3];
            Row::new(
                format!("txn-{i:06}"),
                json!({"memo": format!("row {i}"), "expected": expected}),
            )
            .expected(expected)
            .slice(if i % 2 == 0 { "smb" } else { "enterprise" })
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

/// Registers, splits, pilots and scores dev in `store`; returns the number of journal lines.
fn score(store: Store) -> usize {
    let arms: Vec<Box<dyn Arm>> = vec![Box::new(Instant("v1")), Box::new(Instant("v2"))];
    let opts = RunOptions {
        arm_concurrency: 64,
        ..RunOptions::default()
    };
    runtime().block_on(async {
        let exp = Experiment::new(frame())
            .expect("frame")
            .register(store)
            .expect("register")
            .split_rows(rows())
            .expect("split")
            .pilot(Lineup::new(ExactMatch).arms(arms).options(opts))
            .await
            .expect("pilot")
            .score_dev()
            .await
            .expect("score");
        exp.store().entries().expect("entries").len()
    })
}

fn scored_dir(path: &Path) -> usize {
    score(Store::dir(path).expect("store"))
}

/// Dev scoring to a directory store (every line written and flushed).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn score_dev_dir(bencher: Bencher<'_, '_>) {
    bencher
        .with_inputs(|| tempfile::tempdir().expect("temp dir"))
        .bench_local_values(|dir| scored_dir(dir.path()));
}

/// Dev scoring to an in-memory store.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn score_dev_memory(bencher: Bencher<'_, '_>) {
    bencher.bench_local(|| score(Store::in_memory()));
}

/// `Store::dir` on a directory holding ≈ 10,000 journal lines: read, verify the chain, check
/// the registration.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn open_verify(bencher: Bencher<'_, '_>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = scored_dir(dir.path());
    assert!(lines > 10_000, "{lines} lines");
    bencher.bench(|| divan::black_box(Store::dir(dir.path()).expect("open")));
}

/// `Store::entries` on the same journal.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn entries(bencher: Bencher<'_, '_>) {
    let dir = tempfile::tempdir().expect("temp dir");
    scored_dir(dir.path());
    let store = Store::dir(dir.path()).expect("open");
    bencher.bench(|| store.entries().expect("entries").len());
}

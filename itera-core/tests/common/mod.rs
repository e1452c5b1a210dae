//! Test arms, judges and data shared by the runner tests: deterministic, with fault injection
//! and call counting.
#![allow(dead_code, clippy::unwrap_used)]

use async_trait::async_trait;
use itera_core::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A stable hash in [0, 1) of some text (FNV-1a + splitmix64 finalizer), for deterministic
/// "randomness".
pub fn unit(text: &str) -> f64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    // splitmix64's finalizer: FNV alone barely moves its high bits on the last bytes.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d049bb133111eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// How a call fails on its first attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Error,
    Timeout,
    Panic,
    RateLimited,
    Fatal,
}

/// An arm that answers the expected value with probability `accuracy` per (row, trial), and on
/// the first attempt of a `fault_share` of calls fails with a rotating fault.
pub struct TestArm {
    pub id: String,
    pub accuracy: f64,
    pub fault_share: f64,
    pub faults: Vec<Fault>,
    pub delay: Duration,
    pub calls: AtomicUsize,
    attempts: Mutex<HashMap<(String, u32), u32>>,
    pub family: Option<String>,
    pub reports_tokens: bool,
    pub fixed_output: Option<String>,
    /// Replaces the generated spec text.
    pub spec_text: Option<String>,
    /// Rows this arm always answers correctly.
    pub boost: std::collections::HashSet<String>,
    /// Processing time the arm reports as its server's (`ArmOutput::with_server_ms`).
    pub server_ms: Option<f64>,
}

impl TestArm {
    pub fn new(id: &str, accuracy: f64) -> TestArm {
        TestArm {
            id: id.into(),
            accuracy,
            fault_share: 0.0,
            faults: vec![],
            delay: Duration::ZERO,
            calls: AtomicUsize::new(0),
            attempts: Mutex::new(HashMap::new()),
            family: None,
            reports_tokens: true,
            fixed_output: None,
            spec_text: None,
            boost: Default::default(),
            server_ms: None,
        }
    }
    pub fn faulty(mut self, share: f64, faults: &[Fault]) -> TestArm {
        self.fault_share = share;
        self.faults = faults.to_vec();
        self
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Arm for TestArm {
    fn id(&self) -> &str {
        &self.id
    }
    fn spec(&self) -> String {
        match &self.spec_text {
            Some(s) => s.clone(),
            None => format!(
                "test arm {} accuracy {} boosted {}",
                self.id,
                self.accuracy,
                self.boost.len()
            ),
        }
    }
    fn family(&self) -> Option<&str> {
        self.family.as_deref()
    }
    fn reports(&self) -> Reports {
        Reports {
            tokens: self.reports_tokens,
            ..Reports::default()
        }
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // The same key for every version of an arm: a more accurate version is right on a
        // superset of rows, so version-to-version differences are monotone.
        let key = format!("{}|{}|{}", self.id, ctx.row_id, ctx.trial);
        let attempt = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry((ctx.row_id.to_string(), ctx.trial)).or_insert(0);
            *n += 1;
            *n
        };
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if attempt == 1
            && !self.faults.is_empty()
            && unit(&format!("fault{key}")) < self.fault_share
        {
            let f = self.faults[(unit(&format!("kind{key}")) * self.faults.len() as f64) as usize];
            match f {
                Fault::Error => {
                    return Err(ArmError::Retryable {
                        message: "connection reset".into(),
                        retry_after: None,
                    });
                }
                Fault::Timeout => tokio::time::sleep(Duration::from_secs(5)).await,
                Fault::Panic => panic!("arm bug on {key}"),
                Fault::RateLimited => {
                    return Err(ArmError::Retryable {
                        message: "429 too many requests".into(),
                        retry_after: Some(Duration::from_millis(5)),
                    });
                }
                Fault::Fatal => return Err(ArmError::Fatal("400 bad request".into())),
            }
        }
        let expected = input["expected"].as_str().unwrap_or("").to_string();
        let output = match &self.fixed_output {
            Some(o) => o.clone(),
            None if self.boost.contains(ctx.row_id.as_str()) => expected,
            None if unit(&key) < self.accuracy => expected,
            None => "wrong".to_string(),
        };
        let mut out = ArmOutput::text(output);
        if let Some(ms) = self.server_ms {
            out = out.with_server_ms(ms);
        }
        if self.reports_tokens {
            out.usage.input_tokens = Some(100);
            out.usage.output_tokens = Some(10);
        }
        Ok(out)
    }
}

/// Exact match on the output vs the row's expected value, recording everything it sees.
#[derive(Default)]
pub struct RecordingJudge {
    pub seen: Mutex<Vec<String>>,
    pub family: Option<String>,
    pub id: String,
    pub invert: bool,
}

impl RecordingJudge {
    pub fn new() -> RecordingJudge {
        RecordingJudge {
            // The id the shared frame registers as its scorer (G8: the judge must be the registered one).
            id: "exact".into(),
            ..RecordingJudge::default()
        }
    }
}

#[async_trait]
impl Judge for RecordingJudge {
    fn id(&self) -> &str {
        &self.id
    }
    fn family(&self) -> Option<&str> {
        self.family.as_deref()
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        self.seen.lock().unwrap().push(format!(
            "{} {} {}",
            view.input,
            view.expected.cloned().unwrap_or(Value::Null),
            output
        ));
        let right = Some(output) == view.expected;
        Ok(Judgement::score(if right != self.invert {
            1.0
        } else {
            0.0
        }))
    }
}

pub fn frame(trials: u32) -> Frame {
    Frame::builder("runner", "Does a beat base?", "a is more accurate.")
        .baseline("base", "src/lib.rs:1")
        .arm("arm-alpha-7f3", "base", "better prompt")
        .arm("arm-beta-9c1", "base", "other model")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .trials(trials)
        .seed(11)
        .build()
        .unwrap()
}

pub fn rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let expected = ["travel", "software", "supplies"][i % 3];
            Row::new(
                format!("r{i:04}"),
                serde_json::json!({"text": format!("txn {i}"), "expected": expected}),
            )
            .expected(expected)
            .slice(if i % 2 == 0 { "smb" } else { "enterprise" })
        })
        .collect()
}

pub fn fast_opts() -> RunOptions {
    RunOptions {
        arm_concurrency: 16,
        timeout: Duration::from_millis(200),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(4),
        ..RunOptions::default()
    }
}

/// [`fast_opts`] that accept an underpowered design explicitly (G20) for `why`. The synthetic
/// fixtures are kept small so the suite stays fast, and most are underpowered for T = 5pp on
/// binary scores (a powered one needs thousands of test rows); a test that checks something
/// other than power accepts that at its verdict call, saying why, and the journal, conclusion.md
/// and the self-audit's power item record it.
pub fn accepting(why: &str) -> RunOptions {
    RunOptions {
        accept_underpowered: Some(why.to_string()),
        ..fast_opts()
    }
}

pub fn boxed(arms: Vec<TestArm>) -> Vec<Box<dyn Arm>> {
    arms.into_iter()
        .map(|a| Box::new(a) as Box<dyn Arm>)
        .collect()
}

/// Per-arm, per-row mean scores of a scored experiment.
pub fn row_means(exp: &Experiment<Scored>) -> Vec<Vec<Option<f64>>> {
    let cube = &exp.dev().cube;
    (0..cube.arms().len()).map(|a| cube.row_means(a)).collect()
}

/// A shared handle to a test arm, so a test can count its calls after handing it to the runner.
pub struct Handle(pub std::sync::Arc<TestArm>);

#[async_trait]
impl Arm for Handle {
    fn id(&self) -> &str {
        self.0.id()
    }
    fn spec(&self) -> String {
        self.0.spec()
    }
    fn family(&self) -> Option<&str> {
        self.0.family()
    }
    fn reports(&self) -> Reports {
        self.0.reports()
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        self.0.call(input, ctx).await
    }
}

/// Three shared arms (baseline, alpha, beta) and their boxed handles.
pub fn shared(arms: [TestArm; 3]) -> (Vec<std::sync::Arc<TestArm>>, Vec<Box<dyn Arm>>) {
    let shared: Vec<_> = arms.into_iter().map(std::sync::Arc::new).collect();
    let boxed = shared
        .iter()
        .map(|a| Box::new(Handle(a.clone())) as Box<dyn Arm>)
        .collect();
    (shared, boxed)
}

pub fn standard_arms() -> [TestArm; 3] {
    [
        TestArm::new("base", 0.6),
        TestArm::new("arm-alpha-7f3", 0.8),
        TestArm::new("arm-beta-9c1", 0.55),
    ]
}

/// Canonical JSON as the journal writes it: keys sorted at every depth, no whitespace.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(xs) => format!(
            "[{}]",
            xs.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Appends `event` to a directory's journal file the way another tool would: a correctly
/// chained line (sequence, previous hash, SHA-256 of the body). No library API can do this; the
/// tests use it to show what the checks beyond the chain catch.
pub fn append_chained(journal: &std::path::Path, event: Value) {
    use sha2::{Digest, Sha256};
    let text = std::fs::read_to_string(journal).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let seq = last["seq"].as_u64().unwrap() + 1;
    let body = serde_json::json!({
        "seq": seq, "prev": last["hash"], "at": "2026-12-01T00:00:00Z", "event": event
    });
    let hash: String = Sha256::digest(canonical(&body).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut entry = body;
    entry["hash"] = Value::String(hash);
    let mut line = canonical(&entry);
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(journal)
        .unwrap();
    std::io::Write::write_all(&mut file, line.as_bytes()).unwrap();
}

/// An experiment directory (`exp`) alone in its own temporary runs directory. The spent-test
/// ledger is kept beside the experiment directories (G15), so a bare `tempdir()` would share
/// `/tmp/.itera-spent-tests.jsonl` with every other test that opens the same rows; here each test
/// has its own ledger, and the spent-test check stays on.
pub struct ExpDir {
    _runs: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl ExpDir {
    /// A fresh runs directory with an empty `exp` directory inside it.
    pub fn new() -> ExpDir {
        let runs = tempfile::tempdir().unwrap();
        let path = runs.path().join("exp");
        std::fs::create_dir(&path).unwrap();
        ExpDir { _runs: runs, path }
    }

    /// The experiment directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Other run options for the verdict than the lineup's (e.g. [`accepting`]): set with
/// `Experiment::options_mut`, as a caller would; the arms and judge stay those bound at the pilot.
pub trait WithOptions {
    fn with_options(self, opts: RunOptions) -> Self;
}

impl WithOptions for Experiment<Sealed> {
    fn with_options(mut self, opts: RunOptions) -> Self {
        *self.options_mut() = opts;
        self
    }
}

//! The runner's overhead (DESIGN "The runner": N calls of fixed latency L at concurrency C take
//! within 5% of N·L/C): an arm that sleeps `--latency-ms` per call, scored through the real
//! runner and a real directory journal (a temp directory), with a deterministic judge. Prints one
//! JSON line: calls, concurrency, ideal and actual seconds, their ratio and the peak RSS.
//!
//! ```text
//! cargo run --release -p itera-examples --example runner_overhead -- \
//!     --calls 10000 --concurrency 64 --latency-ms 20
//! ```
//!
//! The experiment is the baseline and one arm with `--trials K` trials each (default 3, the
//! method's default for non-deterministic arms; `--trials 1` declares them deterministic), so dev
//! scoring makes `2 × K × dev rows` calls; `calls / K` rows are split 30/50/20, which gives
//! `calls / 2K` dev rows. `actual_s` is the wall time of the whole `score_dev` transition
//! (journal replay, every call, the noise floor and the `dev-scored` entry); `calls` is the
//! number of cells of the dev cube, all made by that transition (the directory is new). The peak
//! RSS is read right after it. `ratio_vs_measured_latency` divides by the latency the runner
//! measured for the arm's own sleep (tokio's 1 ms timer rounds a 20 ms sleep up to ~21.4 ms).
//! `--timer thread` makes the arm sleep on a blocking-pool thread (exactly L to ~0.1 ms) instead
//! of tokio's timer, whose 1 ms ticks round a 20 ms sleep up to ~21 ms: with it the ratio to
//! N·L/C measures the runner alone. The phase boundary goes to stderr. `--store memory` scores into the in-memory store instead
//! of a directory (the peak-RSS-in-N measurement: `--latency-ms 0 --trials 1 --calls 1000000`).

use async_trait::async_trait;
use itera_core::{
    Arm, ArmError, ArmOutput, CallCtx, Experiment, Frame, Judge, JudgeError, JudgeView, Judgement,
    Lineup, Progress, Reports, Row, RunOptions, Store,
};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An arm that answers after a fixed latency: the expected value, or "wrong" on every 7th row.
struct Sleepy {
    id: &'static str,
    latency: Duration,
    /// Sleep on a blocking-pool thread (`std::thread::sleep`, ~0.1 ms slack) instead of tokio's
    /// timer, which rounds every deadline up to its next 1 ms tick (a 20 ms sleep takes ~21 ms).
    precise: bool,
}

#[async_trait]
impl Arm for Sleepy {
    fn id(&self) -> &str {
        self.id
    }
    fn spec(&self) -> String {
        format!("{}: sleeps {:?} per call", self.id, self.latency)
    }
    fn reports(&self) -> Reports {
        Reports {
            tokens: true,
            ..Reports::default()
        }
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        if self.precise {
            let d = self.latency;
            tokio::task::spawn_blocking(move || std::thread::sleep(d))
                .await
                .map_err(|e| ArmError::Fatal(format!("sleeper thread: {e}")))?;
        } else {
            tokio::time::sleep(self.latency).await;
        }
        let wrong = ctx.seed.is_multiple_of(7);
        let answer = if wrong {
            "wrong"
        } else {
            input["expected"].as_str().unwrap_or("")
        };
        let mut out = ArmOutput::text(answer);
        out.usage.input_tokens = Some(120);
        out.usage.output_tokens = Some(8);
        Ok(out)
    }
}

/// Exact match against the row's expected value.
struct Exact;

#[async_trait]
impl Judge for Exact {
    fn id(&self) -> &str {
        "exact"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        Ok(Judgement::score(if Some(output) == view.expected {
            1.0
        } else {
            0.0
        }))
    }
}

/// Peak resident set size in MB (`VmHWM` of /proc/self/status), 0 where unavailable.
fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// A size field of /proc/self/status in MB (`VmHWM:` peak, `VmRSS:` now), 0 where unavailable.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn arg(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a whole number")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let calls = arg(&args, "--calls", 10_000)? as usize;
    let concurrency = arg(&args, "--concurrency", 64)? as usize;
    let latency = Duration::from_millis(arg(&args, "--latency-ms", 20)?);
    // 3 trials per (arm, row): the method's default for non-deterministic arms (G25).
    let trials = arg(&args, "--trials", 3)? as usize;
    // `--timer thread`: the arm's latency is a thread sleep of exactly L (to ~0.1 ms), so the
    // ratio to N·L/C measures the runner, not tokio's 1 ms timer granularity.
    let precise = args
        .windows(2)
        .any(|w| w[0] == "--timer" && w[1] == "thread");
    if calls < 100 || concurrency == 0 || trials == 0 {
        return Err("--calls must be at least 100, --concurrency and --trials at least 1".into());
    }

    let frame = Frame::builder(
        "runner-overhead",
        "How much does the runner add to fixed-latency calls?",
        "Less than 5%.",
    )
    .baseline("base", "examples/examples/runner_overhead.rs:1")
    .arm("candidate", "base", "same latency, another spec")
    .metric("accuracy", "exact")
    .threshold_pp(5.0)
    .slice_loss_floor_pp(-2.0)
    .trials(trials as u32)
    .deterministic(trials < 3)
    .seed(1)
    .build()?;
    // 2 arms × trials calls per dev row, dev = half the rows: `calls` dev calls in all.
    let n_rows = (calls / trials).max(2);
    let rows: Vec<Row> = (0..n_rows)
        .map(|i| {
            let expected = ["travel", "software", "supplies"][i % 3];
            Row::new(
                format!("r{i:07}"),
                serde_json::json!({"text": format!("txn {i}"), "expected": expected}),
            )
            .expected(expected)
        })
        .collect();
    let arms: Vec<Box<dyn Arm>> = vec![
        Box::new(Sleepy {
            id: "base",
            latency,
            precise,
        }),
        Box::new(Sleepy {
            id: "candidate",
            latency,
            precise,
        }),
    ];

    // The progress callback notes when the baseline's last call and the arm's first call ended.
    let marks = Arc::new(Mutex::new([None::<Instant>; 3]));
    let dir = tempfile::tempdir()?;
    // `--store memory`: the in-memory store (no file I/O), for the memory-in-N measurement.
    let in_memory = args
        .windows(2)
        .any(|w| w[0] == "--store" && w[1] == "memory");
    let store = if in_memory {
        Store::in_memory()
    } else {
        Store::dir(dir.path())?
    };
    let exp = Experiment::new(frame)?
        .register(store)
        .map_err(|r| r.error)?
        .split_rows(rows)
        .map_err(|r| r.error)?;
    let dev_rows = exp.dev_ids().len();
    let opts = RunOptions {
        arm_concurrency: concurrency,
        judge_concurrency: concurrency,
        ..RunOptions::default()
    };
    let exp = exp
        .pilot(Lineup::new(Exact).arms(arms).options(opts.clone()))
        .await
        .map_err(|r| r.error)?;
    let m = marks.clone();
    let opts = RunOptions {
        progress: Some(Arc::new(move |p: &Progress| {
            let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
            if p.done == dev_rows * trials {
                m[0] = Some(Instant::now());
            } else if p.done == dev_rows * trials + 1 {
                m[1] = Some(Instant::now());
            }
            if p.done == p.total {
                m[2] = Some(Instant::now());
            }
        })),
        ..opts
    };

    let (peak_before, rss_before) = (peak_rss_mb(), status_mb("VmRSS:"));
    let started = Instant::now();
    // Dev scoring with the progress callback: the options of the lineup bound at the pilot.
    let mut exp = exp;
    *exp.options_mut() = opts;
    let exp = exp.score_dev().await.map_err(|r| r.error)?;
    let actual = started.elapsed().as_secs_f64();
    let (peak, rss_after) = (peak_rss_mb(), status_mb("VmRSS:"));

    let cube = &exp.dev().cube;
    assert!(cube.complete(), "every dev call is scored");
    let made = cube.arms().len() * cube.rows().len() * cube.trials();
    let ideal = made as f64 * latency.as_secs_f64() / concurrency as f64;
    // The arm's own sleep as measured by the runner: tokio's 1 ms timer rounds a 20 ms sleep up.
    let mean_latency_s = exp
        .dev()
        .summaries
        .iter()
        .map(|s| s.latency_ms_mean)
        .sum::<f64>()
        / exp.dev().summaries.len() as f64
        / 1e3;
    let [base_done, arm_first, last] = *marks.lock().unwrap_or_else(|p| p.into_inner());
    let secs = |t: Option<Instant>| t.map_or(f64::NAN, |t| (t - started).as_secs_f64());
    let measured: Vec<String> = exp
        .dev()
        .summaries
        .iter()
        .map(|s| format!("{} {:.2} ms", s.arm, s.latency_ms_mean))
        .collect();
    eprintln!(
        "dev rows {dev_rows}; baseline's last call at {:.3} s, the arm's first at {:.3} s \
         (ideal half-way point {:.3} s), the last call at {:.3} s; peak RSS before dev scoring \
         (frame, rows, split, pilot) {:.1} MB; RSS {:.1} MB before dev scoring, {:.1} MB after; mean measured call latency: {}; journal {:.1} MB",
        secs(base_done),
        secs(arm_first),
        ideal / 2.0,
        secs(last),
        peak_before,
        rss_before,
        rss_after,
        measured.join(", "),
        std::fs::metadata(dir.path().join("journal.jsonl")).map_or(0, |m| m.len()) as f64 / 1e6,
    );
    println!(
        "{}",
        serde_json::json!({
            "calls": made,
            "trials": trials,
            "concurrency": concurrency,
            "ideal_s": (ideal * 1e3).round() / 1e3,
            "actual_s": (actual * 1e3).round() / 1e3,
            "ratio": (actual / ideal * 1e4).round() / 1e4,
            "ratio_vs_measured_latency": (actual / (made as f64 * mean_latency_s / concurrency as f64) * 1e4).round() / 1e4,
            "peak_rss_mb": (peak * 10.0).round() / 10.0,
            "store": if in_memory { "memory" } else { "dir" },
            "timer": if precise { "thread" } else { "tokio" },
        })
    );
    Ok(())
}

//! Same-data timing of the 10,000-resample paired bootstrap over 100,000 rows: itera-stats
//! against `scipy.stats.bootstrap((a, b), paired=True, vectorized=True, n_resamples=10000,
//! batch=200, method="percentile")`, run through `benches/scipy_bootstrap.py`, for continuous
//! scores (direct path; target ≥ 10×) and binary scores (multinomial path; target ≥ 100×) side by
//! side in one run. Prints both times, both intervals and the ratio scipy_seconds / rust_seconds.
//!
//! ```text
//! ITERA_PYTHON=/path/to/venv/bin/python \
//!     cargo bench -p itera-benches --bench scipy_compare [-- --kind continuous|binary|both] [--rust-only]
//! ```
//!
//! The Rust time is the median of 5 calls (default options: threads picked by
//! `std::thread::available_parallelism`); the scipy time is the median of `--scipy-runs` calls
//! (default 1; one continuous call takes about a minute). The Python interpreter is `ITERA_PYTHON`
//! if set, else `python3`. Both sides generate the data from the same formula (see the script).
//! Skips the scipy side with a clear message when the interpreter or scipy is missing.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use itera_stats::bootstrap::{BootstrapOptions, paired_bootstrap_percentile};

const ROWS: usize = 100_000;
const RESAMPLES: usize = 10_000;
const RUST_RUNS: usize = 5;

fn data(binary: bool) -> (Vec<f64>, Vec<f64>) {
    let frac = |x: f64| x - x.floor();
    (0..ROWS)
        .map(|i| {
            let i = i as f64;
            let u = frac(i * 0.618_033_988_749_894_9);
            let v = frac(i * 0.414_213_562_373_095_03 + 0.5);
            if binary {
                (f64::from(u8::from(u < 0.72)), f64::from(u8::from(v < 0.70)))
            } else {
                (u, v)
            }
        })
        .unzip()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// One scipy call through the script: its JSON line, or why it was skipped.
fn scipy(python: &str, kind: &str) -> Result<serde_json::Value, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scipy_bootstrap.py");
    let output = Command::new(python)
        .arg(&script)
        .args([
            "--kind",
            kind,
            "--rows",
            "100000",
            "--resamples",
            "10000",
            "--json",
        ])
        .output()
        .map_err(|e| {
            format!("cannot run {python} ({e}); set ITERA_PYTHON to a python with scipy")
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if stdout.starts_with("SKIP") {
        return Err(stdout.trim().to_string());
    }
    serde_json::from_str(stdout.trim()).map_err(|e| format!("unexpected output {stdout:?} ({e})"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind_arg = args
        .windows(2)
        .find(|w| w[0] == "--kind")
        .map_or("both", |w| w[1].as_str());
    let scipy_runs = args
        .windows(2)
        .find(|w| w[0] == "--scipy-runs")
        .and_then(|w| w[1].parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let rust_only = args.iter().any(|a| a == "--rust-only");
    let python = std::env::var("ITERA_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let kinds: &[&str] = match kind_arg {
        "continuous" => &["continuous"],
        "binary" => &["binary"],
        _ => &["continuous", "binary"],
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let mut summary = Vec::new();
    for &kind in kinds {
        let (a, b) = data(kind == "binary");
        let opts = BootstrapOptions {
            resamples: RESAMPLES,
            seed: 1,
            ..BootstrapOptions::default()
        };
        let mut times = Vec::with_capacity(RUST_RUNS);
        let mut last = None;
        for _ in 0..RUST_RUNS {
            let t = Instant::now();
            let r = paired_bootstrap_percentile(&a, &b, &opts);
            times.push(t.elapsed().as_secs_f64());
            last = Some(r);
        }
        let rust_s = median(times);
        let r = match last {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                eprintln!("itera-stats bootstrap failed: {e}");
                std::process::exit(1);
            }
            None => return,
        };
        println!(
            "itera-stats percentile bootstrap, {kind}, {ROWS} rows, {RESAMPLES} resamples \
             ({:?} path, {threads} threads available): {rust_s:.4} s (median of {RUST_RUNS}), \
             CI ({:.5}, {:.5})",
            r.path, r.estimate.ci.lower, r.estimate.ci.upper
        );
        if rust_only {
            continue;
        }
        let mut scipy_times = Vec::with_capacity(scipy_runs);
        let mut scipy_last = None;
        for _ in 0..scipy_runs {
            match scipy(&python, kind) {
                Ok(v) => {
                    scipy_times.extend(v["seconds"].as_f64());
                    scipy_last = Some(v);
                }
                Err(why) => {
                    println!("SKIP scipy comparison ({kind}): {why}");
                    break;
                }
            }
        }
        let Some(v) = scipy_last.filter(|_| !scipy_times.is_empty()) else {
            continue;
        };
        let scipy_s = median(scipy_times);
        println!(
            "scipy {} {kind}: {scipy_s:.2} s (median of {scipy_runs}), CI ({:.5}, {:.5})",
            v["scipy"].as_str().unwrap_or("?"),
            v["low"].as_f64().unwrap_or(f64::NAN),
            v["high"].as_f64().unwrap_or(f64::NAN)
        );
        let target = if kind == "binary" { 100 } else { 10 };
        summary.push(format!(
            "{kind}: scipy {scipy_s:.2} s / itera-stats {rust_s:.4} s = {:.1}x (target >= {target}x)",
            scipy_s / rust_s
        ));
    }
    for line in summary {
        println!("{line}");
    }
}

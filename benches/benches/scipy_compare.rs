//! Same-data timing of the 10,000-resample paired bootstrap over 100,000 rows: itera-stats
//! against `scipy.stats.bootstrap((a, b), paired=True, vectorized=True, n_resamples=10000,
//! batch=200, method="percentile")`, run through `benches/scipy_bootstrap.py`. Prints both times
//! and the ratio scipy_seconds / rust_seconds (target ≥ 10).
//!
//! `cargo bench -p itera-benches --bench scipy_compare [-- --kind continuous] [-- --rust-only]`
//!
//! Both sides generate the data from the same formula (see the script). Skips the scipy side
//! with a clear message when python3 or scipy is missing.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use itera_stats::bootstrap::{BootstrapOptions, paired_bootstrap_percentile};

const ROWS: usize = 100_000;
const RESAMPLES: usize = 10_000;

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let continuous = args
        .windows(2)
        .any(|w| w[0] == "--kind" && w[1] == "continuous");
    let rust_only = args.iter().any(|a| a == "--rust-only");
    let kind = if continuous { "continuous" } else { "binary" };
    let (a, b) = data(!continuous);

    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..3 {
        let opts = BootstrapOptions {
            resamples: RESAMPLES,
            seed: 1,
            ..BootstrapOptions::default()
        };
        let t = Instant::now();
        let r = paired_bootstrap_percentile(&a, &b, &opts);
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    match last {
        Some(Ok(r)) => println!(
            "itera-stats percentile bootstrap, {kind}, {ROWS} rows, {RESAMPLES} resamples \
             ({:?} path): {best:.4} s (best of 3), CI ({:.5}, {:.5})",
            r.path, r.estimate.ci.lower, r.estimate.ci.upper
        ),
        Some(Err(e)) => {
            eprintln!("itera-stats bootstrap failed: {e}");
            std::process::exit(1);
        }
        None => return,
    }
    if rust_only {
        return;
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scipy_bootstrap.py");
    let output = Command::new("python3")
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
        .output();
    let stdout = match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            println!(
                "SKIP scipy comparison: {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("SKIP scipy comparison: cannot run python3 ({e})");
            return;
        }
    };
    if stdout.starts_with("SKIP") {
        println!("{}", stdout.trim());
        return;
    }
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(stdout.trim());
    let Some(scipy_s) = parsed.ok().and_then(|v| v["seconds"].as_f64()) else {
        println!("SKIP scipy comparison: unexpected output {stdout:?}");
        return;
    };
    println!("scipy {kind}: {}", stdout.trim());
    println!(
        "scipy {scipy_s:.2} s / itera-stats {best:.4} s = {:.0}x (target >= 10x)",
        scipy_s / best
    );
}

//! Coverage of itera-stats' 95 % intervals for a paired difference of binary scores, by
//! simulation (METHOD §5 "Validity": 95 % intervals should cover the true effect 94–96 % of the
//! time).
//!
//! ```text
//! cargo run --release -p itera-examples --example coverage -- [--runs 2000] [--seed 1]
//!     [--resamples 999] [--threads 0]
//! ```
//!
//! **Data.** Each row has a baseline score B ~ Bernoulli(p_B) and an arm score A obtained from B
//! by flipping 0 → 1 with probability r01 and 1 → 0 with probability r10, so
//! `E[A − B] = (1 − p_B)·r01 − p_B·r10` exactly and the two arms are positively correlated.
//! Rows come in clusters of 10. With intra-cluster correlation ρ each row's B is, with
//! probability λ = √ρ, the cluster's shared Bernoulli(p_B) draw and otherwise its own, so
//! `Corr(B_i, B_j) = λ² = ρ` within a cluster and `E[B] = p_B` is unchanged: the true difference
//! is known exactly in every scenario.
//!
//! **Methods.** paired t, cluster-robust t (clusters of 10; C − 1 df), Newcombe's paired
//! interval (method 10), the Agresti–Min and Bonett–Price adjusted Wald intervals, Tango's score
//! interval, the Rao–Scott design-effect versions of Agresti–Min and Tango (on the clusters of
//! 10), percentile and BCa paired bootstrap, cluster bootstrap, and
//! `itera_stats::select::default_paired_interval` (given the clusters only in the ρ > 0
//! scenarios, as a user would declare them; the cluster methods run in every scenario, on the
//! clusters of 10). An interval that errors counts as not
//! covering and is reported in the `failures` count.
//!
//! Prints a table (scenario × method → coverage, mean width) and one JSON line per scenario.

use std::process::ExitCode;

use itera_stats::bootstrap::{
    BootstrapOptions, cluster_bootstrap, paired_bootstrap_bca, paired_bootstrap_percentile,
};
use itera_stats::paired::{paired_t, paired_t_clustered};
use itera_stats::proportions::{
    PairedCounts, agresti_min_paired_diff, agresti_min_paired_diff_clustered,
    bonett_price_paired_diff, newcombe_paired_diff, tango_paired_diff, tango_paired_diff_clustered,
};
use itera_stats::select::default_paired_interval;
use itera_stats::simulate::{CLUSTER_SIZE, PairedBinary};
use itera_stats::{ConfidenceInterval, StatsError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const LEVEL: f64 = 0.95;

/// One simulated design, labelled.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    label: &'static str,
    design: PairedBinary,
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for &(label, p_b, r01, r10) in &[("p~0.5", 0.5, 0.2, 0.1), ("p~0.95", 0.93, 0.4, 0.01)] {
        for &icc in &[0.0, 0.3] {
            for &n in &[20, 50, 200] {
                out.push(Scenario {
                    label,
                    design: PairedBinary {
                        p_b,
                        r01,
                        r10,
                        n,
                        icc,
                    },
                });
            }
        }
    }
    out
}

const METHODS: [&str; 12] = [
    "paired-t",
    "cluster-t",
    "newcombe-paired",
    "agresti-min",
    "bonett-price",
    "tango",
    "agresti-min-cluster",
    "tango-cluster",
    "percentile-boot",
    "bca-boot",
    "cluster-boot",
    "default",
];

/// The twelve intervals for one simulated data set.
fn intervals(
    a: &[f64],
    b: &[f64],
    clusters: &[u64],
    declared: bool,
    opts: &BootstrapOptions,
) -> [Result<ConfidenceInterval, StatsError>; 12] {
    let table = PairedCounts::from_scores(a, b);
    [
        paired_t(a, b, LEVEL).map(|s| s.diff.ci),
        paired_t_clustered(a, b, clusters, LEVEL).map(|s| s.diff.ci),
        table
            .clone()
            .and_then(|t| newcombe_paired_diff(t, LEVEL))
            .map(|e| e.ci),
        table
            .clone()
            .and_then(|t| agresti_min_paired_diff(t, LEVEL))
            .map(|e| e.ci),
        table
            .clone()
            .and_then(|t| bonett_price_paired_diff(t, LEVEL))
            .map(|e| e.ci),
        table
            .clone()
            .and_then(|t| tango_paired_diff(t, LEVEL))
            .map(|e| e.ci),
        agresti_min_paired_diff_clustered(a, b, clusters, LEVEL).map(|e| e.ci),
        tango_paired_diff_clustered(a, b, clusters, LEVEL).map(|e| e.ci),
        paired_bootstrap_percentile(a, b, opts).map(|e| e.estimate.ci),
        paired_bootstrap_bca(a, b, opts).map(|e| e.estimate.ci),
        cluster_bootstrap(a, b, clusters, opts).map(|e| e.estimate.ci),
        default_paired_interval(a, b, declared.then_some(clusters), LEVEL).map(|e| e.ci),
    ]
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    covered: u64,
    failures: u64,
    width_sum: f64,
    ok: u64,
}

fn run_scenario(s: &Scenario, runs: usize, seed: u64, resamples: usize) -> [Tally; 12] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let mut tallies = [Tally::default(); 12];
    let truth = s.design.true_diff();
    for run in 0..runs {
        s.design.draw(&mut rng, &mut a, &mut b, &mut c);
        let opts = BootstrapOptions {
            resamples,
            level: LEVEL,
            seed: seed ^ (run as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            threads: 1,
            ..BootstrapOptions::default()
        };
        for (t, ci) in tallies
            .iter_mut()
            .zip(intervals(&a, &b, &c, s.design.icc > 0.0, &opts))
        {
            match ci {
                Ok(ci) => {
                    t.ok += 1;
                    t.width_sum += ci.width();
                    if ci.contains(truth) {
                        t.covered += 1;
                    }
                }
                Err(_) => t.failures += 1,
            }
        }
    }
    tallies
}

struct Args {
    runs: usize,
    seed: u64,
    resamples: usize,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: 2000,
        seed: 1,
        resamples: 999,
        threads: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--runs" => args.runs = value.parse().map_err(bad)?,
            "--seed" => args.seed = value.parse().map_err(bad)?,
            "--resamples" => args.resamples = value.parse().map_err(bad)?,
            "--threads" => args.threads = value.parse().map_err(bad)?,
            _ => {
                return Err(format!(
                    "unknown flag {flag}: use --runs N --seed S --resamples B --threads T"
                ));
            }
        }
    }
    if args.runs == 0 || args.resamples == 0 {
        return Err("--runs and --resamples must be at least 1".to_string());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("coverage: {e}");
            return ExitCode::from(2);
        }
    };
    let scenarios = scenarios();
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |t| t.get())
    } else {
        args.threads
    };
    let started = std::time::Instant::now();
    // Scenario i uses seed (seed, i): the results do not depend on the thread count.
    let mut results: Vec<Option<[Tally; 12]>> = vec![None; scenarios.len()];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let scenarios = &scenarios;
                let args = &args;
                scope.spawn(move || {
                    (t..scenarios.len())
                        .step_by(threads)
                        .map(|i| {
                            let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
                            (
                                i,
                                run_scenario(&scenarios[i], args.runs, seed, args.resamples),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    results[i] = Some(r);
                }
            }
        }
    });

    println!(
        "coverage of {:.0} % intervals: {} runs per scenario, {} bootstrap resamples, seed {}",
        LEVEL * 100.0,
        args.runs,
        args.resamples,
        args.seed
    );
    println!(
        "binomial SE of a coverage near 0.95: {:.4}\n",
        (0.95 * 0.05 / args.runs as f64).sqrt()
    );
    print!("{:<8} {:>4} {:>4} {:>7}", "p", "icc", "n", "true Δ");
    for m in METHODS {
        print!(" {m:>16}");
    }
    println!();
    let mut json_lines = Vec::new();
    for (s, r) in scenarios.iter().zip(&results) {
        let Some(r) = r else {
            eprintln!("coverage: a worker thread failed");
            return ExitCode::FAILURE;
        };
        print!(
            "{:<8} {:>4} {:>4} {:>7.4}",
            s.label,
            s.design.icc,
            s.design.n,
            s.design.true_diff()
        );
        let mut methods = serde_json::Map::new();
        for (m, t) in METHODS.iter().zip(r) {
            let coverage = t.covered as f64 / args.runs as f64;
            let width = if t.ok > 0 {
                t.width_sum / t.ok as f64
            } else {
                f64::NAN
            };
            let flag = if t.failures > 0 { "!" } else { " " };
            print!("  {coverage:.3} w{width:.3}{flag}");
            methods.insert(
                (*m).to_string(),
                serde_json::json!({
                    "coverage": coverage,
                    "mean_width": if width.is_finite() { Some(width) } else { None },
                    "failures": t.failures,
                }),
            );
        }
        println!();
        json_lines.push(serde_json::json!({
            "scenario": {
                "p": s.label, "p_a": s.design.p_a(), "p_b": s.design.p_b, "icc": s.design.icc, "n": s.design.n,
                "cluster_size": CLUSTER_SIZE, "true_diff": s.design.true_diff(),
            },
            "runs": args.runs,
            "resamples": args.resamples,
            "seed": args.seed,
            "level": LEVEL,
            "methods": methods,
        }));
    }
    println!("\n(\"!\": some intervals errored and count as not covering)\n");
    for j in json_lines {
        println!("{j}");
    }
    eprintln!("elapsed {:.1} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

//! The verdict-validity harness (METHOD.md §5 "Validity, precisely"): thousands of simulated
//! experiments with a known true effect, each run through the real itera pipeline (in-memory
//! store, replay arms, exact-match judge, one deterministic trial), measuring the false-ship rate,
//! the sub-threshold ship rate, power at the planner's 80 % effect, slice protection and CI
//! coverage, under the point and the ci-lower threshold rules. The designs and the truth model
//! are documented in `itera_examples::validity`.
//!
//! ```text
//! cargo run --release -p itera-examples --example validity -- [--runs 2000] [--seed 1]
//!     [--scenario NAME] [--threads N]
//! ```
//!
//! Prints a table and one JSON line per scenario (keys `scenario`, `rule`, `runs`,
//! `true_effect`, the rate — `false_ship_rate`, `subthreshold_ship_rate`, `power`,
//! `slice_protection_rate` or `coverage_aggregate` + `coverage_slice` — and its binomial SE as
//! `<key>_se`), then the total time. The scenarios for verdicts at real sample sizes
//! (`itera_examples::validity_ext`: false-narrowing under both slice rules, unknown-not-harm,
//! null-three-arms, overfit-clean) follow in the same table and JSON lines (keys
//! `false_narrowing_rate`, `unknown_labelled_harmed_rate`, `false_ship_rate`,
//! `overfit_alarm_rate`, plus `slice_rule` and `arms`).

use itera_examples::validity::{Measure, Measured, measure, rule_name, scenarios};
use itera_examples::validity_ext::{ExtMeasure, ExtMeasured, ext_scenarios, measure_ext};
use std::process::ExitCode;

fn parse<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    value
        .ok_or_else(|| format!("{flag} needs a value"))?
        .parse()
        .map_err(|_| format!("{flag}: not a valid value"))
}

fn target(m: &Measured) -> &'static str {
    match m.scenario.measure {
        Measure::FalseShip => "≤ 2.5% (≤ 5% w/ sim. error)",
        Measure::SubthresholdShip => match m.scenario.rule {
            itera_core::ThresholdRule::Point => "reported (→ 50% at T)",
            itera_core::ThresholdRule::CiLower => "≤ 2.5%",
        },
        Measure::Power => "75–85%",
        Measure::SliceProtection => "≥ 80%",
        Measure::Coverage => "94–96%",
    }
}

fn main() -> ExitCode {
    let mut runs = 2000usize;
    let mut seed = 1u64;
    let mut only: Option<String> = None;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let r = match a.as_str() {
            "--runs" => parse(&a, args.next()).map(|v| runs = v),
            "--seed" => parse(&a, args.next()).map(|v| seed = v),
            "--scenario" => parse(&a, args.next()).map(|v| only = Some(v)),
            "--threads" => parse(&a, args.next()).map(|v: usize| threads = v.max(1)),
            "--help" | "-h" => {
                println!(
                    "validity [--runs 2000] [--seed 1] [--scenario NAME] [--threads N]\nscenarios: null, null-low-threshold, harm, half-threshold, near-threshold, power, slice-regression, coverage-clustered, coverage-small-slices, false-narrowing, unknown-not-harm, null-three-arms, overfit-clean"
                );
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument '{other}'")),
        };
        if let Err(e) = r {
            eprintln!("validity: {e}");
            return ExitCode::from(2);
        }
    }
    let all = match scenarios() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("validity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let chosen: Vec<(u64, _)> = all
        .into_iter()
        .enumerate()
        .filter(|(_, s)| only.as_deref().is_none_or(|o| o == s.name))
        .map(|(i, s)| (i as u64, s))
        .collect();
    let ext: Vec<(u64, _)> = match ext_scenarios() {
        Ok(s) => s
            .into_iter()
            .enumerate()
            .filter(|(_, s)| only.as_deref().is_none_or(|o| o == s.name))
            .map(|(i, s)| (i as u64, s))
            .collect(),
        Err(e) => {
            eprintln!("validity: {e}");
            return ExitCode::FAILURE;
        }
    };
    if chosen.is_empty() && ext.is_empty() {
        eprintln!("validity: no scenario named {:?}", only.unwrap_or_default());
        return ExitCode::from(2);
    }
    let start = std::time::Instant::now();
    let mut measured = Vec::new();
    let mut json = Vec::new();
    for (i, s) in &chosen {
        let m = measure(s, *i, runs, seed, threads);
        if let Some(e) = &m.first_error {
            eprintln!(
                "{} ({}): {} failed runs, e.g. {e}",
                s.name,
                rule_name(s.rule),
                m.errors
            );
        }
        json.push(m.json().to_string());
        measured.push(m);
    }
    let mut ext_measured: Vec<ExtMeasured> = Vec::new();
    for (i, s) in &ext {
        let m = measure_ext(s, *i, runs, seed, threads);
        if let Some(e) = &m.first_error {
            eprintln!("{}: {} failed runs, e.g. {e}", s.name, m.errors);
        }
        json.push(m.json().to_string());
        ext_measured.push(m);
    }
    let total = start.elapsed().as_secs_f64();
    println!(
        "{:<22} {:<9} {:>6} {:>8} {:<24} {:>8} {:>7} {:>9} {:<28} {:>6}",
        "scenario",
        "rule",
        "runs",
        "true Δ",
        "measure",
        "rate",
        "± SE",
        "expected",
        "target",
        "ms/exp"
    );
    for m in &measured {
        let rule = if m.scenario.measure == Measure::Coverage {
            "any"
        } else {
            rule_name(m.scenario.rule)
        };
        let mut rows = vec![(m.key(), m.rate)];
        if let Some(s) = m.slice_rate {
            rows.push(("coverage_slice", s));
        }
        for (key, r) in rows {
            println!(
                "{:<22} {:<9} {:>6} {:>+8.4} {:<24} {:>7.2}% {:>6.2}% {:>9} {:<28} {:>6.2}",
                m.scenario.name,
                rule,
                m.runs,
                m.scenario.design.true_effect(),
                key,
                100.0 * r.rate,
                100.0 * r.se,
                m.scenario
                    .expected
                    .map_or("-".to_string(), |e| format!("{:.2}%", 100.0 * e)),
                target(m),
                1000.0 * m.seconds / m.runs.max(1) as f64,
            );
        }
    }
    for m in &ext_measured {
        let target = match (m.scenario.measure, m.scenario.slice_rule) {
            (ExtMeasure::FalseNarrowing, itera_core::SliceRule::NonInferiority) => "≤ 10%",
            (ExtMeasure::FalseNarrowing, _) => "≤ 5%",
            (ExtMeasure::UnknownLabelledHarmed, _) => "≤ 2.5%",
            (ExtMeasure::FamilyFalseShip, _) => "≤ 2.5% (≤ 5% w/ sim. error)",
            (ExtMeasure::OverfitAlarm, _) => "5% ± 2pp",
        };
        let rule = match m.scenario.slice_rule {
            itera_core::SliceRule::NonInferiority => "point/NI",
            itera_core::SliceRule::NoSignificantHarm => "point/NSH",
        };
        println!(
            "{:<22} {:<9} {:>6} {:>+8.4} {:<24} {:>7.2}% {:>6.2}% {:>9} {:<28} {:>6.2}",
            m.scenario.name,
            rule,
            m.runs,
            m.scenario.design.true_effect(),
            m.key(),
            100.0 * m.rate.rate,
            100.0 * m.rate.se,
            m.scenario
                .expected
                .map_or("-".to_string(), |e| format!("{:.2}%", 100.0 * e)),
            target,
            1000.0 * m.seconds / m.runs.max(1) as f64,
        );
    }
    for line in &json {
        println!("{line}");
    }
    let experiments: usize = measured.iter().map(|m| m.runs).sum::<usize>()
        + ext_measured.iter().map(|m| m.runs).sum::<usize>();
    println!(
        "total: {experiments} simulated experiments in {total:.1} s ({:.2} ms each, {threads} thread(s))",
        1000.0 * total / experiments.max(1) as f64
    );
    if measured.iter().any(|m| m.errors > 0) || ext_measured.iter().any(|m| m.errors > 0) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

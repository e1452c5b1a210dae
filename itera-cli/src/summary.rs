//! What `itera run` / `itera verdict` print: the decision, the arm and slices it covers, the
//! rationale, the effects, and where the report is — as text, or as JSON with `--json`. Drawn
//! from `data.json` (the report model), so a re-run of a finished experiment prints the same.

use crate::error::decision_str_code;
use itera_core::report::ReportData;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

fn pp(x: f64) -> String {
    let v = x * 100.0;
    if v >= 0.0 {
        format!("+{v:.1}pp")
    } else {
        format!("\u{2212}{:.1}pp", -v)
    }
}

/// The summary as JSON: `decision`, `exit_code`, `arm`, `slices`, `failing_slices`, `killed`,
/// `inconclusive_reason`, `overfit_alarm`, `rationale`, `directory`, `test_n`, `dev_n`,
/// `dev_aggregate`, `test_aggregate`, `effects` (per arm: `delta`, `ci_low`, `ci_high`, `n`, as
/// fractions), `files` and `calls` (per arm: failed / retried / excluded calls, G31); and
/// `not_fresh_test_set` (the label, G15) when the registration declared `reuse_test`.
pub fn json(report: &ReportData, dir: &Path) -> Value {
    let v = &report.verdict;
    let effects: serde_json::Map<String, Value> = report
        .effect_sizes
        .iter()
        .map(|(arm, e)| {
            (
                arm.clone(),
                json!({
                    "delta": e.aggregate.delta,
                    "ci_low": e.aggregate.ci_low,
                    "ci_high": e.aggregate.ci_high,
                    "n": e.aggregate.n,
                    "per_slice": e.per_slice,
                }),
            )
        })
        .collect();
    let mut files: Vec<String> = Vec::new();
    for f in [
        "frame.md",
        "registration.json",
        "journal.jsonl",
        "data.json",
        "conclusion.md",
    ] {
        if dir.join(f).is_file() {
            files.push(f.to_string());
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("charts")) {
        let mut charts: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| format!("charts/{}", e.file_name().to_string_lossy()))
            .collect();
        charts.sort();
        files.extend(charts);
    }
    let mut summary = json!({
        "experiment": report.experiment.name,
        "decision": v.decision,
        "exit_code": decision_str_code(v.decision.as_str()),
        "arm": v.arm,
        "slices": v.slices,
        "failing_slices": v.failing_slices,
        "killed": v.killed,
        "inconclusive_reason": v.inconclusive_reason,
        "overfit_alarm": v.overfit_alarm,
        "rationale": v.rationale,
        "directory": dir.display().to_string(),
        "test_n": report.experiment.test_n,
        "dev_n": report.experiment.dev_n,
        "threshold_pp": report.experiment.threshold_pp,
        "dev_aggregate": report.dev_aggregate,
        "test_aggregate": report.test_aggregate,
        "effects": effects,
        "files": files,
        "calls": calls_json(report),
    });
    if let (Some(label), Some(map)) = (&v.not_fresh_test_set, summary.as_object_mut()) {
        map.insert("not_fresh_test_set".into(), label.clone().into());
    }
    summary
}

/// Per arm: `failed`, `retried`, `excluded` over dev and test, and each part's counts (G31).
fn calls_json(report: &ReportData) -> Value {
    report
        .calls
        .iter()
        .map(|(arm, c)| {
            (
                arm.clone(),
                json!({
                    "failed": c.dev.failed + c.test.failed,
                    "retried": c.dev.retried + c.test.retried,
                    "excluded": c.dev.excluded + c.test.excluded,
                    "dev": c.dev,
                    "test": c.test,
                }),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

/// The summary as text.
pub fn text(report: &ReportData, dir: &Path) -> String {
    let v = &report.verdict;
    let mut s = String::new();
    let what = match (v.decision.as_str(), &v.arm) {
        ("ship", Some(a)) => format!("SHIP '{a}'"),
        ("ship-narrowly", Some(a)) => {
            format!("SHIP NARROWLY '{a}' on {}", v.slices.join(", "))
        }
        (d, _) => d.to_uppercase(),
    };
    let stale = if v.not_fresh_test_set.is_some() {
        " (NOT A FRESH TEST SET)"
    } else {
        ""
    };
    let _ = writeln!(s, "verdict: {what}{stale}");
    if let Some(label) = &v.not_fresh_test_set {
        let _ = writeln!(s, "  {label} (G15)");
    }
    for arm in report.candidates() {
        if let Some(e) = report.effect(&arm.id, None) {
            let _ = writeln!(
                s,
                "  {}: \u{394} = {} [{}, {}] over {} test rows (threshold +{:.1}pp)",
                arm.id,
                pp(e.delta),
                pp(e.ci_low),
                pp(e.ci_high),
                e.n,
                report.experiment.threshold_pp
            );
        }
    }
    if !v.failing_slices.is_empty() {
        let _ = writeln!(s, "  slices excluded: {}", v.excluded_words().join("; "));
    }
    if !v.killed.is_empty() {
        let _ = writeln!(s, "  killed: {}", v.killed.join(", "));
    }
    if let Some(r) = &v.inconclusive_reason {
        let _ = writeln!(s, "  inconclusive: {r}");
    }
    if v.overfit_alarm {
        let _ = writeln!(
            s,
            "  overfit alarm: |\u{394}dev \u{2212} \u{394}test| > z\u{b7}SE of their difference"
        );
    }
    for (arm, c) in &report.calls {
        let (failed, retried) = (c.dev.failed + c.test.failed, c.dev.retried + c.test.retried);
        if failed + retried > 0 {
            let _ = writeln!(
                s,
                "  calls of {arm}: dev {} failed / {} retried / {} excluded of {}; test {} failed / {} retried / {} excluded of {}",
                c.dev.failed,
                c.dev.retried,
                c.dev.excluded,
                c.dev.calls,
                c.test.failed,
                c.test.retried,
                c.test.excluded,
                c.test.calls
            );
        }
    }
    let _ = writeln!(s, "\n{}\n", v.rationale.trim());
    let _ = writeln!(s, "report: {}", dir.display());
    s
}

/// The adaptive concurrency of this run per arm, for `--json`: `max`, `final_limit`,
/// `mean_limit`, `calls`, `calls_per_second`, `overloaded`, `latency_decreases` and `trace`
/// (`[seconds, limit]` pairs).
pub fn concurrency_json(arms: &[itera_core::run::adaptive::ArmConcurrency]) -> Value {
    Value::Object(
        arms.iter()
            .map(|a| {
                (
                    a.arm.clone(),
                    serde_json::to_value(a).unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}

/// The adaptive concurrency of this run as text lines (empty without it).
pub fn concurrency_text(arms: &[itera_core::run::adaptive::ArmConcurrency]) -> String {
    let mut s = String::new();
    for a in arms {
        let trace: Vec<String> = a
            .trace
            .iter()
            .take(12)
            .map(|(t, l)| format!("{t:.1}s:{l}"))
            .collect();
        let more = if a.trace.len() > 12 {
            format!(" … ({} changes)", a.trace.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "adaptive concurrency, arm {}: limit {} at the end (mean {:.1}, max {}), {:.1} calls/s over {} calls, {} refused for load (429/503/529), {} latency halvings; trace {}{more}",
            a.arm,
            a.final_limit,
            a.mean_limit,
            a.max,
            a.calls_per_second,
            a.calls,
            a.overloaded,
            a.latency_decreases,
            trace.join(" ")
        );
    }
    s
}

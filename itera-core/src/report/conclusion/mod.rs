//! `conclusion.md`: the document a reviewer reads, in the order of METHOD.md §6 — summary,
//! question, arms, the pre-registered metric and rule, dev scores, diagnostic notes, verdict,
//! failure-mode deltas, severity, cost, what to test next, and the self-audit. Every number comes
//! from `data.json` ([`ReportData`]), the rule trace ([`Verdict`]) or the journal's [`Ledger`];
//! every self-audit mark comes from the computed [`AuditItem`]s. Signed pp use
//! [`crate::iterate::diagnosis::pp`] (a real minus sign, never "+-").
//!
//! This module owns the formatting helpers every section shares and [`conclusion_markdown`],
//! which writes the sections in order; the sections live in `header` (summary, question, arms,
//! metric), `dev` (dev scores, diagnostic notes), `verdict` (verdict, failure modes, severity,
//! cost) and `appendix` (what to test next, self-audit).

mod appendix;
mod dev;
mod header;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
mod verdict;

use appendix::{next, self_audit};
use dev::{dev_scores, diagnostics};
use header::{arms, metric, question, summary};
use verdict::{cost, failure_modes, severity, verdict_section};

use crate::decide::rules::{ArmVerdict, Decision, Verdict};
use crate::iterate::iteration::Ledger;
use crate::report::audit::{AuditItem, AuditStatus};
use crate::report::{EffectSize, ReportData};

/// An embedded chart, when the caller draws them (`charts`), else nothing.
fn chart(md: &mut String, charts: bool, name: &str) {
    use std::fmt::Write;
    if charts {
        let _ = writeln!(md, "\n![{name}](charts/{name}.png)\n");
    } else {
        md.push('\n');
    }
}

/// What the library path says instead of linking charts it did not draw.
const DRAW_CHARTS: &str = "_Charts (arm-bar, forest-plot, cost-vs-accuracy) are not drawn by \
    itera-core: draw them into `charts/` with `itera report DIR`, or from Rust with \
    `itera_charts::write_all(&ReportData::load(dir)?, dir)`._";

fn pp(x: f64) -> String {
    crate::iterate::diagnosis::pp(x)
}

/// A magnitude in pp, without a sign (an SD, a cost-free distance).
fn pp_abs(x: f64) -> String {
    pp(x.abs()).trim_start_matches('+').to_string()
}

/// A score as a percentage, e.g. `72.0%`.
fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A signed count with a real minus sign.
fn signed(n: i64) -> String {
    match n {
        0 => "0".to_string(),
        n if n > 0 => format!("+{n}"),
        n => format!("−{}", -n),
    }
}

fn usd(x: f64) -> String {
    if x >= 0.01 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

/// A table cell: no pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn effect(e: &EffectSize) -> String {
    format!("{} [{}, {}]", pp(e.delta), pp(e.ci_low), pp(e.ci_high))
}

fn decision_words(d: Decision) -> &'static str {
    match d {
        Decision::Ship => "Ship",
        Decision::ShipNarrowly => "Ship narrowly",
        Decision::Inconclusive => "Inconclusive",
        Decision::Kill => "Kill",
    }
}

fn mark(status: AuditStatus) -> &'static str {
    match status {
        AuditStatus::Pass => "✅",
        AuditStatus::Fail => "❌",
        AuditStatus::NotApplicable => "—",
    }
}

fn rule_mark(v: &ArmVerdict, rule: &str) -> &'static str {
    match v
        .rules
        .iter()
        .find(|r| r.rule == rule)
        .and_then(|r| r.passed)
    {
        Some(true) => "✅",
        Some(false) => "❌",
        None => "—",
    }
}

fn arm_effect<'a>(report: &'a ReportData, verdict: &'a Verdict, arm: &str) -> Option<EffectSize> {
    report
        .effect_sizes
        .get(arm)
        .map(|e| e.aggregate)
        .or_else(|| {
            verdict
                .arms
                .iter()
                .find(|a| a.arm == arm)
                .and_then(|a| a.evidence.effect)
        })
}

/// An integer with thousands separators, e.g. `131,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders `conclusion.md` from the report data, the verdict's rule trace, the computed
/// self-audit and the ledger replayed from the journal. `charts`: whether the caller draws the
/// charts into `charts/` (the CLI): then they are embedded; otherwise no image is linked and
/// the dev section says how to draw them (test:
/// `tests/charts.rs::a_library_conclusion_links_no_missing_chart_and_says_how_to_draw_them`).
pub fn conclusion_markdown(
    report: &ReportData,
    verdict: &Verdict,
    audit: &[AuditItem],
    ledger: &Ledger,
    charts: bool,
) -> String {
    let mut md = String::new();
    summary(&mut md, report, verdict, audit);
    question(&mut md, report);
    arms(&mut md, report);
    metric(&mut md, report);
    dev_scores(&mut md, report, charts);
    diagnostics(&mut md, ledger);
    verdict_section(&mut md, report, verdict, charts);
    failure_modes(&mut md, report);
    severity(&mut md, report, verdict);
    cost(&mut md, report, charts);
    crate::report::judge::judge_markdown(&mut md, report.judge.as_ref());
    next(&mut md, report, verdict);
    self_audit(&mut md, audit);
    md
}

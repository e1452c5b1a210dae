//! The dev sections of `conclusion.md`: dev scores with each arm's noise σ, and the diagnostic
//! notes replayed from the journal's [`Ledger`] — every iteration's hypothesis, change and
//! outcome, the gates between sprints and the dev rows revealed (G17).

use super::{cell, pct, pp_abs};
use crate::iterate::gate::GateOutcome;
use crate::iterate::iteration::{IterationVerdict, Ledger};
use crate::report::ReportData;
use std::fmt::Write as _;

pub(super) fn dev_scores(md: &mut String, r: &ReportData, charts: bool) {
    let _ = writeln!(md, "## Dev scores\n");
    let _ = writeln!(
        md,
        "| Arm | Dev score (mean ± SD across trials) | Noise σ | Trials |\n|---|---|---|---|"
    );
    for a in &r.arms {
        let agg = r.dev_aggregate.get(&a.id).map_or("—".to_string(), |g| {
            format!("{} ± {} ({} rows)", pct(g.mean), pp_abs(g.sd), g.n)
        });
        let sigma = r
            .noise_sd
            .get(&a.id)
            .map_or("—".to_string(), |s| pp_abs(*s));
        let trials = r.variance_trials.get(&a.id).map_or(0, Vec::len);
        let _ = writeln!(md, "| {} | {agg} | {sigma} | {trials} |", cell(&a.id));
    }
    if charts {
        super::chart(md, charts, "arm-bar");
    } else {
        let _ = writeln!(md, "\n{}\n", super::DRAW_CHARTS);
    }
}

fn outcome_words(o: Option<IterationVerdict>) -> &'static str {
    match o {
        Some(IterationVerdict::Supported) => "supported",
        Some(IterationVerdict::Neutral) => "neutral",
        Some(IterationVerdict::Falsified) => "falsified",
        None => "not scored",
    }
}

/// The outcome in words; a no-effect (neutral) one says whether the changed path ran on the
/// failing rows, or that it was not traced — never that it ran when nothing says so (G38).
fn outcome_with_path(v: &crate::iterate::iteration::VersionRecord) -> String {
    let words = outcome_words(v.outcome);
    match (v.outcome, &v.path_check) {
        (Some(IterationVerdict::Neutral), Some(p)) => format!("{words} ({p})"),
        (Some(IterationVerdict::Neutral), None) => format!("{words} (changed path not traced)"),
        _ => words.to_string(),
    }
}

fn diff_summary(diff: &str) -> String {
    let added: Vec<&str> = diff.lines().filter_map(|l| l.strip_prefix("+ ")).collect();
    let removed: Vec<&str> = diff.lines().filter_map(|l| l.strip_prefix("- ")).collect();
    let show = |xs: &[&str]| {
        xs.first().map_or(String::new(), |l| {
            let short: String = l.chars().take(70).collect();
            let more = if l.chars().count() > 70 { "…" } else { "" };
            format!(" (`{}{more}`)", short.replace('`', "'"))
        })
    };
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("adds {} line(s){}", added.len(), show(&added)));
    }
    if !removed.is_empty() {
        parts.push(format!(
            "removes {} line(s){}",
            removed.len(),
            show(&removed)
        ));
    }
    if parts.is_empty() {
        "no line changed".to_string()
    } else {
        parts.join(", ")
    }
}

pub(super) fn diagnostics(md: &mut String, l: &Ledger) {
    let _ = writeln!(md, "## Diagnostic notes\n");
    let its: Vec<_> = l.versions.iter().filter(|v| v.key.version > 0).collect();
    if its.is_empty() {
        let _ = writeln!(
            md,
            "No iterations: every arm reached the test set as registered."
        );
    }
    for v in &its {
        let _ = writeln!(
            md,
            "- **{} v{}** (sprint {}) — hypothesis: {} Change: {}. Outcome: {}.",
            v.key.arm,
            v.key.version,
            v.sprint,
            v.hypothesis.as_deref().unwrap_or("(none recorded)"),
            v.diff
                .as_deref()
                .map_or("no diff".to_string(), diff_summary),
            outcome_with_path(v)
        );
    }
    for g in &l.gates {
        let _ = writeln!(md, "- **Gate after sprint {}**:", g.sprint);
        for a in &g.arms {
            let outcome = match a.outcome {
                GateOutcome::Continue => "continue",
                GateOutcome::Lock => "lock",
                GateOutcome::Kill => "kill",
                GateOutcome::Blocked => "blocked",
            };
            let _ = writeln!(md, "  - {} v{} → {outcome}: {}", a.arm, a.version, a.reason);
        }
    }
    for (sprint, audit) in &l.audits {
        let _ = writeln!(
            md,
            "- Sprint {sprint} was opened with the recorded gate audit: \"{audit}\""
        );
    }
    if !l.seen.is_empty() {
        let _ = writeln!(
            md,
            "- {} dev row(s) were revealed (the seen set, G17).",
            l.seen.len()
        );
    }
    md.push('\n');
}

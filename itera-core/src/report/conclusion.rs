//! `conclusion.md`: the document a reviewer reads, in the order of METHOD.md §6 — summary,
//! question, arms, the pre-registered metric and rule, dev scores, diagnostic notes, verdict,
//! failure-mode deltas, severity, cost, what to test next, and the self-audit. Every number comes
//! from `data.json` ([`ReportData`]), the rule trace ([`Verdict`]) or the journal's [`Ledger`];
//! every self-audit mark comes from the computed [`AuditItem`]s. Signed pp use
//! [`crate::iterate::diagnosis::pp`] (a real minus sign, never "+-").

use crate::decide::rules::{ArmVerdict, Decision, Verdict};
use crate::iterate::gate::GateOutcome;
use crate::iterate::iteration::{IterationVerdict, Ledger};
use crate::report::audit::{AuditItem, AuditStatus};
use crate::report::{EffectSize, ReportData};
use std::fmt::Write as _;

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

/// Renders `conclusion.md` from the report data, the verdict's rule trace, the computed
/// self-audit and the ledger replayed from the journal.
pub fn conclusion_markdown(
    report: &ReportData,
    verdict: &Verdict,
    audit: &[AuditItem],
    ledger: &Ledger,
) -> String {
    let mut md = String::new();
    summary(&mut md, report, verdict, audit);
    question(&mut md, report);
    arms(&mut md, report);
    metric(&mut md, report);
    dev_scores(&mut md, report);
    diagnostics(&mut md, ledger);
    verdict_section(&mut md, report, verdict);
    failure_modes(&mut md, report);
    severity(&mut md, report, verdict);
    cost(&mut md, report);
    next(&mut md, report, verdict);
    self_audit(&mut md, audit);
    md
}

fn summary(md: &mut String, r: &ReportData, v: &Verdict, audit: &[AuditItem]) {
    let x = &r.experiment;
    let base = r.baseline().map_or("the baseline", |b| b.id.as_str());
    let _ = writeln!(
        md,
        "# {}: {}\n",
        x.name,
        decision_words(v.decision).to_lowercase()
    );
    let level = format!("{:.0}%", x.ci_level * 100.0);
    let mut s = String::new();
    match (&v.arm, v.decision) {
        (Some(a), d) => {
            let eff = arm_effect(r, v, a).map_or("no measurable effect".to_string(), |e| {
                format!(
                    "changes {} by {} ({level} {} CI {} to {}, {} test rows)",
                    x.metric,
                    pp(e.delta),
                    x.ci_method,
                    pp(e.ci_low),
                    pp(e.ci_high),
                    e.n
                )
            });
            let _ = write!(
                s,
                "**{}{}.** On the sealed test set, {a} {eff} against {base}; the pre-registered threshold is T = {}.",
                decision_words(d),
                match d {
                    Decision::Ship | Decision::ShipNarrowly => format!(" {a}"),
                    _ => String::new(),
                },
                pp(x.threshold_pp / 100.0)
            );
            match d {
                Decision::ShipNarrowly => {
                    let _ = write!(
                        s,
                        " The claim covers {} only: {} {} below the loss floor F = {}.",
                        v.slices.join(", "),
                        v.failing_slices.join(", "),
                        if v.failing_slices.len() == 1 {
                            "falls"
                        } else {
                            "fall"
                        },
                        pp(x.slice_loss_floor_pp / 100.0)
                    );
                }
                Decision::Inconclusive => {
                    let _ = write!(
                        s,
                        " We could not tell: the test set was underpowered for T."
                    );
                }
                _ => {}
            }
        }
        (None, _) => {
            let _ = write!(
                s,
                "**Kill.** No candidate passes the pre-registered rules against {base} (T = {}).",
                pp(x.threshold_pp / 100.0)
            );
            let effects: Vec<String> = r
                .arms
                .iter()
                .filter(|a| !a.baseline)
                .filter_map(|a| arm_effect(r, v, &a.id).map(|e| format!("{} {}", a.id, effect(&e))))
                .collect();
            if !effects.is_empty() {
                let _ = write!(s, " Test effects: {}.", effects.join("; "));
            }
        }
    }
    if v.overfit_alarm {
        let _ = write!(s, " The overfit alarm fired (G44).");
    }
    let failed = audit
        .iter()
        .filter(|a| a.status == AuditStatus::Fail)
        .count();
    let _ = write!(
        s,
        " Self-audit: {} of {} items pass, {failed} fail.",
        audit
            .iter()
            .filter(|a| a.status == AuditStatus::Pass)
            .count(),
        audit
            .iter()
            .filter(|a| a.status != AuditStatus::NotApplicable)
            .count()
    );
    let _ = writeln!(md, "{s}\n");
}

fn question(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Question\n\n> {}\n", r.experiment.question);
    let _ = writeln!(md, "Hypothesis: {}\n", r.experiment.hypothesis);
}

fn arms(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Arms\n");
    let _ = writeln!(
        md,
        "| Arm | Parent | Change | Version locked | Cost per 1k rows |\n|---|---|---|---|---|"
    );
    for a in &r.arms {
        let change = if a.baseline {
            "baseline (deployed)".to_string()
        } else {
            a.change.clone().unwrap_or_default()
        };
        let version = if a.killed {
            format!("v{} (killed by the gate)", a.version)
        } else {
            format!("v{}", a.version)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&a.id),
            cell(a.parent.as_deref().unwrap_or("—")),
            cell(&change),
            version,
            a.cost_per_1k_usd.map_or("—".to_string(), usd)
        );
    }
    md.push('\n');
}

fn metric(md: &mut String, r: &ReportData) {
    let x = &r.experiment;
    let _ = writeln!(md, "## Metric and rule (pre-registered)\n");
    let _ = writeln!(md, "- Metric: {} (scorer `{}`)", x.metric, x.scorer);
    let _ = writeln!(
        md,
        "- Threshold T = {}; per-slice loss floor F = {}",
        pp(x.threshold_pp / 100.0),
        pp(x.slice_loss_floor_pp / 100.0)
    );
    let _ = writeln!(md, "- Rule ({}): {}", x.rule, x.threshold_rule);
    let _ = writeln!(
        md,
        "- Confidence intervals: {}, {:.0}% level",
        x.ci_method,
        x.ci_level * 100.0
    );
    let _ = writeln!(
        md,
        "- Trials per arm: {}; dev rows: {}; sealed test rows: {}",
        x.trials_per_arm, x.dev_n, x.test_n
    );
    let _ = writeln!(
        md,
        "- Frame SHA-256 `{}`; data SHA-256 `{}`; seed {}\n",
        x.frame_hash, x.data_hash, x.seed
    );
}

fn dev_scores(md: &mut String, r: &ReportData) {
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
    let _ = writeln!(md, "\n![arm-bar](charts/arm-bar.png)\n");
}

fn outcome_words(o: Option<IterationVerdict>) -> &'static str {
    match o {
        Some(IterationVerdict::Supported) => "supported",
        Some(IterationVerdict::Neutral) => "neutral",
        Some(IterationVerdict::Falsified) => "falsified",
        None => "not scored",
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

fn diagnostics(md: &mut String, l: &Ledger) {
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
            outcome_words(v.outcome)
        );
    }
    for g in &l.gates {
        let _ = writeln!(md, "- **Gate after sprint {}**:", g.sprint);
        for a in &g.arms {
            let outcome = match a.outcome {
                GateOutcome::Continue => "continue",
                GateOutcome::Lock => "lock",
                GateOutcome::Kill => "kill",
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

fn verdict_section(md: &mut String, r: &ReportData, v: &Verdict) {
    let _ = writeln!(md, "## Verdict\n");
    let _ = writeln!(
        md,
        "| Arm | Δ vs baseline [CI] | R1 | R2 | R3 | R4 | R5 | Decision |\n|---|---|---|---|---|---|---|---|"
    );
    for a in &v.arms {
        let d = arm_effect(r, v, &a.arm).map_or("—".to_string(), |e| effect(&e));
        let decision = if a.rules.iter().any(|c| c.rule == "gate") {
            "kill (gate)".to_string()
        } else {
            a.decision.as_str().to_string()
        };
        let _ = writeln!(
            md,
            "| {} v{} | {d} | {} | {} | {} | {} | {} | {decision} |",
            cell(&a.arm),
            a.version,
            rule_mark(a, "R1"),
            rule_mark(a, "R2"),
            rule_mark(a, "R3"),
            rule_mark(a, "R4"),
            rule_mark(a, "R5"),
        );
    }
    let slices: Vec<(&String, &EffectSize, &str)> = v
        .arms
        .iter()
        .flat_map(|a| {
            r.effect_sizes
                .get(&a.arm)
                .into_iter()
                .flat_map(|e| e.per_slice.iter())
                .map(move |(s, e)| (s, e, a.arm.as_str()))
        })
        .collect();
    if !slices.is_empty() {
        let floor = r.experiment.slice_loss_floor_pp / 100.0;
        let _ = writeln!(
            md,
            "\n| Arm | Slice | Test rows | Δ [CI] | CI low vs F = {} |\n|---|---|---|---|---|",
            pp(floor)
        );
        for (s, e, arm) in slices {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                cell(arm),
                cell(s),
                e.n,
                effect(e),
                if e.ci_low >= floor {
                    "above"
                } else {
                    "**below**"
                }
            );
        }
    }
    let _ = writeln!(md, "\n![forest-plot](charts/forest-plot.png)\n");
    let _ = writeln!(md, "{}\n", v.rationale);
    if let Some(c) = &v.choice {
        let _ = writeln!(md, "Choice among passing arms: {c}.\n");
    }
    if v.overfit_alarm {
        let _ = writeln!(
            md,
            "**Overfit alarm (G44):** the dev and test effects differ by more than 2σ.\n"
        );
    }
}

fn failure_modes(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Failure-mode deltas\n");
    let fm = &r.failure_modes;
    if fm.taxonomy.is_empty() {
        let _ = writeln!(md, "No failure-mode taxonomy was registered.\n");
        return;
    }
    let base = r.baseline().map(|b| b.id.clone()).unwrap_or_default();
    let cands: Vec<&str> = r.candidates().map(|a| a.id.as_str()).collect();
    let mut head = format!("| Category | Weight | {} (baseline) |", cell(&base));
    let mut rule = "|---|---|---|".to_string();
    for c in &cands {
        let _ = write!(head, " {} | Δ {} |", cell(c), cell(c));
        rule.push_str("---|---|");
    }
    let _ = writeln!(
        md,
        "Test rows failed per category, and each arm's signed difference from the baseline.\n"
    );
    let _ = writeln!(md, "{head}\n{rule}");
    let count = |arm: &str, mode: &str| {
        fm.test_counts
            .get(arm)
            .and_then(|m| m.get(mode))
            .copied()
            .unwrap_or(0)
    };
    for m in &fm.taxonomy {
        let b = count(&base, &m.id);
        let name = if fm.highest.as_deref() == Some(m.id.as_str()) {
            format!("**{}** (highest severity, R4)", cell(&m.id))
        } else {
            cell(&m.id)
        };
        let mut row = format!("| {name} | {} | {b} |", m.weight);
        for c in &cands {
            let n = count(c, &m.id);
            let _ = write!(row, " {n} | {} |", signed(n as i64 - b as i64));
        }
        let _ = writeln!(md, "{row}");
    }
    md.push('\n');
}

fn severity(md: &mut String, r: &ReportData, v: &Verdict) {
    let Some(s) = &r.severity else {
        return;
    };
    let _ = writeln!(md, "## Severity\n");
    let _ = writeln!(
        md,
        "Severity field `{}`, capped at {}.\n\n| Arm | Weighted score | Unweighted score | Weighted Δ | Unweighted Δ |\n|---|---|---|---|---|",
        s.field, s.cap
    );
    let base = r.baseline().map(|b| b.id.as_str()).unwrap_or_default();
    let bw = s.weighted_scores.get(base).copied();
    let bu = s.unweighted_scores.get(base).copied();
    for a in &r.arms {
        let w = s.weighted_scores.get(&a.id).copied();
        let u = s.unweighted_scores.get(&a.id).copied();
        let d = |x: Option<f64>, b: Option<f64>| match (x, b) {
            (Some(x), Some(b)) if !a.baseline => pp(x - b),
            _ => "—".to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&a.id),
            w.map_or("—".to_string(), pct),
            u.map_or("—".to_string(), pct),
            d(w, bw),
            d(u, bu)
        );
    }
    if v.severity_disagreements.is_empty() {
        let _ = writeln!(
            md,
            "\nWeighted and unweighted rankings agree for every arm.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "\nWeighted and unweighted rankings disagree for {} (G43): the weighted winner ships only if its unweighted Δ also clears T.\n",
            v.severity_disagreements.join(", ")
        );
    }
}

fn cost(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Cost\n");
    let _ = writeln!(
        md,
        "Steady-state means over all test rows (G28).\n\n| Arm | Test score | Cost per 1k rows | Input tokens | Output tokens | Mean latency |\n|---|---|---|---|---|---|"
    );
    for a in &r.arms {
        let score = r
            .test_aggregate
            .get(&a.id)
            .map_or("—".to_string(), |g| pct(g.mean));
        let _ = writeln!(
            md,
            "| {} | {score} | {} | {} | {} | {} |",
            cell(&a.id),
            a.cost_per_1k_usd.map_or("—".to_string(), usd),
            thousands(a.tokens.input),
            thousands(a.tokens.output),
            if a.killed {
                "—".to_string()
            } else {
                format!("{:.0} ms", a.latency_ms_mean)
            }
        );
    }
    let _ = writeln!(md, "\n![cost-vs-accuracy](charts/cost-vs-accuracy.png)\n");
}

/// Test rows a new experiment needs for its MDE to reach T, from the chosen arm's power check.
fn rows_needed(r: &ReportData, v: &Verdict) -> Option<usize> {
    let t = r.experiment.threshold_pp / 100.0;
    let a = v.arms.iter().find(|a| Some(&a.arm) == v.arm.as_ref())?;
    let p = a.power?;
    if !(t > 0.0 && p.mde > 0.0 && r.experiment.test_n > 0) {
        return None;
    }
    // MDE ∝ 1/√n: n' = n · (MDE / T)².
    let n = r.experiment.test_n as f64 * (p.mde / t).powi(2);
    n.is_finite().then(|| n.ceil() as usize)
}

fn next(md: &mut String, r: &ReportData, v: &Verdict) {
    let _ = writeln!(md, "## What to test next\n");
    let arm = v.arm.as_deref().unwrap_or("the candidate");
    let text = match v.decision {
        Decision::Ship => format!(
            "Ship {arm}. The next question is a new experiment with {arm} as the baseline and fresh rows; this experiment is closed (G46)."
        ),
        Decision::ShipNarrowly => format!(
            "Ship {arm} to {} only. Next: a new experiment on the failing slices ({}) with fresh rows, to learn whether {arm} can serve them without falling below the loss floor.",
            v.slices.join(", "),
            v.failing_slices.join(", ")
        ),
        Decision::Inconclusive => match rows_needed(r, v) {
            Some(n) => format!(
                "A new experiment with n ≥ {n} sealed test rows (this one had {}), so that its minimum detectable effect reaches T = {}; draw them fresh.",
                r.experiment.test_n,
                pp(r.experiment.threshold_pp / 100.0)
            ),
            None => format!(
                "A new experiment with a larger sealed test set than {} rows, sized by the planner for T = {}; draw the rows fresh.",
                r.experiment.test_n,
                pp(r.experiment.threshold_pp / 100.0)
            ),
        },
        Decision::Kill => {
            let gate = !v.killed.is_empty()
                && v.arms
                    .iter()
                    .filter(|a| v.killed.contains(&a.arm))
                    .all(|a| a.rules.iter().any(|c| c.rule == "gate"));
            if gate {
                "A new experiment with a candidate whose change is general by construction: the gate found hardcoded changes. This experiment is closed (G46).".to_string()
            } else {
                "A new experiment with a different candidate, or a narrower scope where the diagnosis showed wins, on fresh rows. This experiment is closed (G46).".to_string()
            }
        }
    };
    let _ = writeln!(md, "{text}\n");
}

fn self_audit(md: &mut String, audit: &[AuditItem]) {
    let _ = writeln!(md, "## Self-audit\n");
    let _ = writeln!(
        md,
        "Computed from the journal: ✅ pass, ❌ fail, — not applicable.\n"
    );
    for a in audit {
        let _ = writeln!(
            md,
            "- {} **{}** — {}",
            mark(a.status),
            a.item,
            a.evidence.replace('\n', " ")
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::decide::rules::{ArmEvidence, Rules, SliceEvidence, decide};
    use crate::frame::ThresholdRule;
    use crate::report::audit::fixture;
    use crate::report::audit::{Storage, self_audit};
    use crate::report::{
        Aggregate, ArmEffects, ArmInfo, ExperimentInfo, FailureModes, ModeInfo, SliceInfo, Tokens,
        VerdictInfo,
    };
    use std::collections::BTreeMap;

    fn es(delta: f64, lo: f64, hi: f64, n: usize) -> EffectSize {
        EffectSize {
            delta,
            ci_low: lo,
            ci_high: hi,
            n,
        }
    }

    fn evidence(aggregate: EffectSize, se_test: f64) -> ArmEvidence {
        ArmEvidence {
            arm: "v2".into(),
            version: 1,
            killed_by_gate: false,
            effect: Some(aggregate),
            slices: vec![
                SliceEvidence {
                    slice: "smb".into(),
                    effect: Some(es(0.15, 0.09, 0.21, 60)),
                    major: true,
                },
                SliceEvidence {
                    slice: "ent".into(),
                    effect: Some(es(-0.033, -0.081, 0.015, 60)),
                    major: true,
                },
            ],
            noise_sd: 0.01,
            se_test_planned: se_test,
            highest_mode_failures: Some((3, 5)),
            weighted: None,
            cost_per_1k_usd: Some(0.42),
            dev_delta: Some(0.1),
            dev_se: Some(0.03),
        }
    }

    fn rules() -> Rules {
        Rules {
            threshold: 0.05,
            floor: -0.02,
            rule: ThresholdRule::Point,
            alpha: 0.05,
            power: 0.8,
        }
    }

    fn report(v: &Verdict) -> ReportData {
        let arm = |id: &str, baseline: bool, version: u32, cost: f64| ArmInfo {
            id: id.into(),
            name: id.into(),
            baseline,
            parent: (!baseline).then(|| "v1".to_string()),
            change: (!baseline).then(|| "adds two refund examples".to_string()),
            version,
            cost_per_1k_usd: Some(cost),
            tokens: Tokens {
                input: if baseline { 96_000 } else { 131_000 },
                output: 12_000,
            },
            latency_ms_mean: if baseline { 810.0 } else { 905.0 },
            killed: false,
        };
        let agg = |mean: f64, sd: f64, n: usize| Aggregate { mean, sd, n };
        let slice = |id: &str| SliceInfo {
            id: id.into(),
            name: id.into(),
            dev_n: 100,
            test_n: 60,
            major: true,
        };
        let counts = |a: usize, b: usize, c: usize| {
            BTreeMap::from([
                ("wrong_account".to_string(), a),
                ("missing_field".to_string(), b),
                ("format".to_string(), c),
            ])
        };
        let aggregate = v.arms[0].evidence.effect.unwrap();
        ReportData {
            experiment: ExperimentInfo {
                name: "refund-examples".into(),
                question:
                    "Does adding two refund examples to the prompt raise extraction accuracy?"
                        .into(),
                hypothesis: "The examples fix refund rows without hurting the rest.".into(),
                metric: "accuracy".into(),
                scorer: "exact".into(),
                threshold_pp: 5.0,
                slice_loss_floor_pp: -2.0,
                threshold_rule: "ship when Δ ≥ +5.0pp and the 95% CI excludes 0".into(),
                rule: "point".into(),
                ci_method: "paired-t".into(),
                ci_level: 0.95,
                test_n: 120,
                dev_n: 200,
                trials_per_arm: 3,
                seed: 7,
                frame_hash: "3f1a9c".into(),
                data_hash: "b07e44".into(),
            },
            arms: vec![arm("v1", true, 0, 0.31), arm("v2", false, 1, 0.42)],
            slices: vec![slice("smb"), slice("ent")],
            failure_modes: FailureModes {
                taxonomy: vec![
                    ModeInfo {
                        id: "wrong_account".into(),
                        weight: 3.0,
                    },
                    ModeInfo {
                        id: "missing_field".into(),
                        weight: 1.0,
                    },
                    ModeInfo {
                        id: "format".into(),
                        weight: 0.5,
                    },
                ],
                highest: Some("wrong_account".into()),
                test_counts: BTreeMap::from([
                    ("v1".to_string(), counts(5, 7, 2)),
                    ("v2".to_string(), counts(3, 8, 2)),
                ]),
            },
            severity: None,
            variance_trials: BTreeMap::from([
                ("v1".to_string(), vec![0.70, 0.71, 0.72]),
                ("v2".to_string(), vec![0.79, 0.80, 0.80]),
            ]),
            dev_aggregate: BTreeMap::from([
                ("v1".to_string(), agg(0.71, 0.01, 200)),
                ("v2".to_string(), agg(0.797, 0.006, 200)),
            ]),
            test_aggregate: BTreeMap::from([
                ("v1".to_string(), agg(0.70, 0.008, 120)),
                ("v2".to_string(), agg(0.789, 0.009, 120)),
            ]),
            test_per_slice: BTreeMap::new(),
            effect_sizes: BTreeMap::from([(
                "v2".to_string(),
                ArmEffects {
                    aggregate,
                    per_slice: v.arms[0]
                        .evidence
                        .slices
                        .iter()
                        .filter_map(|s| s.effect.map(|e| (s.slice.clone(), e)))
                        .collect(),
                },
            )]),
            noise_sd: BTreeMap::from([("v1".to_string(), 0.01), ("v2".to_string(), 0.006)]),
            verdict: VerdictInfo {
                decision: v.decision.as_str().into(),
                arm: v.arm.clone(),
                slices: v.slices.clone(),
                failing_slices: v.failing_slices.clone(),
                killed: v.killed.clone(),
                inconclusive_reason: v.inconclusive_reason.clone(),
                rationale: v.rationale.clone(),
                overfit_alarm: v.overfit_alarm,
            },
            test_row_ids: Vec::new(),
        }
    }

    /// The audit and ledger of the fixture journal, with a synthetic source (so one item fails).
    fn audit_and_ledger() -> (Vec<AuditItem>, Ledger) {
        let mut f = fixture::frame();
        f.synthetic_source = true;
        let entries = fixture::journal(fixture::events(&f));
        (
            self_audit(&entries, &f, Storage::Directory),
            Ledger::from_entries(&entries),
        )
    }

    fn narrow() -> (ReportData, Verdict) {
        let v = decide(&rules(), &[evidence(es(0.089, 0.041, 0.136, 120), 0.015)]);
        (report(&v), v)
    }

    const SECTIONS: [&str; 12] = [
        "# refund-examples: ship narrowly",
        "## Question",
        "## Arms",
        "## Metric and rule (pre-registered)",
        "## Dev scores",
        "## Diagnostic notes",
        "## Verdict",
        "## Failure-mode deltas",
        "## Cost",
        "## What to test next",
        "## Self-audit",
        "- ❌ **label-noise audit**",
    ];

    #[test]
    fn sections_appear_in_order_with_their_charts() {
        let (r, v) = narrow();
        let (a, l) = audit_and_ledger();
        let md = conclusion_markdown(&r, &v, &a, &l);
        let mut from = 0;
        for s in SECTIONS {
            let at = md[from..]
                .find(s)
                .unwrap_or_else(|| panic!("{s} missing or out of order"));
            from += at + s.len();
        }
        for chart in [
            "charts/arm-bar.png",
            "charts/forest-plot.png",
            "charts/cost-vs-accuracy.png",
        ] {
            assert!(md.contains(chart), "{chart}");
        }
        assert!(!md.contains("## Severity"), "no severity registered");
    }

    #[test]
    fn signs_use_a_real_minus_and_never_plus_minus() {
        let (r, v) = narrow();
        let (a, l) = audit_and_ledger();
        let md = conclusion_markdown(&r, &v, &a, &l);
        assert!(md.contains("−3.3pp"), "{md}");
        assert!(md.contains("+8.9pp [+4.1pp, +13.6pp]"), "{md}");
        assert!(!md.contains("+-") && !md.contains("-3.3pp"), "{md}");
        assert!(md.contains("| −2 |"), "signed failure-mode delta: {md}");
    }

    #[test]
    fn audit_marks_come_from_the_audit() {
        let (r, v) = narrow();
        let (mut a, l) = audit_and_ledger();
        a[0].status = AuditStatus::Fail;
        let md = conclusion_markdown(&r, &v, &a, &l);
        assert!(md.contains("- ❌ **test sealed and opened once**"));
        assert!(md.contains("- — **negative control**"));
        assert!(md.contains("- ✅ **blind judge**"));
        assert_eq!(md.matches("- ❌ ").count(), 2);
    }

    #[test]
    fn ship_narrowly_names_the_slices_and_the_next_experiment() {
        let (r, v) = narrow();
        assert_eq!(v.decision, Decision::ShipNarrowly);
        let (a, l) = audit_and_ledger();
        let md = conclusion_markdown(&r, &v, &a, &l);
        assert!(md.contains("**Ship narrowly v2.**"), "{md}");
        assert!(
            md.contains("The claim covers smb only: ent falls below"),
            "{md}"
        );
        assert!(
            md.contains("Ship v2 to smb only. Next: a new experiment on the failing slices (ent) with fresh rows"),
            "{md}"
        );
    }

    #[test]
    fn inconclusive_sizes_the_next_experiment_and_nothing_asks_for_more_iterations() {
        let v = decide(&rules(), &[evidence(es(0.03, -0.01, 0.07, 120), 0.025)]);
        assert_eq!(v.decision, Decision::Inconclusive);
        let r = report(&v);
        let (a, l) = audit_and_ledger();
        let md = conclusion_markdown(&r, &v, &a, &l);
        let mde = v.arms[0].power.unwrap().mde;
        let n = (120.0 * (mde / 0.05_f64).powi(2)).ceil() as usize;
        assert!(
            md.contains(&format!("A new experiment with n ≥ {n} sealed test rows")),
            "{md}"
        );
        for d in [
            narrow().1,
            v,
            decide(&rules(), &[evidence(es(-0.02, -0.05, 0.01, 120), 0.01)]),
        ] {
            let md = conclusion_markdown(&report(&d), &d, &a, &l);
            assert!(!md.to_lowercase().contains("more iterations"), "{md}");
        }
    }

    #[test]
    fn no_iterations_say_so() {
        let (r, v) = narrow();
        let (a, _) = audit_and_ledger();
        let md = conclusion_markdown(&r, &v, &a, &Ledger::default());
        assert!(md.contains("No iterations"));
    }

    #[test]
    fn the_whole_document_reads_well() {
        let (r, v) = narrow();
        let (a, l) = audit_and_ledger();
        insta::assert_snapshot!(conclusion_markdown(&r, &v, &a, &l));
    }
}

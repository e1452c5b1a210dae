//! `--summary-md FILE`: a short Markdown summary of a finished experiment for a pull-request
//! comment or `$GITHUB_STEP_SUMMARY` — the decision line, a verdict table (arm, decision, Δ [CI],
//! test rows), the chosen arm's slice table with harmed and not-shown-safe slices marked, the
//! self-audit's failing items (the ❌ lines of conclusion.md's self-audit, which is recomputed
//! from the journal), and links to the charts. Drawn from the hash-checked report files (G40).

use crate::error::decision_str_code;
use crate::junit::{delta_ci, outcomes, pp};
use itera_core::Verdict;
use itera_core::decide::slices::SliceState;
use itera_core::report::ReportData;
use std::fmt::Write as _;
use std::path::Path;

/// Text safe inside a Markdown table cell: no pipe, no line break.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The self-audit's failing items: the `- ❌ ` lines of conclusion.md's "## Self-audit" section.
fn failing_audit(conclusion: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in conclusion.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Self-audit";
            continue;
        }
        if inside && let Some(rest) = line.strip_prefix("- \u{274c} ") {
            out.push(rest.trim().to_string());
        }
    }
    out
}

/// The Markdown summary of the finished experiment in `dir`.
pub(crate) fn render(report: &ReportData, verdict: &Verdict, dir: &Path) -> String {
    let v = &report.verdict;
    let mut md = String::new();
    let arm = v.arm.as_deref().map(|a| format!(" `{}`", cell(a)));
    let what = match v.decision.as_str() {
        "ship" => format!("SHIP{}", arm.unwrap_or_default()),
        "ship-narrowly" => format!(
            "SHIP NARROWLY{} on {}",
            arm.unwrap_or_default(),
            cell(&v.slices.join(", "))
        ),
        d => d.to_uppercase(),
    };
    let _ = writeln!(md, "## itera: {} — {what}\n", cell(&report.experiment.name));
    let _ = writeln!(
        md,
        "**Decision: {}** (exit {}), threshold T = {}, slice loss floor F = {}, {} test rows.\n",
        v.decision.as_str(),
        decision_str_code(v.decision.as_str()),
        pp(report.experiment.threshold_pp / 100.0),
        pp(report.experiment.slice_loss_floor_pp / 100.0),
        report.experiment.test_n
    );
    if let Some(r) = &v.inconclusive_reason {
        let _ = writeln!(md, "> {}\n", cell(r));
    }
    if let Some(label) = &v.not_fresh_test_set {
        let _ = writeln!(md, "> \u{26a0}\u{fe0f} **{}** (G15).\n", cell(label));
    }
    if v.overfit_alarm {
        let _ = writeln!(
            md,
            "> \u{26a0}\u{fe0f} Overfit alarm: |\u{394}dev \u{2212} \u{394}test| > z\u{b7}SE of their difference (G44).\n"
        );
    }
    let _ = writeln!(md, "| arm | decision | \u{394} [CI] | test rows |");
    let _ = writeln!(md, "|---|---|---|---|");
    for c in outcomes(report, verdict) {
        let (effect, n) = c.effect.map_or_else(
            || ("—".to_string(), "—".to_string()),
            |e| (delta_ci(&e).replace("\u{394} = ", ""), e.n.to_string()),
        );
        let _ = writeln!(
            md,
            "| `{}` | {} | {effect} | {n} |",
            cell(&c.arm.id),
            c.decision.as_str()
        );
    }
    // The slice table: the chosen arm's, else the first candidate's with a trace.
    let trace = verdict
        .arms
        .iter()
        .find(|a| v.arm.as_ref() == Some(&a.arm))
        .or_else(|| verdict.arms.first());
    if let Some(t) = trace.filter(|t| !t.slice_states.is_empty()) {
        let _ = writeln!(md, "\n### Slices (`{}`)\n", cell(&t.arm));
        let _ = writeln!(md, "| slice | \u{394} [CI] | test rows | state |");
        let _ = writeln!(md, "|---|---|---|---|");
        for s in &t.slice_states {
            let effect = report.effect(&t.arm, Some(&s.slice)).map_or_else(
                || "—".to_string(),
                |e| delta_ci(&e).replace("\u{394} = ", ""),
            );
            let state = match s.state {
                SliceState::Safe => "safe".to_string(),
                SliceState::Harmed => "\u{274c} harmed (CI entirely below 0)".to_string(),
                SliceState::Unknown => match s.need {
                    Some(k) => format!("\u{26a0}\u{fe0f} not shown safe (need \u{2248} {k} rows)"),
                    None => "\u{26a0}\u{fe0f} not shown safe".to_string(),
                },
            };
            let _ = writeln!(md, "| {} | {effect} | {} | {state} |", cell(&s.slice), s.n);
        }
    }
    let conclusion =
        std::fs::read_to_string(dir.join(itera_core::report::CONCLUSION_FILE)).unwrap_or_default();
    let failing = failing_audit(&conclusion);
    if !failing.is_empty() {
        let _ = writeln!(md, "\n### Self-audit: {} failing\n", failing.len());
        for f in failing {
            let _ = writeln!(md, "- \u{274c} {f}");
        }
    }
    let mut charts: Vec<String> = std::fs::read_dir(dir.join("charts"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    charts.sort();
    if !charts.is_empty() {
        let links: Vec<String> = charts
            .iter()
            .map(|c| format!("[{}](charts/{c})", c.trim_end_matches(".png")))
            .collect();
        let _ = writeln!(md, "\n**Charts:** {}", links.join(" · "));
    }
    let _ = writeln!(
        md,
        "\nReport: `{}` (conclusion.md, data.json, charts/ are relative to it).",
        dir.display()
    );
    md
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_self_audit_sections_failing_lines_are_taken() {
        let md = "## Verdict\n- \u{274c} not this\n## Self-audit\n\nintro \u{274c}\n- \u{2705} **a** — ok\n- \u{274c} **b** — bad\n## Next\n- \u{274c} nor this\n";
        assert_eq!(super::failing_audit(md), vec!["**b** — bad".to_string()]);
    }
}

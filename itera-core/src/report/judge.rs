//! The judge in the report (G29, issue #13 hole 10): for an LLM judge, `data.json` and
//! `conclusion.md` show the judge's own cost (its calls' tokens and USD, on dev and test, apart
//! from the arms') and the second judge's, and the cross-judge check — rows re-scored, agreement
//! with its Wilson 95% CI, Cohen's κ — or that it did not run. Read from the journal only;
//! absent for a deterministic judge, so such reports are unchanged.

use crate::data::split::Part;
use crate::journal::event::Event;
use crate::journal::record::JudgeCall;
use crate::report::index::JournalIndex;
use crate::run::crossjudge::{Agreement, agreement, passes};
use serde::{Deserialize, Serialize};

/// The tokens and cost of one judge's calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JudgeCost {
    /// The judge's id.
    pub judge: String,
    /// Calls journaled with their usage.
    pub calls: usize,
    /// Input tokens reported.
    pub input_tokens: u64,
    /// Output tokens reported.
    pub output_tokens: u64,
    /// Total USD over the calls that report a cost; `None` when none does.
    pub cost_usd: Option<f64>,
    /// Calls without a reported cost.
    pub unpriced_calls: usize,
}

impl JudgeCost {
    pub(crate) fn add(&mut self, c: &JudgeCall) {
        self.calls += 1;
        self.input_tokens += c.usage.input_tokens.unwrap_or(0);
        self.output_tokens += c.usage.output_tokens.unwrap_or(0);
        match c.cost_usd {
            Some(x) => *self.cost_usd.get_or_insert(0.0) += x,
            None => self.unpriced_calls += 1,
        }
    }
}

/// The cross-judge check as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossJudgeInfo {
    /// The second judge.
    pub second_judge: String,
    /// Dev rows re-scored.
    pub rows: usize,
    /// Dev rows where the primary judge saw a difference.
    pub available: usize,
    /// Same side.
    pub agree: usize,
    /// Opposite side.
    pub disagree: usize,
    /// Second judge's ties (excluded).
    pub ties: usize,
    /// Second judge's failed calls (excluded).
    pub unscored: usize,
    /// Rate, Wilson 95% CI, Cohen's κ.
    pub agreement: Agreement,
    /// The pass rule (≥ 5 rows with a direction from both, ≥ 80% agreement).
    pub passed: bool,
}

/// An LLM judge in `data.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeInfo {
    /// The judge's id.
    pub id: String,
    /// Its model family.
    pub family: String,
    /// Its calls on dev (the primary scoring).
    pub dev: JudgeCost,
    /// Its calls on test.
    pub test: JudgeCost,
    /// The second judge's calls (cross-judge check).
    pub second: Option<JudgeCost>,
    /// The cross-judge check; `None` when it did not run.
    pub cross_judge: Option<CrossJudgeInfo>,
}

/// The judge section of `data.json`, from the journal; `None` for a deterministic judge.
pub(crate) fn judge_info(ix: &JournalIndex) -> Option<JudgeInfo> {
    let entries = ix.entries();
    let (id, family) = entries.iter().find_map(|e| match &e.event {
        Event::Manifest {
            judge,
            judge_family: Some(f),
            ..
        } => Some((judge.clone(), f.clone())),
        _ => None,
    })?;
    let cost = |part| JudgeCost {
        judge: id.clone(),
        ..ix.judge_cost(part).clone()
    };
    let (dev, test) = (cost(Part::Dev), cost(Part::Test));
    let (mut second, mut cross_judge) = (None, None);
    for e in entries {
        match &e.event {
            Event::CrossJudge {
                second_judge,
                rows,
                agree,
                disagree,
                directions,
                ties,
                unscored,
                available,
                calls,
                ..
            } if cross_judge.is_none() => {
                let mut s = JudgeCost {
                    judge: second_judge.clone(),
                    ..JudgeCost::default()
                };
                calls.iter().for_each(|c| s.add(&c.call));
                second = Some(s);
                cross_judge = Some(CrossJudgeInfo {
                    second_judge: second_judge.clone(),
                    rows: rows.len(),
                    available: *available,
                    agree: *agree,
                    disagree: *disagree,
                    ties: *ties,
                    unscored: *unscored,
                    agreement: agreement(*agree, *disagree, directions),
                    passed: passes(*agree, *disagree),
                });
            }
            _ => {}
        }
    }
    Some(JudgeInfo {
        id,
        family,
        dev,
        test,
        second,
        cross_judge,
    })
}

/// The "Judge" section of `conclusion.md` (nothing for a deterministic judge).
pub(crate) fn judge_markdown(md: &mut String, j: Option<&JudgeInfo>) {
    use std::fmt::Write;
    let Some(j) = j else { return };
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    let usd = |c: &JudgeCost| match c.cost_usd {
        Some(x) if c.unpriced_calls == 0 => format!("${x:.4}"),
        Some(x) => format!("${x:.4} (+{} calls unpriced)", c.unpriced_calls),
        None => "not reported".to_string(),
    };
    let _ = writeln!(md, "## Judge\n");
    let _ = writeln!(
        md,
        "LLM judge `{}` (family {}). Its calls are part of the experiment's cost, shown apart from the arms'.\n\n| Judge calls | Calls | Input tokens | Output tokens | Cost |\n|---|---|---|---|---|",
        j.id, j.family
    );
    let mut rows = vec![("dev", &j.dev), ("test", &j.test)];
    if let Some(s) = &j.second {
        rows.push(("cross-judge (second judge)", s));
    }
    for (what, c) in rows {
        let _ = writeln!(
            md,
            "| {what}: `{}` | {} | {} | {} | {} |",
            c.judge,
            c.calls,
            c.input_tokens,
            c.output_tokens,
            usd(c)
        );
    }
    md.push('\n');
    match &j.cross_judge {
        None => {
            let _ = writeln!(
                md,
                "**Cross-judge check (G29): did not run** — no second judge of another family was given (`[metric.second_judge]`); the judge's direction is unchecked.\n"
            );
        }
        Some(c) => {
            let stats = match (c.agreement.rate, c.agreement.wilson_95) {
                (Some(r), Some((lo, hi))) => format!(
                    "agreement {} (Wilson 95% CI {}–{}), Cohen's κ {}",
                    pct(r),
                    pct(lo),
                    pct(hi),
                    c.agreement
                        .kappa
                        .map_or("undefined".to_string(), |k| format!("{k:.2}"))
                ),
                _ => "no row with a direction from both judges".to_string(),
            };
            let _ = writeln!(
                md,
                "**Cross-judge check (G29): {}** — `{}` re-scored {} dev rows (a seeded sample of the {} where the judge sees a difference): same side on {}, opposite on {}, tie on {} and unscored on {} (both excluded); {stats}.\n",
                if c.passed { "passed" } else { "not passed" },
                c.second_judge,
                c.rows,
                c.available,
                c.agree,
                c.disagree,
                c.ties,
                c.unscored
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::journal::event::{CallOutcome, Entry};
    use crate::journal::record::{SecondJudgeCall, Usage};
    use crate::report::audit::fixture::{events, frame, journal};

    fn judge_info(entries: Vec<Entry>) -> Option<JudgeInfo> {
        super::judge_info(&JournalIndex::of(&entries, &[]))
    }

    fn billed(cost: Option<f64>) -> JudgeCall {
        JudgeCall {
            judge: "exact".into(),
            raw: Some("Score: 1".into()),
            usage: Usage {
                input_tokens: Some(300),
                output_tokens: Some(5),
                ..Usage::default()
            },
            cost_usd: cost,
            latency_ms: 12.0,
            attempts: 1,
        }
    }

    // Issue #13 hole 10: the judge's cost was no part of the experiment's. It is now summed from
    // the journaled judge calls, per part, the second judge's apart, and shown in conclusion.md.
    #[test]
    fn an_llm_judges_cost_is_reported_apart_from_the_arms() {
        let f = frame();
        let mut ev = events(&f);
        // A deterministic judge: no judge section at all (old reports unchanged).
        assert!(judge_info(journal(ev.clone())).is_none());
        let mut md = String::new();
        judge_markdown(&mut md, None);
        assert!(md.is_empty());

        for e in &mut ev {
            match e {
                Event::Manifest { judge_family, .. } => *judge_family = Some("gpt".into()),
                Event::Call(rec) => {
                    if let CallOutcome::Scored { judge_call, .. } = &mut rec.outcome {
                        *judge_call = Some(billed(Some(0.002)));
                    }
                }
                _ => {}
            }
        }
        let (dev_calls, test_calls) = ev.iter().fold((0, 0), |(d, t), e| match e {
            Event::Call(r) if r.part == Part::Test => (d, t + 1),
            Event::Call(_) => (d + 1, t),
            _ => (d, t),
        });
        let info = judge_info(journal(ev.clone())).unwrap();
        assert_eq!((info.dev.calls, info.test.calls), (dev_calls, test_calls));
        assert!((info.test.cost_usd.unwrap() - 0.002 * test_calls as f64).abs() < 1e-9);
        assert!(info.cross_judge.is_none());
        let mut md = String::new();
        judge_markdown(&mut md, Some(&info));
        assert!(
            md.contains("## Judge") && md.contains("did not run"),
            "{md}"
        );

        let d = ev
            .iter()
            .position(|e| matches!(e, Event::DevScored { .. }))
            .unwrap();
        let mut cj: Event = serde_json::from_value(serde_json::json!({
            "event": "cross-judge", "judge": "exact", "second_judge": "llm:claude",
            "rows": ["d0", "d1", "d2", "d3", "d4"], "agree": 4, "disagree": 1, "passed": true,
            "directions": [[1, 1], [1, 1], [-1, -1], [1, 1], [1, -1]], "available": 9
        }))
        .unwrap();
        if let Event::CrossJudge { calls, .. } = &mut cj {
            calls.push(SecondJudgeCall {
                row: "d0".into(),
                arm: "v2".into(),
                trial: 0,
                score: Some(1.0),
                error: None,
                call: billed(None),
            });
        }
        ev.insert(d + 1, cj);
        let info = judge_info(journal(ev)).unwrap();
        let second = info.second.clone().unwrap();
        assert_eq!((second.calls, second.unpriced_calls), (1, 1));
        let c = info.cross_judge.clone().unwrap();
        assert!(c.passed && c.agreement.rate == Some(0.8));
        let mut md = String::new();
        judge_markdown(&mut md, Some(&info));
        assert!(
            md.contains("**Cross-judge check (G29): passed**") && md.contains("Wilson 95% CI"),
            "{md}"
        );
        assert!(
            md.contains(
                "| cross-judge (second judge): `llm:claude` | 1 | 300 | 5 | not reported |"
            ),
            "{md}"
        );
    }
}

//! The cross-judge check (G29): when the judge is an LLM of the same model family as an arm, a
//! second judge of another family re-scores the outputs on ≥5 dev rows; the direction of
//! arm − baseline must agree on at least 4 of 5 rows, or the experiment stops.

use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::journal::event::{CallOutcome, Event};
use crate::journal::store::Store;
use crate::run::cube::ScoreCube;
use crate::run::exec::{self, RunOptions};
use crate::run::judge::{Judge, JudgeView};
use crate::run::runner::{Roster, RunError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Rows the second judge re-scores.
pub const CROSS_JUDGE_ROWS: usize = 5;

/// The outcome of the cross-judge check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossJudgeReport {
    /// The primary judge.
    pub judge: String,
    /// The second judge.
    pub second_judge: String,
    /// Rows re-scored.
    pub rows: Vec<RowId>,
    /// Rows where the directions agree (both up, both down, or both flat).
    pub agree: usize,
    /// Rows where the directions are opposite.
    pub disagree: usize,
    /// At least 4 of 5 agree.
    pub passed: bool,
}

fn sign(x: f64) -> i8 {
    if x > 1e-12 {
        1
    } else if x < -1e-12 {
        -1
    } else {
        0
    }
}

/// Runs the check when it applies; `Ok(None)` when the judge is deterministic or of no arm's
/// family (G11).
pub(crate) async fn check(
    rows: &[Row],
    cube: &ScoreCube,
    roster: &Roster<'_>,
    judge: &dyn Judge,
    store: &Store,
    opts: &RunOptions,
) -> Result<Option<CrossJudgeReport>, RunError> {
    let Some(family) = judge.family() else {
        return Ok(None);
    };
    let Some(same) = roster.arms.iter().position(|a| a.family() == Some(family)) else {
        return Ok(None);
    };
    let second = match &opts.second_judge {
        Some(j) if j.family() != Some(family) => j.clone(),
        _ => {
            return Err(RunError::CrossJudgeRequired {
                judge: judge.id().to_string(),
                family: family.to_string(),
                arm: roster.arms[same].id().to_string(),
            });
        }
    };
    let entries = store.entries()?;
    if let Some(report) = entries.iter().find_map(|e| match &e.event {
        Event::CrossJudge {
            judge,
            second_judge,
            rows,
            agree,
            disagree,
            passed,
        } => Some(CrossJudgeReport {
            judge: judge.clone(),
            second_judge: second_judge.clone(),
            rows: rows.clone(),
            agree: *agree,
            disagree: *disagree,
            passed: *passed,
        }),
        _ => None,
    }) {
        return verdict_of(report);
    }
    // Compare the same-family arm with the baseline (or the first arm, when the baseline is the
    // same-family one).
    let arm = if same == 0 { 1 } else { same };
    let n = rows.len().min(CROSS_JUDGE_ROWS);
    let picked: Vec<usize> = (0..n).collect();
    let mut outputs: BTreeMap<(usize, usize, u32), Value> = BTreeMap::new();
    let index: BTreeMap<&RowId, usize> = rows.iter().enumerate().map(|(i, r)| (&r.id, i)).collect();
    for e in entries {
        let Event::Call(rec) = e.event else { continue };
        if rec.part != Part::Dev {
            continue;
        }
        let a = if rec.spec_hash == roster.hashes[arm] {
            arm
        } else if rec.spec_hash == roster.hashes[0] {
            0
        } else {
            continue;
        };
        if let (Some(&r), CallOutcome::Scored { output, .. }) = (index.get(&rec.row), rec.outcome)
            && r < n
        {
            outputs.insert((a, r, rec.trial), output);
        }
    }
    let primary_arm = cube.row_means(arm);
    let primary_base = cube.row_means(0);
    let (mut agree, mut disagree) = (0, 0);
    for &r in &picked {
        let mut mean = [0.0f64; 2];
        for (slot, a) in [(0usize, arm), (1, 0)] {
            let mut scores = Vec::new();
            for t in 0..cube.trials() as u32 {
                let Some(out) = outputs.get(&(a, r, t)) else {
                    continue;
                };
                let view = JudgeView {
                    input: &rows[r].input,
                    expected: rows[r].expected.as_ref(),
                };
                let j = exec::call_judge(second.as_ref(), view, out, r as u64, opts, None).await;
                scores.push(j.result.map(|j| j.score).unwrap_or(0.0));
            }
            if !scores.is_empty() {
                mean[slot] = scores.iter().sum::<f64>() / scores.len() as f64;
            }
        }
        let first = match (primary_arm[r], primary_base[r]) {
            (Some(x), Some(y)) => sign(x - y),
            _ => 0,
        };
        let other = sign(mean[0] - mean[1]);
        if first == other {
            agree += 1;
        } else if first == -other {
            disagree += 1;
        }
    }
    let report = CrossJudgeReport {
        judge: judge.id().to_string(),
        second_judge: second.id().to_string(),
        rows: picked.iter().map(|&r| rows[r].id.clone()).collect(),
        agree,
        disagree,
        passed: n > 0 && agree * CROSS_JUDGE_ROWS >= 4 * n,
    };
    store.append(Event::CrossJudge {
        judge: report.judge.clone(),
        second_judge: report.second_judge.clone(),
        rows: report.rows.clone(),
        agree,
        disagree,
        passed: report.passed,
    })?;
    verdict_of(report)
}

fn verdict_of(report: CrossJudgeReport) -> Result<Option<CrossJudgeReport>, RunError> {
    if report.passed {
        Ok(Some(report))
    } else {
        Err(RunError::CrossJudgeDisagrees {
            disagree: report.rows.len() - report.agree,
            rows: report.rows.len(),
        })
    }
}

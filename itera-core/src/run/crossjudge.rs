//! The cross-judge check (G29). Whenever the judge is an LLM ([`is_llm_judge`]) and a second
//! judge of another family is given, the second judge re-scores a seeded sample of the dev rows
//! where the primary judge sees a difference between the baseline and a candidate (at least 5,
//! default 20, [`RunOptions::cross_judge_rows`]); agreement is the same direction of preference,
//! the second judge's ties and failed calls excluded; the agreement rate is reported with its
//! Wilson 95% CI and Cohen's κ. The judge is trusted at ≥ 80% agreement (4 of 5, METHOD.md §3) on
//! ≥ 5 rows; below that the experiment stops. Before any call ([`require`]) an LLM judge without a
//! family, a second judge that is no LLM or of the judge's family, and a judge of an arm's family
//! without a second judge are refused.

use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::frame::Frame;
use crate::hash;
use crate::journal::event::{CallOutcome, Event};
use crate::journal::record::SecondJudgeCall;
use crate::journal::store::Store;
use crate::run::cube::ScoreCube;
use crate::run::exec::{self, RunOptions};
use crate::run::judge::{Judge, JudgeView};
use crate::run::runner::{Roster, RunError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The fewest rows with a direction from both judges for the check to pass (METHOD.md §3).
pub const CROSS_JUDGE_MIN_ROWS: usize = 5;

/// Agreement at or above which the primary judge is trusted (4 of 5, METHOD.md §3).
pub const CROSS_JUDGE_MIN_AGREEMENT: f64 = 0.8;

/// The outcome of the cross-judge check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossJudgeReport {
    /// The primary judge.
    pub judge: String,
    /// The second judge.
    pub second_judge: String,
    /// Rows re-scored: a seeded sample of the dev rows where the primary judge sees a difference.
    pub rows: Vec<RowId>,
    /// Per row re-scored, the candidate compared with the baseline.
    pub candidates: Vec<String>,
    /// Dev rows where the primary judge sees a difference (the population sampled).
    pub available: usize,
    /// Rows where both judges prefer the same side.
    pub agree: usize,
    /// Rows where they prefer opposite sides.
    pub disagree: usize,
    /// Rows where the second judge sees a tie (excluded).
    pub ties: usize,
    /// Rows the second judge could not score (excluded).
    pub unscored: usize,
    /// Agreement rate `agree / (agree + disagree)`, its Wilson 95% CI and Cohen's κ.
    pub agreement: Agreement,
    /// At least 5 rows with a direction from both judges and agreement
    /// ≥ 80%.
    pub passed: bool,
}

/// The agreement statistics of a cross-judge check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// `agree / (agree + disagree)`; `None` when no row has a direction from both judges.
    pub rate: Option<f64>,
    /// Wilson score 95% CI of the rate.
    pub wilson_95: Option<(f64, f64)>,
    /// Cohen's κ on the two judges' directions (rows with a direction from both); `None` when
    /// undefined (no rows, or both judges used one direction throughout).
    pub kappa: Option<f64>,
}

/// Agreement statistics from the journaled directions (`[primary, second]` per row) or, for
/// older journals without them, from the counts.
pub(crate) fn agreement(agree: usize, disagree: usize, directions: &[[i8; 2]]) -> Agreement {
    let decisive = agree + disagree;
    if decisive == 0 {
        return Agreement {
            rate: None,
            wilson_95: None,
            kappa: None,
        };
    }
    let wilson = itera_stats::proportions::wilson(agree as u64, decisive as u64, 0.95).ok();
    let pairs: Vec<[i8; 2]> = directions
        .iter()
        .copied()
        .filter(|[p, s]| *p != 0 && (*s == 1 || *s == -1))
        .collect();
    let kappa = if pairs.is_empty() {
        None
    } else {
        let first: Vec<i8> = pairs.iter().map(|p| p[0]).collect();
        let second: Vec<i8> = pairs.iter().map(|p| p[1]).collect();
        itera_stats::agreement::cohens_kappa(&first, &second)
            .ok()
            .and_then(|k| k.kappa)
    };
    Agreement {
        rate: Some(agree as f64 / decisive as f64),
        wilson_95: wilson.map(|e| (e.ci.lower, e.ci.upper)),
        kappa,
    }
}

/// The pass rule (G29): ≥ 5 rows with a direction from both judges, ≥ 80% of them agreeing.
/// Ties and unscored rows count for nothing: a second judge that sees no difference cannot vouch
/// for the first. Tests that fail without it: `attack_identical_arms_pass_the_cross_judge_on_ties`
/// (tests/integrity_judge.rs), `attack_cross_judge_low_agreement_audited_as_pass` (audit).
pub(crate) fn passes(agree: usize, disagree: usize) -> bool {
    // G29: enforced here; removing this rule also fails
    // tests/integrity_judge.rs::a_second_judge_that_sees_only_ties_or_fails_does_not_pass
    let decisive = agree + disagree;
    decisive >= CROSS_JUDGE_MIN_ROWS
        && agree as f64 >= CROSS_JUDGE_MIN_AGREEMENT * decisive as f64 - 1e-9
}

/// Whether the judge asks a language model: it says so, or it declares a model family.
pub(crate) fn is_llm_judge(judge: &dyn Judge) -> bool {
    judge.is_llm() || judge.family().is_some()
}

/// The registration check (G29), before any call: at the pilot's start (the first point where
/// the library holds the judge, the arms and the options together) and again before dev
/// scoring. Refuses an LLM judge that declares no family, a second judge that is not an LLM
/// judge of another family, and an LLM judge of an arm's family without a second judge.
/// Test that fails without it: `attack_same_family_judge_refused_only_after_the_dev_phase`
/// (tests/integrity_judge.rs).
pub(crate) fn require(
    roster: &Roster<'_>,
    judge: &dyn Judge,
    opts: &RunOptions,
) -> Result<(), RunError> {
    // G29: enforced here; removing this check fails
    // tests/integrity_judge.rs::an_llm_judge_without_a_family_is_refused_before_any_call
    if judge.is_llm() && judge.family().is_none_or(|f| f.trim().is_empty()) {
        return Err(RunError::JudgeFamilyMissing {
            judge: judge.id().to_string(),
        });
    }
    // G29: enforced here; removing this check fails
    // tests/guards_enforced.rs::cross_judge_rows_below_five_is_refused_before_any_call
    if opts.cross_judge_rows < CROSS_JUDGE_MIN_ROWS {
        return Err(RunError::CrossJudgeRowsTooFew {
            rows: opts.cross_judge_rows,
        });
    }
    if let Some(second) = &opts.second_judge {
        let other = second.family().filter(|f| !f.trim().is_empty());
        // G29: enforced here; removing this check fails
        // tests/integrity_judge.rs::a_second_judge_of_the_judges_family_is_refused
        if other.is_none() || other == judge.family() {
            return Err(RunError::SecondJudgeFamily {
                judge: judge.id().to_string(),
                family: judge.family().unwrap_or("none").to_string(),
                second: second.id().to_string(),
                second_family: other.unwrap_or("none").to_string(),
            });
        }
        return Ok(());
    }
    let Some(family) = judge.family() else {
        return Ok(());
    };
    // G29: enforced here; removing this check fails tests/runner.rs::
    // an_llm_judge_of_an_arms_family_needs_a_second_opinion (and the test named above)
    if let Some(arm) = roster.arms.iter().find(|a| a.family() == Some(family)) {
        return Err(RunError::CrossJudgeRequired {
            judge: judge.id().to_string(),
            family: family.to_string(),
            arm: arm.id().to_string(),
        });
    }
    Ok(())
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

/// The journaled check, if any.
fn recorded(entries: &[crate::journal::event::Entry]) -> Option<CrossJudgeReport> {
    entries.iter().find_map(|e| match &e.event {
        Event::CrossJudge {
            judge,
            second_judge,
            rows,
            agree,
            disagree,
            candidates,
            directions,
            ties,
            unscored,
            available,
            ..
        } => Some(CrossJudgeReport {
            judge: judge.clone(),
            second_judge: second_judge.clone(),
            rows: rows.clone(),
            candidates: candidates.clone(),
            available: *available,
            agree: *agree,
            disagree: *disagree,
            ties: *ties,
            unscored: *unscored,
            agreement: agreement(*agree, *disagree, directions),
            passed: passes(*agree, *disagree),
        }),
        _ => None,
    })
}

/// Runs the check whenever the judge is an LLM and a second judge is given; `Ok(None)` for a
/// deterministic judge (G11) or an LLM judge without a second judge (then the self-audit's
/// cross-judge item fails; one of an arm's family was refused by [`require`]). Test that fails
/// if the check is skipped again for an LLM judge of no arm's family:
/// `attack_llm_judge_of_another_family_skips_the_cross_judge` (tests/integrity_judge.rs).
pub(crate) async fn check(
    rows: &[Row],
    cube: &ScoreCube,
    roster: &Roster<'_>,
    judge: &dyn Judge,
    store: &Store,
    opts: &RunOptions,
    frame: &Frame,
) -> Result<Option<CrossJudgeReport>, RunError> {
    let seed = frame.seed;
    require(roster, judge, opts)?;
    if !is_llm_judge(judge) {
        return Ok(None);
    }
    let Some(second) = opts.second_judge.clone() else {
        return Ok(None);
    };
    let entries = store.entries()?;
    if let Some(report) = recorded(&entries) {
        return verdict_of(report);
    }
    // The population: (candidate, row) pairs where the primary judge's row means differ.
    let base = cube.row_means(0);
    let mut pairs: Vec<(String, usize, usize, i8)> = Vec::new();
    let mut differing = BTreeSet::new();
    for a in 1..roster.arms.len().min(cube.arms().len()) {
        for (r, (x, y)) in cube.row_means(a).iter().zip(&base).enumerate() {
            if let (Some(x), Some(y)) = (x, y)
                && sign(x - y) != 0
            {
                differing.insert(r);
                // Seeded order: the hash of (seed, arm spec, row id), so the sample depends on
                // the registered seed and not on row ids' order (G29; was "the first 5 by id").
                let key = hash::sha256_hex(
                    format!("cross-judge|{seed}|{}|{}", roster.hashes[a], rows[r].id).as_bytes(),
                );
                pairs.push((key, a, r, sign(x - y)));
            }
        }
    }
    pairs.sort();
    let mut taken = BTreeSet::new();
    let picked: Vec<(usize, usize, i8)> = pairs
        .into_iter()
        .filter(|(_, _, r, _)| taken.insert(*r))
        .take(opts.cross_judge_rows)
        .map(|(_, a, r, d)| (a, r, d))
        .collect();
    let wanted: BTreeSet<(usize, usize)> = picked.iter().map(|&(a, r, _)| (a, r)).collect();
    let index: BTreeMap<&RowId, usize> = rows.iter().enumerate().map(|(i, r)| (&r.id, i)).collect();
    let mut outputs: BTreeMap<(usize, usize, u32), Value> = BTreeMap::new();
    for e in entries {
        let Event::Call(rec) = e.event else { continue };
        if rec.part != Part::Dev {
            continue;
        }
        let Some(a) = roster.hashes.iter().position(|h| *h == rec.spec_hash) else {
            continue;
        };
        if let (Some(&r), CallOutcome::Scored { output, .. }) = (index.get(&rec.row), rec.outcome)
            && (a == 0 && wanted.iter().any(|w| w.1 == r) || wanted.contains(&(a, r)))
        {
            outputs.insert((a, r, rec.trial), output);
        }
    }
    let (mut agree, mut disagree, mut ties, mut unscored) = (0, 0, 0, 0);
    let mut directions = Vec::with_capacity(picked.len());
    let mut calls = Vec::new();
    for &(arm, r, first) in &picked {
        let mut mean = [None::<f64>; 2];
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
                let seed = (r as u64) << 8 | u64::from(t) << 1 | slot as u64;
                let j = exec::call_judge(second.as_ref(), view, out, seed, opts, None).await;
                let (attempts, latency) = (j.attempts, j.latency_ms);
                // A failed call is excluded, never scored 0 (it would fake a direction).
                let (score, error, raw, usage) = match j.result {
                    Ok(j) => (Some(j.score), None, j.raw, j.usage),
                    Err(e) => (None, Some(e), None, Default::default()),
                };
                scores.extend(score);
                calls.push(SecondJudgeCall {
                    row: rows[r].id.clone(),
                    arm: roster.arms[a].id().to_string(),
                    trial: t,
                    score,
                    error,
                    call: crate::run::journaled::judge_call(
                        second.as_ref(),
                        raw,
                        usage,
                        attempts,
                        latency,
                    ),
                });
            }
            if !scores.is_empty() {
                mean[slot] = Some(scores.iter().sum::<f64>() / scores.len() as f64);
            }
        }
        let other = match mean {
            [Some(x), Some(y)] => sign(x - y),
            _ => -2,
        };
        match other {
            -2 => unscored += 1,
            0 => ties += 1,
            o if o == first => agree += 1,
            _ => disagree += 1,
        }
        directions.push([first, other]);
    }
    let candidates: Vec<String> = picked
        .iter()
        .map(|&(a, _, _)| roster.arms[a].id().to_string())
        .collect();
    let report = CrossJudgeReport {
        judge: judge.id().to_string(),
        second_judge: second.id().to_string(),
        rows: picked.iter().map(|&(_, r, _)| rows[r].id.clone()).collect(),
        candidates: candidates.clone(),
        available: differing.len(),
        agree,
        disagree,
        ties,
        unscored,
        agreement: agreement(agree, disagree, &directions),
        passed: passes(agree, disagree),
    };
    store.append(Event::CrossJudge {
        judge: report.judge.clone(),
        second_judge: report.second_judge.clone(),
        rows: report.rows.clone(),
        agree,
        disagree,
        passed: report.passed,
        candidates,
        directions,
        ties,
        unscored,
        available: report.available,
        calls,
    })?;
    verdict_of(report)
}

/// A check that ran on enough rows and failed stops the experiment (METHOD.md §3: the metric is
/// too subjective). One that could not run on 5 rows because the primary judge sees a difference
/// on fewer dev rows is kept, not passed: the self-audit's cross-judge item fails and says why.
fn verdict_of(report: CrossJudgeReport) -> Result<Option<CrossJudgeReport>, RunError> {
    if report.passed || report.rows.len() < CROSS_JUDGE_MIN_ROWS {
        Ok(Some(report))
    } else {
        Err(RunError::CrossJudgeDisagrees {
            agree: report.agree,
            disagree: report.disagree,
            ties: report.ties,
            unscored: report.unscored,
            rows: report.rows.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from statsmodels 0.15.0:
    //   proportion_confint(17, 20, alpha=0.05, method='wilson')
    //     -> (0.639581135259243, 0.9476312541037833)
    //   cohens_kappa([[15, 1], [2, 2]]).kappa  (rows: primary +,−; columns: second +,−)
    //     -> 0.48275862068965497
    #[test]
    fn agreement_matches_statsmodels() {
        let mut d = vec![[1i8, 1]; 15];
        d.push([1, -1]);
        d.extend([[-1, 1]; 2]);
        d.extend([[-1, -1]; 2]);
        d.push([1, 0]); // a tie: excluded
        d.push([-1, -2]); // unscored: excluded
        let a = agreement(17, 3, &d);
        assert!((a.rate.unwrap() - 0.85).abs() < 1e-12);
        let (lo, hi) = a.wilson_95.unwrap();
        assert!((lo - 0.639581135259243).abs() < 1e-9, "{lo}");
        assert!((hi - 0.9476312541037833).abs() < 1e-9, "{hi}");
        assert!(
            (a.kappa.unwrap() - 0.48275862068965497).abs() < 1e-9,
            "{:?}",
            a.kappa
        );
    }

    #[test]
    fn passing_needs_five_decisive_rows_and_four_in_five() {
        assert!(passes(4, 1));
        assert!(!passes(3, 2));
        assert!(!passes(4, 0), "4 rows are too few");
        assert!(passes(16, 4) && !passes(15, 5));
        assert!(!passes(0, 0));
    }
}

//! Integrity of the cross-judge check (issue #13 hole 10, G29): each test is an attack that, on
//! main, let the check be skipped or passed trivially.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;
use itera_core::*;
use std::sync::Arc;

const DEV_ROWS: usize = 90;

async fn scored(
    frame: Frame,
    arms: Vec<Box<dyn Arm>>,
    judge: Arc<dyn Judge>,
    opts: &RunOptions,
) -> Result<Experiment<Scored>, Error> {
    let exp = Experiment::new(frame)?
        .register(Store::in_memory())
        .map_err(|r| r.error)?
        .split_rows(rows(DEV_ROWS))
        .map_err(|r| r.error)?;
    let exp = exp
        .pilot(Lineup::with_judge(judge).arms(arms).options(opts.clone()))
        .await
        .map_err(|r| r.error)?;
    exp.score_dev().await.map_err(|r| r.error)
}

fn llm(id: &str, family: &str) -> RecordingJudge {
    let mut j = RecordingJudge::new();
    j.id = id.into();
    j.family = Some(family.into());
    j
}

fn with_second(second: RecordingJudge) -> RunOptions {
    RunOptions {
        second_judge: Some(Arc::new(second)),
        ..fast_opts()
    }
}

// Attack: an LLM judge whose family no arm shares skipped the check, even with a second judge
// given (it ran only when the judge and an arm declared the same family).
#[tokio::test]
async fn attack_llm_judge_of_another_family_skips_the_cross_judge() {
    let judge = Arc::new(llm("exact", "gpt"));
    let (_, arms) = shared(standard_arms());
    let exp = scored(
        frame(3),
        arms,
        judge.clone(),
        &with_second(llm("second", "claude")),
    )
    .await
    .unwrap();
    let report = exp.dev().cross_judge.clone();
    assert!(
        report.is_some(),
        "an LLM judge with a second judge of another family: the check must run"
    );
}

// Attack: a judge of an arm's family with no second judge was refused only after the whole dev
// phase had been paid for; it must be refused before any arm call.
#[tokio::test]
async fn attack_same_family_judge_refused_only_after_the_dev_phase() {
    let judge = Arc::new(llm("exact", "gpt"));
    let [b, mut a, c] = standard_arms();
    a.family = Some("gpt".into());
    let (handles, arms) = shared([b, a, c]);
    let exp = Experiment::new(frame(3))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(DEV_ROWS))
        .unwrap();
    let err = exp
        .pilot(Lineup::with_judge(judge).arms(arms).options(fast_opts()))
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    let calls: usize = handles.iter().map(|h| h.calls()).sum();
    assert_eq!(calls, 0, "refused after {calls} arm calls: {err}");
    assert!(
        err.contains("G29") && err.contains("[metric.second_judge]"),
        "{err}"
    );
}

// Attack: the check re-scored the first 5 dev rows by id, whatever they were, rather than a
// seeded sample of the rows where the primary judge sees a difference (default 20).
#[tokio::test]
async fn attack_cross_judge_reads_the_first_rows_by_id() {
    let judge = Arc::new(llm("exact", "gpt"));
    let (_, arms) = shared(standard_arms());
    let exp = scored(
        frame(3),
        arms,
        judge.clone(),
        &with_second(llm("second", "claude")),
    )
    .await
    .unwrap();
    let report = exp.dev().cross_judge.clone().expect("the check ran");
    let means = row_means(&exp);
    let dev: Vec<RowId> = exp.plan().dev_ids().into_iter().cloned().collect();
    let differs = |id: &RowId| {
        let r = dev.iter().position(|d| d == id).unwrap();
        (1..means.len()).any(|a| match (means[a][r], means[0][r]) {
            (Some(x), Some(y)) => (x - y).abs() > 1e-12,
            _ => false,
        })
    };
    assert!(
        report.rows.len() >= 5 && report.rows.iter().all(differs),
        "rows re-scored must be ones where the primary judge sees a difference: {:?}",
        report.rows
    );
    assert_eq!(report.rows.len(), 20, "the default sample is 20 rows");
    assert_ne!(
        report.rows[..5],
        dev[..5],
        "a seeded sample, not the first rows by id"
    );
}

// Attack: rows both judges call a tie counted as agreement, so three identical arms passed the
// check 5 of 5 without the second judge ever seeing a difference.
#[tokio::test]
async fn attack_identical_arms_pass_the_cross_judge_on_ties() {
    let judge = Arc::new(llm("exact", "gpt"));
    let [mut b, mut a, mut c] = standard_arms();
    for arm in [&mut b, &mut a, &mut c] {
        arm.fixed_output = Some("wrong".into());
    }
    a.family = Some("gpt".into());
    let (_, arms) = shared([b, a, c]);
    let exp = scored(
        frame(3),
        arms,
        judge.clone(),
        &with_second(llm("second", "claude")),
    )
    .await
    .unwrap();
    // Kept, not passed: the primary judge sees no difference, so there is nothing to check; the
    // self-audit's cross-judge item fails and says so.
    let report = exp.dev().cross_judge.clone().unwrap();
    assert!(!report.passed, "ties are not agreement: {report:?}");
    assert_eq!((report.available, report.agree), (0, 0), "{report:?}");
}

/// A judge that sees only ties, or whose every call fails.
struct Flat {
    fails: bool,
}

#[async_trait::async_trait]
impl Judge for Flat {
    fn id(&self) -> &str {
        "flat"
    }
    fn is_llm(&self) -> bool {
        true
    }
    fn family(&self) -> Option<&str> {
        Some("claude")
    }
    async fn score(
        &self,
        _view: JudgeView<'_>,
        _output: &serde_json::Value,
    ) -> Result<Judgement, JudgeError> {
        if self.fails {
            Err(JudgeError::Unscorable("no answer".into()))
        } else {
            Ok(Judgement::score(0.5))
        }
    }
}

// A second judge that calls every row a tie, or cannot score any, does not vouch for the first:
// its ties and failures are excluded (never counted as agreement, never scored 0) and the check
// fails with fewer than 5 rows that have a direction from both judges.
#[tokio::test]
async fn a_second_judge_that_sees_only_ties_or_fails_does_not_pass() {
    let judge = Arc::new(llm("exact", "gpt"));
    for (fails, words) in [(false, "tie on 20"), (true, "could not score 20")] {
        let (_, arms) = shared(standard_arms());
        let opts = RunOptions {
            second_judge: Some(Arc::new(Flat { fails })),
            ..fast_opts()
        };
        let err = scored(frame(3), arms, judge.clone(), &opts)
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("G29") && err.contains(words), "{err}");
    }
}

// An LLM judge must declare its family (G29): refused before any arm call.
struct Nameless;

#[async_trait::async_trait]
impl Judge for Nameless {
    fn id(&self) -> &str {
        "exact"
    }
    fn is_llm(&self) -> bool {
        true
    }
    async fn score(
        &self,
        _view: JudgeView<'_>,
        _output: &serde_json::Value,
    ) -> Result<Judgement, JudgeError> {
        Ok(Judgement::score(1.0))
    }
}

#[tokio::test]
async fn an_llm_judge_without_a_family_is_refused_before_any_call() {
    let (handles, arms) = shared(standard_arms());
    let exp = Experiment::new(frame(3))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(DEV_ROWS))
        .unwrap();
    let err = exp
        .pilot(Lineup::new(Nameless).arms(arms).options(fast_opts()))
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert_eq!(handles.iter().map(|h| h.calls()).sum::<usize>(), 0);
    assert!(
        err.contains("declares no model family") && err.contains("G29"),
        "{err}"
    );
}

// A second judge of the primary's own family checks nothing.
#[tokio::test]
async fn a_second_judge_of_the_judges_family_is_refused() {
    let judge = Arc::new(llm("exact", "gpt"));
    let (_, arms) = shared(standard_arms());
    let err = scored(
        frame(3),
        arms,
        judge.clone(),
        &with_second(llm("second", "gpt")),
    )
    .await
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(err.contains("[metric.second_judge]"), "{err}");
}

/// An LLM judge (exact match underneath) that reports a long raw reply and its tokens and cost.
struct Billed {
    id: String,
    family: String,
}

#[async_trait::async_trait]
impl Judge for Billed {
    fn id(&self) -> &str {
        &self.id
    }
    fn is_llm(&self) -> bool {
        true
    }
    fn family(&self) -> Option<&str> {
        Some(&self.family)
    }
    async fn score(
        &self,
        view: JudgeView<'_>,
        output: &serde_json::Value,
    ) -> Result<Judgement, JudgeError> {
        let right = Some(output) == view.expected;
        Ok(Judgement::score(if right { 1.0 } else { 0.0 })
            .with_usage(Usage {
                input_tokens: Some(300),
                output_tokens: Some(5),
                cost_usd: Some(0.001),
                ..Usage::default()
            })
            .with_raw("x".repeat(5000)))
    }
}

// Issue #13 hole 10: a judge call was journaled as a bare score, without its reply, tokens, cost
// or latency, and the second judge's calls not at all: the judge's cost was missing from the
// experiment's.
#[tokio::test]
async fn attack_judge_calls_are_not_journaled() {
    let judge = Arc::new(Billed {
        id: "exact".into(),
        family: "gpt".into(),
    });
    let second = Billed {
        id: "second".into(),
        family: "claude".into(),
    };
    let (_, arms) = shared(standard_arms());
    let opts = RunOptions {
        second_judge: Some(Arc::new(second)),
        ..fast_opts()
    };
    let exp = scored(frame(3), arms, judge.clone(), &opts).await.unwrap();
    let entries = exp.store().entries().unwrap();
    let mut scored_calls = 0;
    for e in &entries {
        if let Event::Call(rec) = &e.event
            && let CallOutcome::Scored { judge_call, .. } = &rec.outcome
        {
            let call = judge_call
                .as_ref()
                .expect("an LLM judge's call is journaled");
            assert_eq!(call.judge, "exact");
            assert_eq!(call.usage.input_tokens, Some(300));
            assert_eq!(call.cost_usd, Some(0.001));
            assert!(call.latency_ms >= 0.0 && call.attempts == 1);
            let raw = call.raw.as_deref().unwrap();
            assert_eq!(
                raw.chars().count(),
                2001,
                "bounded to 2,000 characters and …"
            );
            scored_calls += 1;
        }
    }
    assert!(scored_calls > 0);
    let calls = entries
        .iter()
        .find_map(|e| match &e.event {
            Event::CrossJudge { calls, .. } => Some(calls.clone()),
            _ => None,
        })
        .unwrap();
    // 20 rows × (candidate + baseline) × 3 trials.
    assert_eq!(calls.len(), 20 * 2 * 3);
    assert!(
        calls
            .iter()
            .all(|c| c.call.cost_usd == Some(0.001) && c.score.is_some())
    );
}

//! From a checked experiment file to the library's inputs: the registered [`Frame`] (defaults:
//! 3 trials, or 1 when deterministic; a −2 pp slice loss floor; α 0.05, power 0.8), the data
//! file's [`Columns`] and the [`RunOptions`]. A frame error is reported under the file's key it
//! is about.

use super::{ConfigError, Loaded};
use itera_core::data::load::Columns;
use itera_core::{
    ArmPlan, Baseline, Effect, FailureMode, FailurePolicy, Frame, Metric, Price, RunOptions,
    SeveritySpec, SplitRatios, Threshold, ThresholdRule,
};
use std::collections::BTreeMap;
use std::time::Duration;

impl Loaded {
    /// The frame the file registers.
    pub fn frame(&self) -> Result<Frame, ConfigError> {
        let f = &self.file;
        let base = self.baseline();
        let deterministic = f
            .experiment
            .deterministic
            .unwrap_or_else(|| self.all_replay());
        let trials = f.metric.trials.unwrap_or(if deterministic { 1 } else { 3 });
        let effect = match (f.threshold.min_effect_pp, f.threshold.min_effect_rel_pct) {
            (Some(pp), _) => Effect::AbsolutePp(pp),
            (None, Some(pct)) => Effect::RelativePct(pct),
            (None, None) => Effect::AbsolutePp(0.0),
        };
        let rule = match f.threshold.rule.as_deref() {
            None | Some("point") => ThresholdRule::Point,
            Some("ci-lower") => ThresholdRule::CiLower,
            Some(other) => {
                return Err(self.error(
                    "threshold.rule",
                    format!("'{other}' is not a rule: use \"point\" or \"ci-lower\""),
                ));
            }
        };
        let failure_policy = match f.run.failure_policy.as_deref() {
            None | Some("score-zero") => FailurePolicy::ScoreZero,
            Some("exclude") => FailurePolicy::Exclude,
            Some(other) => {
                return Err(self.error(
                    "run.failure_policy",
                    format!("'{other}' is not a policy: use \"score-zero\" or \"exclude\""),
                ));
            }
        };
        let mut prices = BTreeMap::new();
        for a in &f.arms {
            if let Some(p) = a.price {
                prices.insert(
                    a.id.clone(),
                    Price {
                        input_per_mtok_usd: p.input_per_mtok_usd,
                        output_per_mtok_usd: p.output_per_mtok_usd,
                        cache_read_per_mtok_usd: p.cache_read_per_mtok_usd,
                        cache_write_per_mtok_usd: p.cache_write_per_mtok_usd,
                        batch_discount: p.batch_discount,
                    },
                );
            }
        }
        let frame = Frame {
            name: f.experiment.name.clone(),
            question: f.experiment.question.clone(),
            hypothesis: f.experiment.hypothesis.clone(),
            baseline: Baseline {
                id: base.id.clone(),
                source: base.source.clone().unwrap_or_default(),
            },
            arms: f
                .arms
                .iter()
                .filter(|a| !a.baseline)
                .map(|a| ArmPlan {
                    id: a.id.clone(),
                    parent: a.parent.clone().unwrap_or_else(|| base.id.clone()),
                    change: a.change.clone().unwrap_or_default(),
                    negative_control: a.negative_control,
                })
                .collect(),
            metric: Metric {
                name: f.metric.name.clone(),
                scorer: f.metric.scorer.clone(),
                rubric: f.metric.rubric.clone(),
                secondaries: f.metric.secondaries.clone(),
            },
            threshold: Threshold {
                effect,
                rule,
                slice_loss_floor_pp: f.threshold.slice_loss_floor_pp.unwrap_or(-2.0),
            },
            major_slices: f.threshold.major_slices.clone(),
            slice_rule: f.threshold.slice_rule.unwrap_or_default(),
            failure_modes: f
                .failure_modes
                .iter()
                .map(|m| FailureMode {
                    id: m.id.clone(),
                    weight: m.weight,
                    description: m.description.clone(),
                    rule: m.rule.clone(),
                })
                .collect(),
            severity: f.severity.as_ref().map(|s| SeveritySpec {
                field: s.field.clone(),
                cap: s.cap,
            }),
            trials,
            deterministic,
            alpha: f.experiment.alpha.unwrap_or(0.05),
            power: f.experiment.power.unwrap_or(0.8),
            split: f.split.map_or_else(SplitRatios::default, |s| SplitRatios {
                train: s.train,
                dev: s.dev,
                test: s.test,
            }),
            seed: f.experiment.seed,
            failure_policy,
            max_failed_share: f
                .run
                .max_failed_share
                .unwrap_or(itera_core::frame::DEFAULT_MAX_FAILED_SHARE),
            synthetic_source: f.experiment.synthetic_source,
            reuse_test: f.experiment.reuse_test.clone(),
            prices,
        };
        frame
            .validate()
            .map_err(|e| self.error(frame_key(&e), format!("{e}")))?;
        Ok(frame)
    }

    /// The data file's column spec.
    pub fn columns(&self) -> Columns {
        let d = &self.file.data;
        Columns {
            id: d.id.clone(),
            input: d.input.clone(),
            expected: d.expected.clone(),
            slice: d.slice.clone(),
            cluster: d.cluster.clone(),
            severity: d
                .severity
                .clone()
                .or_else(|| self.file.severity.as_ref().map(|s| s.field.clone())),
            failure_modes: d.failure_modes.clone(),
            filter: d.filter.clone(),
        }
    }

    /// How calls are executed. Every number is bounded where it enters (item 6: `timeout_s =
    /// 1e20` and `requests_per_second = 1e-300` once panicked in a `Duration` conversion; tests:
    /// the `toml/timeout-*`, `toml/rps-*`, `toml/max-attempts-*` and `toml/concurrency-*` cases
    /// of tests/bad-input, run by tests/bad_input.rs).
    pub fn run_options(&self) -> Result<RunOptions, ConfigError> {
        let r = &self.file.run;
        let mut o = RunOptions::default();
        let count = |key: &str,
                     v: Option<usize>,
                     what: &str|
         -> Result<Option<usize>, ConfigError> {
            match v {
                Some(c) if !(1..=MAX_CONCURRENCY).contains(&c) => Err(self.error(
                    key,
                    format!("{c} is out of range: {what} must be in 1..={MAX_CONCURRENCY}, e.g. 8"),
                )),
                v => Ok(v),
            }
        };
        if let Some(c) = count("run.concurrency", r.concurrency, "arm calls in flight")? {
            o.arm_concurrency = c;
        }
        if let Some(c) = count(
            "run.judge_concurrency",
            r.judge_concurrency,
            "judge calls in flight",
        )? {
            o.judge_concurrency = c;
        }
        if let Some(t) = r.timeout_s {
            if !(t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_S) {
                return Err(self.error(
                    "run.timeout_s",
                    format!(
                        "{t} is out of range: the per-attempt timeout must be a number of seconds in (0, {MAX_TIMEOUT_S}], e.g. timeout_s = 120"
                    ),
                ));
            }
            o.timeout = Duration::from_secs_f64(t);
        }
        if let Some(reason) = &r.accept_underpowered {
            if reason.trim().is_empty() {
                return Err(self.error(
                    "run.accept_underpowered",
                    "is empty: give the reason for going ahead with an underpowered design, e.g. accept_underpowered = \"pilot-sized on purpose: a directional read\"",
                ));
            }
            o.accept_underpowered = Some(reason.trim().to_string());
        }
        if let Some(m) = r.max_attempts {
            if !(1..=MAX_ATTEMPTS).contains(&m) {
                return Err(self.error(
                    "run.max_attempts",
                    format!(
                        "{m} is out of range: attempts per call (the first included) must be in 1..={MAX_ATTEMPTS}, e.g. max_attempts = 5"
                    ),
                ));
            }
            o.max_attempts = m;
        }
        if let Some(h) = r.heartbeat_s {
            if !(h.is_finite() && (1.0..=MAX_TIMEOUT_S).contains(&h)) {
                return Err(self.error(
                    "run.heartbeat_s",
                    format!(
                        "{h} is out of range: seconds without a finished call before progress names the waiting call must be in [1, {MAX_TIMEOUT_S}], e.g. heartbeat_s = 10"
                    ),
                ));
            }
            o.heartbeat = Duration::from_secs_f64(h);
        }
        if let Some(n) = r.cross_judge_rows {
            // G29: enforced here; removing this check fails itera-cli/tests/bad_input.rs::
            // every_bad_input_in_the_corpus_exits_2_naming_the_file_line_or_key (cross-judge-rows-too-few.toml)
            if !(5..=100_000).contains(&n) {
                return Err(self.error(
                    "run.cross_judge_rows",
                    format!(
                        "{n} is out of range: the cross-judge check needs at least 5 rows where the judge sees a difference (G29), at most 100000, e.g. cross_judge_rows = 20"
                    ),
                ));
            }
            o.cross_judge_rows = n;
        }
        if let Some(rps) = r.requests_per_second {
            if !(rps.is_finite() && (MIN_RPS..=MAX_RPS).contains(&rps)) {
                return Err(self.error(
                    "run.requests_per_second",
                    format!(
                        "{rps} is out of range: requests per second must be in [{MIN_RPS}, {MAX_RPS}] (at least one call every 1000 s), e.g. requests_per_second = 2"
                    ),
                ));
            }
            o.requests_per_second = Some(rps);
        }
        if r.tokens_per_minute == Some(0) {
            return Err(self.error(
                "run.tokens_per_minute",
                "0 tokens per minute would never call: give a limit >= 1, or remove the key for no limit",
            ));
        }
        o.tokens_per_minute = r.tokens_per_minute;
        if r.adaptive_concurrency == Some(true) {
            o.adaptive = Some(itera_core::run::adaptive::AdaptiveConcurrency::new());
        }
        Ok(o)
    }
}

/// The longest per-attempt timeout, in seconds (an hour: longer is a hung call).
pub(crate) const MAX_TIMEOUT_S: f64 = 3600.0;
/// The most attempts per call.
pub(crate) const MAX_ATTEMPTS: u32 = 50;
/// The most calls in flight.
pub(crate) const MAX_CONCURRENCY: usize = 1024;
/// The lowest request rate (one call every 1000 s).
pub(crate) const MIN_RPS: f64 = 0.001;
/// The highest request rate.
pub(crate) const MAX_RPS: f64 = 100_000.0;

/// The experiment-file key a frame error is about.
fn frame_key(e: &itera_core::FrameError) -> String {
    use itera_core::FrameError as E;
    match e {
        E::Missing(f) => (*f).to_string(),
        E::BaselineWithoutSource(_) => "arms.source (the baseline's)".into(),
        E::ArmCount(_) | E::DuplicateArm(_) => "arms".into(),
        E::UnknownParent { .. } => "arms.parent".into(),
        E::NoChange(_) => "arms.change".into(),
        E::TooManySecondaries(_) => "metric.secondaries".into(),
        E::BadThreshold(_) => "threshold".into(),
        E::TaxonomySize(_) | E::BadFailureMode { .. } => "failure_modes".into(),
        E::BadSeverity(_) => "severity".into(),
        E::TooFewTrials(_) => "metric.trials".into(),
        E::OutOfRange { field, .. } => (*field).to_string(),
        E::UnknownPriceArm(_) => "arms.price".into(),
        E::BadMajorSlice(_) => "threshold.major_slices".into(),
        _ => "frame".into(),
    }
}

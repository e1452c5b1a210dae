//! [`FrameBuilder`]: builds a [`Frame`] step by step from its three sentences, with the defaults
//! (3 trials, α = 0.05, power 0.8, 30/50/20 split, failed calls score 0, point rule), and
//! validates it in [`FrameBuilder::build`]; a frame without a threshold is refused (G6).

use crate::frame::{
    ArmPlan, Baseline, Effect, FailureMode, FailurePolicy, Frame, FrameError, Metric, ModeRule,
    Price, SeveritySpec, SliceRule, SplitRatios, Threshold, ThresholdRule,
};
use std::collections::BTreeMap;

/// Builds a [`Frame`] step by step; [`FrameBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct FrameBuilder {
    frame: Frame,
    has_threshold: bool,
}

impl FrameBuilder {
    pub(crate) fn new(name: String, question: String, hypothesis: String) -> Self {
        FrameBuilder {
            frame: Frame {
                name,
                question,
                hypothesis,
                baseline: Baseline {
                    id: String::new(),
                    source: String::new(),
                },
                arms: Vec::new(),
                metric: Metric {
                    name: String::new(),
                    scorer: String::new(),
                    rubric: None,
                    secondaries: Vec::new(),
                },
                threshold: Threshold {
                    effect: Effect::AbsolutePp(0.0),
                    rule: ThresholdRule::Point,
                    slice_loss_floor_pp: -2.0,
                },
                major_slices: Vec::new(),
                slice_rule: SliceRule::NonInferiority,
                failure_modes: Vec::new(),
                severity: None,
                trials: 3,
                deterministic: false,
                alpha: 0.05,
                power: 0.8,
                split: SplitRatios::default(),
                seed: 0,
                failure_policy: FailurePolicy::ScoreZero,
                max_failed_share: super::DEFAULT_MAX_FAILED_SHARE,
                synthetic_source: false,
                prices: BTreeMap::new(),
                reuse_test: None,
            },
            has_threshold: false,
        }
    }

    /// The baseline's id and source reference (G2).
    pub fn baseline(mut self, id: impl Into<String>, source: impl Into<String>) -> Self {
        self.frame.baseline = Baseline {
            id: id.into(),
            source: source.into(),
        };
        self
    }

    /// Adds a candidate arm with its parent and one change (G3).
    pub fn arm(
        mut self,
        id: impl Into<String>,
        parent: impl Into<String>,
        change: impl Into<String>,
    ) -> Self {
        self.frame.arms.push(ArmPlan {
            id: id.into(),
            parent: parent.into(),
            change: change.into(),
            negative_control: false,
        });
        self
    }

    /// The primary metric and the scorer id.
    pub fn metric(mut self, name: impl Into<String>, scorer: impl Into<String>) -> Self {
        self.frame.metric.name = name.into();
        self.frame.metric.scorer = scorer.into();
        self
    }

    /// The LLM judge's rubric.
    pub fn rubric(mut self, rubric: impl Into<String>) -> Self {
        self.frame.metric.rubric = Some(rubric.into());
        self
    }

    /// Threshold in absolute percentage points.
    pub fn threshold_pp(mut self, pp: f64) -> Self {
        self.frame.threshold.effect = Effect::AbsolutePp(pp);
        self.has_threshold = true;
        self
    }

    /// Threshold relative to the baseline's score, in percent.
    pub fn threshold_rel_pct(mut self, pct: f64) -> Self {
        self.frame.threshold.effect = Effect::RelativePct(pct);
        self.has_threshold = true;
        self
    }

    /// How R1 reads the threshold.
    pub fn rule(mut self, rule: ThresholdRule) -> Self {
        self.frame.threshold.rule = rule;
        self
    }

    /// The per-slice loss floor in pp (≤ 0).
    pub fn slice_loss_floor_pp(mut self, pp: f64) -> Self {
        self.frame.threshold.slice_loss_floor_pp = pp;
        self
    }

    /// How R3 narrows a ship on slices not shown safe (default [`SliceRule::NonInferiority`]).
    pub fn slice_rule(mut self, rule: SliceRule) -> Self {
        self.frame.slice_rule = rule;
        self
    }

    /// The slices R3 checks (default: all).
    pub fn major_slices<S: Into<String>>(mut self, slices: impl IntoIterator<Item = S>) -> Self {
        self.frame.major_slices = slices.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a failure-mode category.
    pub fn failure_mode(mut self, id: impl Into<String>, weight: f64) -> Self {
        self.frame.failure_modes.push(FailureMode {
            id: id.into(),
            weight,
            description: String::new(),
            rule: None,
        });
        self
    }

    /// A failure-mode category with a rule that assigns it to failed calls from their output.
    pub fn failure_mode_rule(mut self, id: impl Into<String>, weight: f64, rule: ModeRule) -> Self {
        self.frame.failure_modes.push(FailureMode {
            id: id.into(),
            weight,
            description: String::new(),
            rule: Some(rule),
        });
        self
    }

    /// The severity field and cap.
    pub fn severity(mut self, field: impl Into<String>, cap: f64) -> Self {
        self.frame.severity = Some(SeveritySpec {
            field: field.into(),
            cap,
        });
        self
    }

    /// Trials per (arm, row).
    pub fn trials(mut self, k: u32) -> Self {
        self.frame.trials = k;
        self
    }

    /// Declares the arms deterministic (fewer than 3 trials allowed).
    pub fn deterministic(mut self, yes: bool) -> Self {
        self.frame.deterministic = yes;
        self
    }

    /// Significance level.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.frame.alpha = alpha;
        self
    }

    /// Target power.
    pub fn power(mut self, power: f64) -> Self {
        self.frame.power = power;
        self
    }

    /// Split shares.
    pub fn split(mut self, train: f64, dev: f64, test: f64) -> Self {
        self.frame.split = SplitRatios { train, dev, test };
        self
    }

    /// The seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.frame.seed = seed;
        self
    }

    /// The failure policy.
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.frame.failure_policy = policy;
        self
    }

    /// The largest share of an arm's calls in a part that may fail after retries (default 2%,
    /// G31): above it the test set stays sealed, or the decision is withheld.
    pub fn max_failed_share(mut self, share: f64) -> Self {
        self.frame.max_failed_share = share;
        self
    }

    /// Marks the rows as synthetic (G13, G18).
    pub fn synthetic_source(mut self, yes: bool) -> Self {
        self.frame.synthetic_source = yes;
        self
    }

    /// Declares that the test set may hold rows an earlier experiment already opened (G15), and
    /// why. The verdict is then labelled "not a fresh test set" and the self-audit's
    /// fresh-test-set item fails; without it such a split is refused.
    pub fn reuse_test(mut self, reason: impl Into<String>) -> Self {
        self.frame.reuse_test = Some(reason.into());
        self
    }

    /// The price of an arm's tokens.
    pub fn price(
        mut self,
        arm: impl Into<String>,
        input_per_mtok_usd: f64,
        output_per_mtok_usd: f64,
    ) -> Self {
        self.frame.prices.insert(
            arm.into(),
            Price::new(input_per_mtok_usd, output_per_mtok_usd),
        );
        self
    }

    /// The price of an arm's tokens with prompt-cache rates (G28): cache reads and cache
    /// writes billed at their own USD per million tokens.
    pub fn price_with_cache(mut self, arm: impl Into<String>, price: Price) -> Self {
        self.frame.prices.insert(arm.into(), price);
        self
    }

    /// Validates and returns the frame.
    pub fn build(self) -> Result<Frame, FrameError> {
        if !self.has_threshold {
            return Err(FrameError::Missing("threshold"));
        }
        self.frame.validate()?;
        Ok(self.frame)
    }
}

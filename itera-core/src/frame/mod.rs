//! The pre-registered [`Frame`]: question, hypothesis, baseline, 1–3 arms with one change each,
//! metric, threshold and loss floor, slices, failure-mode taxonomy, severity, trials, α, power,
//! split ratios, seed and failure policy — and its validation ([`FrameError`], G2, G3, G5, G6, G9,
//! G10, G25). A frame is built with [`Frame::builder`] or deserialized, and checked by
//! [`Frame::validate`] (which [`crate::Experiment::new`] always calls).
//!
//! This file holds the frame's types and its markdown view; [`FrameBuilder`] is in `builder.rs`,
//! [`FrameError`] and [`Frame::validate`] in `validate.rs` (both re-exported here).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod builder;
mod validate;

pub use self::builder::FrameBuilder;
pub use self::validate::FrameError;

/// The deployed behaviour every arm is compared against (G2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Arm id of the baseline.
    pub id: String,
    /// Where the deployed behaviour lives: `src/x.rs:42`, a URL, a commit.
    pub source: String,
}

/// A candidate arm: its parent (the baseline or an earlier arm) and its ONE change (G3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmPlan {
    /// Arm id.
    pub id: String,
    /// The arm it changes: the baseline's id or an earlier arm's.
    pub parent: String,
    /// The single change, in one sentence.
    pub change: String,
    /// A negative control (G4): expected to show no change.
    #[serde(default)]
    pub negative_control: bool,
}

/// The primary metric and its scorer (G5, G11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name, e.g. "exact-match accuracy".
    pub name: String,
    /// Scorer / judge id, e.g. "exact", "normalized", "llm:gpt-4o".
    pub scorer: String,
    /// The rubric text of an LLM judge (locked by the registration, G8).
    #[serde(default)]
    pub rubric: Option<String>,
    /// At most two secondary metrics.
    #[serde(default)]
    pub secondaries: Vec<String>,
}

/// The effect that justifies shipping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Absolute percentage points, e.g. 5.0 = +5pp.
    AbsolutePp(f64),
    /// Relative to the baseline's score, in percent, e.g. 10.0 = +10% of the baseline.
    RelativePct(f64),
}

impl Effect {
    /// The threshold as a fraction of the score scale, given the baseline's score (a fraction).
    ///
    /// ```
    /// use itera_core::Effect;
    /// assert_eq!(Effect::AbsolutePp(5.0).as_fraction(0.6), 0.05);
    /// assert!((Effect::RelativePct(10.0).as_fraction(0.6) - 0.06).abs() < 1e-12);
    /// ```
    pub fn as_fraction(&self, baseline_score: f64) -> f64 {
        match *self {
            Effect::AbsolutePp(pp) => pp / 100.0,
            Effect::RelativePct(pct) => baseline_score * pct / 100.0,
        }
    }
}

/// How R1 reads the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdRule {
    /// Δ ≥ T and the CI excludes 0.
    #[default]
    Point,
    /// CI lower bound ≥ T.
    CiLower,
}

/// How R3 reads a major slice's three states (safe / harmed / unknown, see
/// [`crate::decide::slices::SliceState`]) when it narrows a ship (G41).
///
/// **The trade-off.** `NonInferiority` (the default, and the method's original rule) ships a slice
/// only when its CI *shows* the loss is within the floor (CI low ≥ F): it never ships a slice on
/// absence of evidence, but at real sample sizes a slice with few test rows cannot show
/// non-inferiority even when the arm helps it, so a uniformly good arm is often shipped narrowly
/// ("not shown safe: n rows, need ≈ N"). `NoSignificantHarm` excludes only slices whose CI shows
/// harm (CI high < 0): it ships to slices it could not check, so a real regression on a small
/// slice goes unnoticed whenever the slice is underpowered — choose it only when small slices
/// are low-stakes and shipping to them un-checked is acceptable. Both rules name every unknown
/// slice in the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SliceRule {
    /// Ship to a major slice only when its CI low ≥ F (excludes harmed and unknown slices).
    #[default]
    NonInferiority,
    /// Ship to every major slice except those whose CI high < 0 (excludes harmed slices only).
    NoSignificantHarm,
}

impl SliceRule {
    /// True for the default: lets the field be skipped when serializing, so the frame hash of an
    /// experiment that does not set it is unchanged.
    pub fn is_default(&self) -> bool {
        *self == SliceRule::NonInferiority
    }

    /// `"non-inferiority"` or `"no-significant-harm"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SliceRule::NonInferiority => "non-inferiority",
            SliceRule::NoSignificantHarm => "no-significant-harm",
        }
    }
}

/// Threshold and per-slice loss floor (G6): read at the verdict only from the registration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The effect that justifies shipping.
    pub effect: Effect,
    /// How R1 applies it.
    #[serde(default)]
    pub rule: ThresholdRule,
    /// No major slice's CI lower bound may fall below this (pp, ≤ 0), e.g. -2.0.
    pub slice_loss_floor_pp: f64,
}

/// One category of the failure-mode taxonomy (G9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureMode {
    /// Category id, e.g. `transfer_as_revenue`.
    pub id: String,
    /// Severity weight (> 0); the heaviest category is the one R4 protects.
    pub weight: f64,
    /// What the category means.
    #[serde(default)]
    pub description: String,
    /// A rule that assigns this category to a failed call from its output, for judges that
    /// assign no category themselves (deterministic scorers). `None`: only a judge assigns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<ModeRule>,
}

/// How a failed call's output is mapped to a failure-mode category without an LLM (R4 needs
/// every failure assigned). A rule applies only to calls the judge scored below 0.5, the same
/// line the failure-mode table draws for rows tagged in the data.
///
/// ```
/// use itera_core::ModeRule;
/// let r: ModeRule = serde_json::from_value(serde_json::json!(
///     {"kind": "regex", "pattern": "(?i)refund"})).unwrap();
/// assert_eq!(r, ModeRule::Regex { pattern: "(?i)refund".into() });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModeRule {
    /// The output is `null`, blank, or an empty array or object.
    EmptyOutput,
    /// The output (as text, trimmed) is not one of these labels.
    NotInLabels {
        /// The legal labels.
        labels: Vec<String>,
    },
    /// The output (as text) matches this regular expression.
    Regex {
        /// The pattern (Rust `regex` syntax).
        pattern: String,
    },
}

/// The per-row severity field and its cap (G10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeveritySpec {
    /// The data column (or row field) holding per-row impact.
    pub field: String,
    /// Severities above the cap count as the cap.
    pub cap: f64,
}

/// Train / dev / test shares (default 30/50/20).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitRatios {
    /// Train share: rows shown in full while iterating.
    pub train: f64,
    /// Dev share: rows scored while iterating (scores only, G17).
    pub dev: f64,
    /// Test share: sealed until the verdict (G15).
    pub test: f64,
}

impl Default for SplitRatios {
    fn default() -> Self {
        SplitRatios {
            train: 0.3,
            dev: 0.5,
            test: 0.2,
        }
    }
}

/// A per-arm price, used when the arm does not report its own cost (G24, G28).
///
/// Prompt-cache tokens have their own rates when set (Anthropic bills cache writes at 1.25× and
/// cache reads at 0.1× the input rate): `Usage::input_tokens` counts *every* prompt token, cached
/// ones included, and [`Price::cost_with_cache`] bills the cache-read and cache-write ones at their rates
/// and the rest at the input rate. Unset cache rates bill cache tokens as plain input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// US dollars per million input (prompt) tokens.
    pub input_per_mtok_usd: f64,
    /// US dollars per million output (completion) tokens.
    pub output_per_mtok_usd: f64,
    /// US dollars per million prompt tokens read from a provider cache (default: the input rate).
    /// Skipped when unset, so registrations without it hash as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_per_mtok_usd: Option<f64>,
    /// US dollars per million prompt tokens written to a provider cache (default: the input rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_mtok_usd: Option<f64>,
    /// The fraction taken off the token price of a call made through a provider's batch API
    /// (in [0, 1); e.g. 0.5 for half price). Unset: the API's published discount (0.5 for
    /// OpenAI Batch and Anthropic Message Batches). Skipped when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_discount: Option<f64>,
}

impl Price {
    /// A price with input and output rates only (cache tokens billed as input).
    pub fn new(input_per_mtok_usd: f64, output_per_mtok_usd: f64) -> Price {
        Price {
            input_per_mtok_usd,
            output_per_mtok_usd,
            cache_read_per_mtok_usd: None,
            cache_write_per_mtok_usd: None,
            batch_discount: None,
        }
    }

    /// The cost of a call with these token counts (no cache tokens).
    ///
    /// ```
    /// let p = itera_core::Price::new(0.5, 1.5);
    /// assert!((p.cost(1_000_000, 2_000_000) - 3.5).abs() < 1e-12);
    /// ```
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_mtok_usd
            + output_tokens as f64 * self.output_per_mtok_usd)
            / 1e6
    }

    /// The cost of a call whose `input_tokens` prompt tokens include `cache_read` tokens read
    /// from and `cache_write` tokens written to a provider cache: those are billed at their own
    /// rates (G28), the rest of the prompt at the input rate.
    ///
    /// ```
    /// use itera_core::Price;
    /// let p = Price { cache_read_per_mtok_usd: Some(0.3), cache_write_per_mtok_usd: Some(3.75),
    ///                 ..Price::new(3.0, 15.0) };
    /// // 2,000 prompt tokens of which 1,500 read from the cache; 100 out.
    /// let want = (500.0 * 3.0 + 1_500.0 * 0.3 + 100.0 * 15.0) / 1e6;
    /// assert!((p.cost_with_cache(2_000, 100, 1_500, 0) - want).abs() < 1e-15);
    /// ```
    pub fn cost_with_cache(
        &self,
        input_tokens: u64,
        output_tokens: u64,
        cache_read: u64,
        cache_write: u64,
    ) -> f64 {
        let plain = input_tokens
            .saturating_sub(cache_read)
            .saturating_sub(cache_write);
        let rate_read = self
            .cache_read_per_mtok_usd
            .unwrap_or(self.input_per_mtok_usd);
        let rate_write = self
            .cache_write_per_mtok_usd
            .unwrap_or(self.input_per_mtok_usd);
        (plain as f64 * self.input_per_mtok_usd
            + cache_read as f64 * rate_read
            + cache_write as f64 * rate_write
            + output_tokens as f64 * self.output_per_mtok_usd)
            / 1e6
    }
}

/// How a call that still fails after retries is scored (G31): never silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicy {
    /// The failed call scores 0 and is counted.
    #[default]
    ScoreZero,
    /// The (arm, row) pair is excluded from comparisons and the count is reported.
    Exclude,
}

/// The default [`Frame::max_failed_share`]: 2% of an arm's calls in a part.
pub const DEFAULT_MAX_FAILED_SHARE: f64 = 0.02;

fn default_max_failed_share() -> f64 {
    DEFAULT_MAX_FAILED_SHARE
}

#[allow(clippy::trivially_copy_pass_by_ref, clippy::float_cmp)] // serde's signature; exact default
fn is_default_max_failed_share(v: &f64) -> bool {
    *v == DEFAULT_MAX_FAILED_SHARE
}

/// The pre-registration. Nothing in it may change after [`crate::Experiment::register`] (G7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Short experiment name (used in directory names).
    pub name: String,
    /// The question, one sentence.
    pub question: String,
    /// The hypothesis, one sentence.
    pub hypothesis: String,
    /// The deployed behaviour.
    pub baseline: Baseline,
    /// 1–3 candidate arms.
    pub arms: Vec<ArmPlan>,
    /// Primary metric and scorer.
    pub metric: Metric,
    /// Threshold, rule and loss floor.
    pub threshold: Threshold,
    /// Slices R3 checks; empty means every slice in the data.
    #[serde(default)]
    pub major_slices: Vec<String>,
    /// How R3 narrows a ship on slices not shown safe ([`SliceRule`], default non-inferiority).
    /// Skipped when default so registrations without it load and hash as before.
    #[serde(default, skip_serializing_if = "SliceRule::is_default")]
    pub slice_rule: SliceRule,
    /// Failure-mode taxonomy: empty, or 3–5 categories.
    #[serde(default)]
    pub failure_modes: Vec<FailureMode>,
    /// Severity field, required when impact varies more than 5× (G10).
    #[serde(default)]
    pub severity: Option<SeveritySpec>,
    /// Trials per (arm, row); ≥ 3 unless `deterministic`.
    pub trials: u32,
    /// The arms are declared deterministic (allows fewer than 3 trials, G25).
    #[serde(default)]
    pub deterministic: bool,
    /// Significance level (CI level is 1 − α).
    pub alpha: f64,
    /// Target power for the power check (G20).
    pub power: f64,
    /// Split shares.
    pub split: SplitRatios,
    /// Seed for the split and per-call seeds (G14).
    pub seed: u64,
    /// How calls that fail after retries are scored (G31).
    pub failure_policy: FailurePolicy,
    /// The largest share of an arm's calls in a part (dev, test) that may still fail after
    /// retries (G31): above it the verdict keeps the test set sealed (dev) or withholds the
    /// decision (test) until the arm is fixed and the run resumed. Default 2%; not serialized at
    /// the default, so frames registered before it existed keep their hash.
    #[serde(
        default = "default_max_failed_share",
        skip_serializing_if = "is_default_max_failed_share"
    )]
    pub max_failed_share: f64,
    /// Rows are synthetic, generated from a known source of truth (G13, G18).
    #[serde(default)]
    pub synthetic_source: bool,
    /// Per-arm prices by arm id, for arms that do not report cost.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
    /// A declared reuse of test rows an earlier experiment already opened (G15), with the reason
    /// why a spent test set is acceptable. Without it a split that would seal a spent row into
    /// test is refused; with it the split goes ahead and the verdict is labelled "not a fresh
    /// test set" everywhere it is shown (and the self-audit's fresh-test-set item fails). Not
    /// serialized when absent, so frames registered before it existed keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_test: Option<String>,
}

impl Frame {
    /// Starts a frame with its three sentences; the builder fills defaults (3 trials, α = 0.05,
    /// power 0.8, 30/50/20 split, failed calls score 0, point rule).
    pub fn builder(
        name: impl Into<String>,
        question: impl Into<String>,
        hypothesis: impl Into<String>,
    ) -> FrameBuilder {
        FrameBuilder::new(name.into(), question.into(), hypothesis.into())
    }

    /// The CI level, 1 − α.
    pub fn ci_level(&self) -> f64 {
        1.0 - self.alpha
    }

    /// Every arm id, baseline first.
    pub fn arm_ids(&self) -> Vec<&str> {
        std::iter::once(self.baseline.id.as_str())
            .chain(self.arms.iter().map(|a| a.id.as_str()))
            .collect()
    }

    /// The heaviest failure-mode category (the one R4 protects), if a taxonomy is registered.
    pub fn highest_severity_mode(&self) -> Option<&FailureMode> {
        self.failure_modes
            .iter()
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
    }

    /// The human-readable registration, written to `frame.md`.
    pub fn to_markdown(&self, frame_hash: &str, registered_at: &str) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Frame: {}\n", self.name);
        let _ = writeln!(
            md,
            "Registered {registered_at} · SHA-256 `{frame_hash}`. This file is a view of \
             `registration.json`; editing either is detected and refused (G7).\n"
        );
        let _ = writeln!(md, "**Question.** {}\n", self.question);
        let _ = writeln!(md, "**Hypothesis.** {}\n", self.hypothesis);
        let _ = writeln!(md, "## Arms\n\n| id | parent | change |\n|---|---|---|");
        let _ = writeln!(
            md,
            "| {} (baseline) | — | deployed: {} |",
            self.baseline.id, self.baseline.source
        );
        for a in &self.arms {
            let control = if a.negative_control {
                " (negative control)"
            } else {
                ""
            };
            let _ = writeln!(md, "| {}{control} | {} | {} |", a.id, a.parent, a.change);
        }
        let (effect, unit) = match self.threshold.effect {
            Effect::AbsolutePp(v) => (v, "pp absolute"),
            Effect::RelativePct(v) => (v, "% relative to the baseline"),
        };
        let rule = match self.threshold.rule {
            ThresholdRule::Point => "Δ ≥ T and the CI excludes 0",
            ThresholdRule::CiLower => "CI lower bound ≥ T",
        };
        let _ = writeln!(md, "\n## Metric and rules\n");
        let _ = writeln!(
            md,
            "- Metric: {} (scorer `{}`)",
            self.metric.name, self.metric.scorer
        );
        if let Some(r) = &self.metric.rubric {
            let _ = writeln!(md, "- Rubric: {r}");
        }
        let _ = writeln!(md, "- Threshold T: +{effect} {unit}; rule: {rule}");
        let _ = writeln!(
            md,
            "- Slice loss floor: {}pp on each major slice's CI lower bound",
            self.threshold.slice_loss_floor_pp
        );
        let majors = if self.major_slices.is_empty() {
            "every slice".to_string()
        } else {
            self.major_slices.join(", ")
        };
        let _ = writeln!(md, "- Major slices: {majors}");
        let _ = writeln!(
            md,
            "- Trials: {}{}; α = {}; power = {}",
            self.trials,
            if self.deterministic {
                " (arms declared deterministic)"
            } else {
                ""
            },
            self.alpha,
            self.power
        );
        let _ = writeln!(
            md,
            "- Split: train {} / dev {} / test {}; seed {}",
            self.split.train, self.split.dev, self.split.test, self.seed
        );
        let _ = writeln!(md, "- Failed calls: {:?}", self.failure_policy);
        if !self.failure_modes.is_empty() {
            let _ = writeln!(
                md,
                "\n## Failure modes\n\n| id | weight | meaning |\n|---|---|---|"
            );
            for fm in &self.failure_modes {
                let _ = writeln!(md, "| {} | {} | {} |", fm.id, fm.weight, fm.description);
            }
        }
        if let Some(sev) = &self.severity {
            let _ = writeln!(
                md,
                "\nSeverity field `{}`, capped at {}.",
                sev.field, sev.cap
            );
        }
        md
    }
}

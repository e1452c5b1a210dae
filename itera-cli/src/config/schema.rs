//! The experiment file's TOML schema: one struct per table (`[experiment]`, `[data]`,
//! `[split]`, `[metric]` with its LLM judges, `[threshold]`, `[[failure_modes]]`, `[severity]`,
//! `[run]`, `[[arms]]`), every one `deny_unknown_fields` so a typo is an error naming the key.
//! The arm kinds' own tables are the library's built-in configurations
//! ([`itera_core::builtin`]).

use itera_core::builtin::anthropic::AnthropicArmConfig;
use itera_core::builtin::command::CommandConfig;
use itera_core::builtin::http::OpenAiArmConfig;
use itera_core::builtin::llm_judge::LlmJudgeConfig;
use itera_core::builtin::replay::ReplayConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole experiment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// `[experiment]`: the three sentences, seed, α, power.
    pub experiment: ExperimentSection,
    /// `[data]`: the rows.
    pub data: DataSection,
    /// `[split]`: train/dev/test shares.
    #[serde(default)]
    pub split: Option<SplitSection>,
    /// `[metric]`: the primary metric, its scorer and trials.
    pub metric: MetricSection,
    /// `[threshold]`: the effect that justifies shipping and the slice loss floor.
    pub threshold: ThresholdSection,
    /// `[[failure_modes]]`: the taxonomy (3–5 categories, or none).
    #[serde(default)]
    pub failure_modes: Vec<FailureModeSection>,
    /// `[severity]`: the per-row impact field and its cap.
    #[serde(default)]
    pub severity: Option<SeveritySection>,
    /// `[run]`: concurrency, timeouts, retries, rate limits, failure policy.
    #[serde(default)]
    pub run: RunSection,
    /// `[[arms]]`: the baseline and 1–3 candidates.
    #[serde(default)]
    pub arms: Vec<ArmSection>,
}

/// `[experiment]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// Short name (used in the directory name).
    pub name: String,
    /// The question, one sentence.
    pub question: String,
    /// The hypothesis, one sentence.
    pub hypothesis: String,
    /// Seed of the split and of per-call seeds.
    #[serde(default)]
    pub seed: u64,
    /// Significance level (default 0.05).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Target power (default 0.8).
    #[serde(default)]
    pub power: Option<f64>,
    /// Arms return the same output for the same input (default: true iff every arm is a replay).
    #[serde(default)]
    pub deterministic: Option<bool>,
    /// Rows are synthetic, generated from a known source of truth (G13, G18).
    #[serde(default)]
    pub synthetic_source: bool,
    /// `reuse_test = "reason"`: the test set may hold rows an earlier experiment already opened
    /// (G15); the verdict is then labelled "not a fresh test set". Without it such a split is
    /// refused (exit 2).
    #[serde(default)]
    pub reuse_test: Option<String>,
}

/// `[data]`: the file and its columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// CSV or JSONL file, relative to the experiment file.
    pub path: String,
    /// Id column(s); several are joined with `/`.
    #[serde(deserialize_with = "itera_core::data::load::one_or_many")]
    pub id: Vec<String>,
    /// Input column(s); several make a JSON object.
    #[serde(deserialize_with = "itera_core::data::load::one_or_many")]
    pub input: Vec<String>,
    /// Ground-truth column.
    #[serde(default)]
    pub expected: Option<String>,
    /// Slice column.
    #[serde(default)]
    pub slice: Option<String>,
    /// Cluster column.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Severity column (default: `[severity] field` when that is set).
    #[serde(default)]
    pub severity: Option<String>,
    /// Failure-mode tags column (`|`- or `;`-separated).
    #[serde(default)]
    pub failure_modes: Option<String>,
    /// Keep only lines whose column equals the value.
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
}

/// `[split]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSection {
    /// Train share.
    pub train: f64,
    /// Dev share.
    pub dev: f64,
    /// Test share.
    pub test: f64,
}

/// `[metric]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSection {
    /// Metric name.
    pub name: String,
    /// Scorer id: a built-in judge (`exact`, `normalized`, `set`, `regex`, `numeric`,
    /// `json-field`), `recorded`, or `llm`.
    pub scorer: String,
    /// Scorer options (e.g. `{ pattern = "..." }` for `regex`, `{ min = 1, max = 2 }` for
    /// `recorded`).
    #[serde(default)]
    pub options: Option<toml::Table>,
    /// Trials per (arm, row) (default 3, or 1 when deterministic).
    #[serde(default)]
    pub trials: Option<u32>,
    /// Up to two secondary metric names.
    #[serde(default)]
    pub secondaries: Vec<String>,
    /// The LLM judge's rubric text (locked by the registration).
    #[serde(default)]
    pub rubric: Option<String>,
    /// The LLM judge (scorer = "llm").
    #[serde(default)]
    pub llm: Option<LlmJudgeConfig>,
    /// A second LLM judge of another model family, for the cross-judge check (G29).
    #[serde(default)]
    pub second_judge: Option<LlmJudgeConfig>,
}

/// `[threshold]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSection {
    /// Absolute threshold in percentage points.
    #[serde(default)]
    pub min_effect_pp: Option<f64>,
    /// Relative threshold in percent of the baseline's score.
    #[serde(default)]
    pub min_effect_rel_pct: Option<f64>,
    /// `"point"` (default) or `"ci-lower"`.
    #[serde(default)]
    pub rule: Option<String>,
    /// Per-slice loss floor in pp (≤ 0), default -2.0.
    #[serde(default)]
    pub slice_loss_floor_pp: Option<f64>,
    /// Slices R3 checks (default: every slice).
    #[serde(default)]
    pub major_slices: Vec<String>,
    /// `"non-inferiority"` (default) or `"no-significant-harm"` (see `itera_core::SliceRule`).
    #[serde(default)]
    pub slice_rule: Option<itera_core::frame::SliceRule>,
}

/// `[[failure_modes]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureModeSection {
    /// Category id.
    pub id: String,
    /// Severity weight (> 0).
    pub weight: f64,
    /// What it means.
    #[serde(default)]
    pub description: String,
    /// `rule = { kind = "empty_output" | "not_in_labels" | "regex", ... }`: assigns this
    /// category to failed calls from their output (for deterministic scorers).
    #[serde(default)]
    pub rule: Option<itera_core::ModeRule>,
}

/// `[severity]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeveritySection {
    /// The per-row impact field (the data column, unless `[data] severity` names another).
    pub field: String,
    /// Values above the cap count as the cap.
    pub cap: f64,
}

/// `[run]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Arm calls in flight (default 8).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Judge calls in flight (default 8).
    #[serde(default)]
    pub judge_concurrency: Option<usize>,
    /// Per-attempt timeout in seconds (default 120).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Attempts per call, the first included (default 5).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Seconds without a finished call after which progress names the call waiting longest
    /// (default 10).
    #[serde(default)]
    pub heartbeat_s: Option<f64>,
    /// Dev rows the cross-judge check samples where the primary judge sees a difference
    /// (default 20, at least 5; G29).
    #[serde(default)]
    pub cross_judge_rows: Option<usize>,
    /// Arm requests per second.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Arm tokens per minute.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// Adaptive concurrency (AIMD per arm, at most `concurrency`): halves on 429/503/529 and on
    /// latency growth, grows back on successes (default false: a fixed `concurrency`).
    #[serde(default)]
    pub adaptive_concurrency: Option<bool>,
    /// `"score-zero"` (default) or `"exclude"`: how a call failing after retries is scored.
    #[serde(default)]
    pub failure_policy: Option<String>,
    /// The largest share of an arm's calls in a part that may fail after retries (default 0.02):
    /// above it the test set stays sealed / the decision is withheld (registered, G31).
    #[serde(default)]
    pub max_failed_share: Option<f64>,
    /// Go ahead although the design is underpowered for T or a major slice, for this reason
    /// (G20; journaled, shown in conclusion.md, and the self-audit's power item fails). Without
    /// it an underpowered design is refused before the test set opens. Not part of the
    /// registration; `--accept-underpowered REASON` on `run`/`verdict` overrides it.
    #[serde(default)]
    pub accept_underpowered: Option<String>,
    /// A label audit a reviewer already did on this experiment's seeded sample (G18; `itera
    /// label-audit DIR` shows it): recorded before the seal of a synthetic source, so a re-run
    /// in a new directory needs no second review. Not part of the registration.
    #[serde(default)]
    pub label_audit: Option<LabelAuditSection>,
}

/// `[run.label_audit]`: how many of the shown sample's labels the reviewer confirmed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelAuditSection {
    /// Labels the reviewer found right.
    pub agreed: usize,
    /// Rows reviewed: the size of the sample `itera label-audit` shows.
    pub reviewed: usize,
}

/// `price = { ... }` of an arm.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSection {
    /// USD per million input tokens.
    pub input_per_mtok_usd: f64,
    /// USD per million output tokens.
    pub output_per_mtok_usd: f64,
    /// USD per million prompt tokens read from a provider cache (default: the input rate).
    #[serde(default)]
    pub cache_read_per_mtok_usd: Option<f64>,
    /// USD per million prompt tokens written to a provider cache (default: the input rate).
    #[serde(default)]
    pub cache_write_per_mtok_usd: Option<f64>,
    /// The fraction off the price of a call made through a provider's batch API, in [0, 1)
    /// (default: the provider's published discount, 0.5).
    #[serde(default)]
    pub batch_discount: Option<f64>,
}

/// `[[arms]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSection {
    /// Arm id.
    pub id: String,
    /// The deployed behaviour (exactly one arm).
    #[serde(default)]
    pub baseline: bool,
    /// Where the deployed behaviour lives (baseline only).
    #[serde(default)]
    pub source: Option<String>,
    /// The arm it changes (candidates; default: the baseline).
    #[serde(default)]
    pub parent: Option<String>,
    /// Its one change (candidates).
    #[serde(default)]
    pub change: Option<String>,
    /// A negative control (G4).
    #[serde(default)]
    pub negative_control: bool,
    /// Model family (for the cross-judge rule), for replay and command arms.
    #[serde(default)]
    pub family: Option<String>,
    /// Token prices, for arms that report tokens but not cost.
    #[serde(default)]
    pub price: Option<PriceSection>,
    /// Recorded outputs.
    #[serde(default)]
    pub replay: Option<ReplayConfig>,
    /// A subprocess speaking JSON lines.
    #[serde(default)]
    pub command: Option<CommandConfig>,
    /// An OpenAI-compatible endpoint.
    #[serde(default)]
    pub openai: Option<OpenAiArmConfig>,
    /// Anthropic's Messages API (`anthropic = { ... }`, or an `[arms.anthropic]` table).
    #[serde(default)]
    pub anthropic: Option<AnthropicArmConfig>,
}

impl ArmSection {
    /// `"replay"`, `"command"`, `"openai"` or `"anthropic"` (the first one set).
    pub fn kind(&self) -> Option<&'static str> {
        if self.replay.is_some() {
            Some("replay")
        } else if self.command.is_some() {
            Some("command")
        } else if self.openai.is_some() {
            Some("openai")
        } else if self.anthropic.is_some() {
            Some("anthropic")
        } else {
            None
        }
    }
}

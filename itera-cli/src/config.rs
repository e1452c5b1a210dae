//! The experiment file: its TOML schema ([`ExperimentFile`]), how it is read (every table
//! `deny_unknown_fields`, paths relative to the file) and how it becomes the library's
//! [`Frame`], [`Columns`] and [`RunOptions`]. Every error names the file, the key and the fix
//! ([`ConfigError`]); `itera init` writes a commented file documenting every key.

use crate::command::CommandConfig;
use crate::llm_judge::LlmJudgeConfig;
use crate::openai::OpenAiArmConfig;
use crate::replay::ReplayConfig;
use itera_core::data::load::Columns;
use itera_core::{
    ArmPlan, Baseline, Effect, FailureMode, FailurePolicy, Frame, Metric, Price, RunOptions,
    SeveritySpec, SplitRatios, Threshold, ThresholdRule,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A bad experiment file: the file, the key, what is wrong and the fix. Always exit code 2.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The experiment file.
    pub file: PathBuf,
    /// The key (e.g. `arms[1].replay.path`), when known.
    pub key: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{}: {}: {}", self.file.display(), k, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

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
    /// Arm requests per second.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Arm tokens per minute.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// `"score-zero"` (default) or `"exclude"`: how a call failing after retries is scored.
    #[serde(default)]
    pub failure_policy: Option<String>,
}

/// `price = { ... }` of an arm.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSection {
    /// USD per million input tokens.
    pub input_per_mtok_usd: f64,
    /// USD per million output tokens.
    pub output_per_mtok_usd: f64,
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
}

impl ArmSection {
    /// `"replay"`, `"command"` or `"openai"` (the first one set).
    pub fn kind(&self) -> Option<&'static str> {
        if self.replay.is_some() {
            Some("replay")
        } else if self.command.is_some() {
            Some("command")
        } else if self.openai.is_some() {
            Some("openai")
        } else {
            None
        }
    }
}

/// An experiment file, read and checked: the parsed schema, the raw arm tables (kept to record
/// versions), the file's bytes and hash, and the directory relative paths start from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file as given.
    pub path: PathBuf,
    /// The directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// The file's text.
    pub text: String,
    /// SHA-256 of the text.
    pub sha256: String,
    /// The parsed file.
    pub file: ExperimentFile,
    /// The raw `[[arms]]` tables, same order.
    pub raw_arms: Vec<toml::Value>,
}

impl Loaded {
    /// Reads and parses an experiment file (paths relative to it).
    pub fn read(path: &Path) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            key: None,
            message: format!("cannot read the experiment file: {e}; check the path"),
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Loaded::parse(path, &base_dir, text)
    }

    /// Parses experiment text; `base_dir` resolves relative paths.
    pub fn parse(path: &Path, base_dir: &Path, text: String) -> Result<Loaded, ConfigError> {
        let err = |message: String| ConfigError {
            file: path.to_path_buf(),
            key: None,
            message,
        };
        let file: ExperimentFile = toml::from_str(&text).map_err(|e| {
            err(format!(
                "{}fix the key or value (`itera init` writes a file documenting every key)",
                e.to_string().trim_start_matches("TOML parse error ")
            ))
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        let raw_arms = match table.get("arms") {
            Some(toml::Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let sha256 = crate::hex_sha256(text.as_bytes());
        let loaded = Loaded {
            path: path.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            text,
            sha256,
            file,
            raw_arms,
        };
        loaded.check()?;
        Ok(loaded)
    }

    /// An error about `key` in this file.
    pub fn error(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// A path from the file, resolved against its directory.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// Structural checks the frame does not make: arms, baseline, arm kinds, paths.
    fn check(&self) -> Result<(), ConfigError> {
        let f = &self.file;
        if f.arms.is_empty() {
            return Err(self.error(
                "arms",
                "no [[arms]] given: add the baseline (baseline = true, source = \"...\") and 1 to 3 candidate arms",
            ));
        }
        let baselines: Vec<&str> = f
            .arms
            .iter()
            .filter(|a| a.baseline)
            .map(|a| a.id.as_str())
            .collect();
        match baselines.len() {
            0 => {
                return Err(self.error(
                    "arms.baseline",
                    "no arm has baseline = true: mark the deployed behaviour as the baseline",
                ));
            }
            1 => {}
            _ => {
                return Err(self.error(
                    "arms.baseline",
                    format!(
                        "{} arms have baseline = true ({}): exactly one arm is the deployed behaviour; set baseline = true on one of them only",
                        baselines.len(),
                        baselines.join(", ")
                    ),
                ));
            }
        }
        for (i, arm) in f.arms.iter().enumerate() {
            let key = format!("arms[{i}] (id \"{}\")", arm.id);
            let kinds = [
                arm.replay.is_some(),
                arm.command.is_some(),
                arm.openai.is_some(),
            ]
            .iter()
            .filter(|k| **k)
            .count();
            if kinds != 1 {
                return Err(self.error(
                    key,
                    format!(
                        "{kinds} arm kinds given: give exactly one of replay = {{...}}, command = {{...}}, openai = {{...}}"
                    ),
                ));
            }
            if arm.baseline && (arm.parent.is_some() || arm.change.is_some()) {
                return Err(self.error(
                    format!("{key}.parent"),
                    "the baseline has no parent and no change: remove them (or remove baseline = true)",
                ));
            }
            if !arm.baseline && arm.source.is_some() {
                return Err(self.error(
                    format!("{key}.source"),
                    "only the baseline carries a source reference; describe a candidate with parent and change",
                ));
            }
            if !arm.baseline && arm.change.as_deref().is_none_or(|c| c.trim().is_empty()) {
                return Err(self.error(
                    format!("{key}.change"),
                    "a candidate arm states its ONE change versus its parent (G3): add change = \"...\"",
                ));
            }
            if let Some(r) = &arm.replay {
                let p = self.resolve(&r.path);
                if !p.is_file() {
                    return Err(self.error(
                        format!("{key}.replay.path"),
                        format!(
                            "{} does not exist: paths are relative to the experiment file",
                            p.display()
                        ),
                    ));
                }
            }
        }
        let data = self.resolve(&f.data.path);
        if !data.is_file() {
            return Err(self.error(
                "data.path",
                format!(
                    "{} does not exist: paths are relative to the experiment file",
                    data.display()
                ),
            ));
        }
        if f.threshold.min_effect_pp.is_some() == f.threshold.min_effect_rel_pct.is_some() {
            return Err(self.error(
                "threshold",
                "give exactly one of min_effect_pp (absolute pp) or min_effect_rel_pct (% of the baseline)",
            ));
        }
        Ok(())
    }

    /// Whether every arm is a replay (then `deterministic` defaults to true).
    pub fn all_replay(&self) -> bool {
        self.file.arms.iter().all(|a| a.replay.is_some())
    }

    /// The baseline arm.
    pub fn baseline(&self) -> &ArmSection {
        self.file
            .arms
            .iter()
            .find(|a| a.baseline)
            .unwrap_or(&self.file.arms[0])
    }

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
            synthetic_source: f.experiment.synthetic_source,
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

    /// How calls are executed.
    pub fn run_options(&self) -> Result<RunOptions, ConfigError> {
        let r = &self.file.run;
        let mut o = RunOptions::default();
        if let Some(c) = r.concurrency {
            if c == 0 {
                return Err(self.error("run.concurrency", "must be at least 1"));
            }
            o.arm_concurrency = c;
        }
        if let Some(c) = r.judge_concurrency {
            if c == 0 {
                return Err(self.error("run.judge_concurrency", "must be at least 1"));
            }
            o.judge_concurrency = c;
        }
        if let Some(t) = r.timeout_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(self.error("run.timeout_s", "must be a number of seconds > 0"));
            }
            o.timeout = Duration::from_secs_f64(t);
        }
        if let Some(m) = r.max_attempts {
            if m == 0 {
                return Err(self.error("run.max_attempts", "must be at least 1"));
            }
            o.max_attempts = m;
        }
        if let Some(rps) = r.requests_per_second {
            if !(rps.is_finite() && rps > 0.0) {
                return Err(self.error("run.requests_per_second", "must be a number > 0"));
            }
            o.requests_per_second = Some(rps);
        }
        o.tokens_per_minute = r.tokens_per_minute;
        Ok(o)
    }
}

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

//! The report model: everything `data.json` holds, from which `conclusion.md` and the three
//! charts are drawn. Deltas and scores are fractions (0.089 = 8.9pp). `test_row_ids` is revealed
//! only here, with the verdict, so anyone can recompute every number independently.

pub use crate::decide::rules::EffectSize;
pub use crate::decide::slices::{SliceState, SliceStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The experiment as registered, with the sizes that were run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentInfo {
    /// Name.
    pub name: String,
    /// The question, verbatim.
    pub question: String,
    /// The hypothesis, verbatim.
    pub hypothesis: String,
    /// Primary metric name.
    pub metric: String,
    /// Scorer / judge id.
    pub scorer: String,
    /// The threshold T as applied, in absolute pp (a relative threshold is converted with the
    /// baseline's test score).
    pub threshold_pp: f64,
    /// The per-slice loss floor F in pp.
    pub slice_loss_floor_pp: f64,
    /// The threshold rule in words.
    pub threshold_rule: String,
    /// `"point"` or `"ci-lower"`.
    pub rule: String,
    /// The CI method used for effects (e.g. `"paired-t"`, `"cluster-t"`).
    pub ci_method: String,
    /// The CI level, e.g. 0.95.
    pub ci_level: f64,
    /// With k > 1 candidate arms on test: the level of every arm's aggregate CI, 1 − α/k
    /// (Bonferroni, so the family-wise false-ship rate stays ≤ α/2; slice CIs stay at `ci_level`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_ci_level: Option<f64>,
    /// The registered slice rule, `"non-inferiority"` (default) or `"no-significant-harm"`.
    #[serde(default = "default_slice_rule")]
    pub slice_rule: String,
    /// Sealed test rows.
    pub test_n: usize,
    /// Dev rows.
    pub dev_n: usize,
    /// Trials per (arm, row).
    pub trials_per_arm: u32,
    /// The split seed.
    pub seed: u64,
    /// SHA-256 of the registered frame.
    pub frame_hash: String,
    /// SHA-256 of the rows.
    pub data_hash: String,
}

/// Token totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Tokens {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
}

/// One arm as it reached the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmInfo {
    /// Arm id.
    pub id: String,
    /// Display name (the id unless given).
    pub name: String,
    /// The baseline.
    pub baseline: bool,
    /// Parent arm id (candidates).
    pub parent: Option<String>,
    /// The registered change (candidates).
    pub change: Option<String>,
    /// The version that ran on test (the locked one).
    pub version: u32,
    /// Steady-state cost per 1,000 rows on test, USD, when known (G28).
    pub cost_per_1k_usd: Option<f64>,
    /// Test token totals.
    pub tokens: Tokens,
    /// Mean latency per call on test, ms: send → reply, with the network and any queueing inside
    /// the endpoint, without itera's own queue.
    pub latency_ms_mean: f64,
    /// Mean wait per call in itera's own queue (rate limits, adaptive slot) on test, ms; absent
    /// when no call waited (#19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms_mean: Option<f64>,
    /// Mean processing time the endpoint reported per call on test, ms; absent when it reported
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms_mean: Option<f64>,
    /// Killed by the gate (never ran on test).
    pub killed: bool,
    /// The cold calls on test — they wrote the provider's prompt cache and read none of it —
    /// shown apart from the steady-state `cost_per_1k_usd` (G28). Absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold: Option<ColdCalls>,
}

/// Calls that paid for writing a prompt cache (G28): counted and priced apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdCalls {
    /// How many calls on test were cold.
    pub calls: usize,
    /// Their known cost, USD.
    pub cost_usd: f64,
}

/// One slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceInfo {
    /// Slice id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Dev rows.
    pub dev_n: usize,
    /// Test rows.
    pub test_n: usize,
    /// Whether R3 checks it.
    pub major: bool,
}

/// A category of the taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeInfo {
    /// Category id.
    pub id: String,
    /// Severity weight.
    pub weight: f64,
}

/// Failure modes on test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureModes {
    /// The registered taxonomy.
    pub taxonomy: Vec<ModeInfo>,
    /// The heaviest category (R4), if any.
    pub highest: Option<String>,
    /// Per arm, per category: test rows failed in that category.
    pub test_counts: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Severity-weighted scores (G10, R5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityInfo {
    /// The severity field.
    pub field: String,
    /// Its cap.
    pub cap: f64,
    /// Per arm: severity-weighted test score.
    pub weighted_scores: BTreeMap<String, f64>,
    /// Per arm: unweighted test score.
    pub unweighted_scores: BTreeMap<String, f64>,
}

/// A mean with its SD across trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Mean over rows of per-row means.
    pub mean: f64,
    /// SD of the aggregate across trials.
    pub sd: f64,
    /// Rows.
    pub n: usize,
}

/// One arm's effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmEffects {
    /// Over every test row.
    pub aggregate: EffectSize,
    /// Per slice.
    pub per_slice: BTreeMap<String, EffectSize>,
}

/// The decision as `data.json` states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictInfo {
    /// The decision — the same type as [`Verdict::decision`](crate::decide::rules::Verdict), written
    /// to `data.json` as `"ship"`, `"ship-narrowly"`, `"kill"` or `"inconclusive"` (the bytes a
    /// string field wrote; pinned by `decision_is_written_as_the_same_kebab_case_string`).
    pub decision: crate::journal::record::Decision,
    /// The arm shipped (or narrowly shipped), if any.
    pub arm: Option<String>,
    /// Slices the claim covers (ship narrowly), or every slice (ship).
    pub slices: Vec<String>,
    /// Major slices the claim excludes: harmed, and (under non-inferiority) unknown.
    pub failing_slices: Vec<String>,
    /// Major slices shown harmed (CI upper bound < 0): the only ones called "regressed".
    #[serde(default)]
    pub harmed_slices: Vec<String>,
    /// Major slices not shown safe nor harmed, with their test rows and the rows the per-slice
    /// planner says would show them safe ("not shown safe: n rows, need ≈ N").
    #[serde(default)]
    pub unknown_slices: Vec<SliceStatus>,
    /// Arms killed (by the gate or the rules).
    pub killed: Vec<String>,
    /// Why the verdict is inconclusive, if it is.
    pub inconclusive_reason: Option<String>,
    /// The rationale generated from the rule trace.
    pub rationale: String,
    /// |Δ_dev − Δ_test| > 2σ for the decided arm (G44).
    pub overfit_alarm: bool,
    /// "not a fresh test set: …" when the registration declared `reuse_test` (G15): the test
    /// rows may have been opened by an earlier experiment. Absent for a fresh test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_fresh_test_set: Option<String>,
}

fn default_slice_rule() -> String {
    "non-inferiority".into()
}

/// Everything in `data.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The experiment.
    pub experiment: ExperimentInfo,
    /// Arms, baseline first.
    pub arms: Vec<ArmInfo>,
    /// Slices.
    pub slices: Vec<SliceInfo>,
    /// Failure modes.
    pub failure_modes: FailureModes,
    /// Severity, if registered.
    pub severity: Option<SeverityInfo>,
    /// Per arm: the dev aggregate of each trial (the noise floor's raw numbers).
    pub variance_trials: BTreeMap<String, Vec<f64>>,
    /// Per arm: dev score, mean ± SD across trials.
    pub dev_aggregate: BTreeMap<String, Aggregate>,
    /// Per arm: test score, mean ± SD across trials.
    pub test_aggregate: BTreeMap<String, Aggregate>,
    /// Per arm, per slice: test score.
    pub test_per_slice: BTreeMap<String, BTreeMap<String, f64>>,
    /// Per candidate arm: effects vs the baseline on test.
    pub effect_sizes: BTreeMap<String, ArmEffects>,
    /// Per arm: noise SD σ (dev).
    pub noise_sd: BTreeMap<String, f64>,
    /// The verdict.
    pub verdict: VerdictInfo,
    /// The sealed test rows' ids, revealed with the verdict.
    pub test_row_ids: Vec<String>,
    /// Per arm that went to test: its calls on dev and test — failed after retries, retried,
    /// excluded (G31: failed calls are never silent).
    #[serde(default)]
    pub calls: BTreeMap<String, super::calls::ArmCalls>,
    /// The power check before the test pass (G20), as journaled; absent in reports written
    /// before it was recorded here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerInfo>,
    /// An LLM judge: its cost (apart from the arms'), the second judge's, and the cross-judge
    /// check (G29). Absent for a deterministic judge and in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<super::JudgeInfo>,
}

/// The power check before the test pass (G20) in `data.json`: per arm (SE expected on test, MDE,
/// powered for T), per arm and major slice (rows needed vs test rows), and the caller's reason
/// when an underpowered design was accepted explicitly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerInfo {
    /// Every arm and major slice powered.
    pub powered: bool,
    /// The reason an underpowered design went ahead (`None` when powered).
    pub accepted: Option<String>,
    /// Per arm: (arm, SE expected on test, minimum detectable effect, powered for T).
    pub arms: Vec<(String, f64, f64, bool)>,
    /// Per arm and major slice.
    pub slices: Vec<crate::journal::event::SlicePower>,
}

/// Why a finished experiment's report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `data.json` is missing or unreadable.
    #[error(
        "cannot read {path}: {source}; is this a finished experiment directory (it has a verdict)?"
    )]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `data.json` is not a report.
    #[error("{path} is not an itera data.json: {why}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        why: String,
    },
}

impl VerdictInfo {
    /// The excluded slices in words: "X (regressed)" for a harmed slice, "X (not shown safe: n
    /// rows, need ≈ N)" for an unknown one.
    pub fn excluded_words(&self) -> Vec<String> {
        crate::decide::slices::excluded_words(&self.failing_slices, &self.unknown_slices)
    }

    /// Slices the claim covers without their being shown safe (no-significant-harm rule), in
    /// words.
    pub fn shipped_unknown_words(&self) -> Vec<String> {
        self.unknown_slices
            .iter()
            .filter(|u| self.slices.contains(&u.slice))
            .map(SliceStatus::words)
            .collect()
    }
}

impl ReportData {
    /// Loads `data.json` from a finished experiment directory — for `cargo test` assertions on a
    /// verdict:
    ///
    /// ```no_run
    /// let report = itera_core::report::ReportData::load("experiments/2026-11-25-txn").unwrap();
    /// assert_eq!(report.verdict.decision, itera_core::Decision::Ship);
    /// let smb = report.effect("v2", Some("smb")).unwrap();
    /// assert!(smb.ci_low >= report.experiment.slice_loss_floor_pp / 100.0);
    /// ```
    pub fn load(dir: impl AsRef<std::path::Path>) -> Result<ReportData, ReportError> {
        let path = dir.as_ref().join(super::DATA_FILE);
        let bytes = std::fs::read(&path).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ReportError::Parse {
            path,
            why: e.to_string(),
        })
    }

    /// An arm's effect vs the baseline on test: the aggregate (`slice = None`) or one slice's.
    pub fn effect(&self, arm: &str, slice: Option<&str>) -> Option<EffectSize> {
        let effects = self.effect_sizes.get(arm)?;
        match slice {
            None => Some(effects.aggregate),
            Some(s) => effects.per_slice.get(s).copied(),
        }
    }

    /// The candidate arms that ran on test, in order.
    pub fn candidates(&self) -> impl Iterator<Item = &ArmInfo> {
        self.arms.iter().filter(|a| !a.baseline && !a.killed)
    }

    /// The baseline.
    pub fn baseline(&self) -> Option<&ArmInfo> {
        self.arms.iter().find(|a| a.baseline)
    }
}

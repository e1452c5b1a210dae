//! The plain records that later phases hand to the journal: a call's token usage, an arm
//! version's key, the generalization gate's report (G35), an iteration's outcome (G33) and the
//! verdict's decision (R1–R5). They live here, below the phases that produce them, so the journal
//! depends on nothing above it; each phase re-exports the records it writes.

use crate::data::row::RowId;
use crate::data::split::Part;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---- the usage of one call (reported by arms, priced by the runner) ----

/// Token usage and cost of one call, as far as the arm knows them. `None` means "not reported",
/// never zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, all of them: cache reads and writes included (OpenAI's `prompt_tokens`;
    /// the `anthropic` arm adds its cache counts to Anthropic's uncached `input_tokens`), so arms
    /// of different providers compare (G28; `Price::cost_with_cache` bills the cached part apart).
    pub input_tokens: Option<u64>,
    /// Completion tokens.
    pub output_tokens: Option<u64>,
    /// Prompt tokens read from a provider cache (kept apart for steady-state cost, G28).
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to a provider cache.
    pub cache_write_tokens: Option<u64>,
    /// Cost in US dollars, when the arm knows it (otherwise the runner prices tokens).
    pub cost_usd: Option<f64>,
    /// The output was cut at the token limit (Anthropic's `stop_reason = "max_tokens"`): the
    /// runner tags a failed call with the registered failure mode `truncated` when the taxonomy
    /// has one. Absent (false) in journals written before it existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The longest raw judge reply journaled, in characters (longer replies are cut, marked `…`).
pub const JUDGE_RAW_MAX_CHARS: usize = 2000;

/// One LLM judge call, journaled like an arm call (G24 for judges): its raw reply (bounded to
/// [`JUDGE_RAW_MAX_CHARS`]), tokens, cost and latency. The judge's cost is part of the
/// experiment's, shown apart from the arms'.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JudgeCall {
    /// The judge's id.
    pub judge: String,
    /// The raw reply, as far as the judge reports it (cut to [`JUDGE_RAW_MAX_CHARS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Token usage as the judge reports it.
    #[serde(default)]
    pub usage: Usage,
    /// Cost in USD: reported by the judge or priced from the frame's price for the judge's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Latency of the last attempt in ms.
    #[serde(default)]
    pub latency_ms: f64,
    /// Attempts made, the first included.
    #[serde(default)]
    pub attempts: u32,
}

impl JudgeCall {
    /// Cuts a raw reply to [`JUDGE_RAW_MAX_CHARS`].
    pub(crate) fn bounded(raw: Option<String>) -> Option<String> {
        raw.map(|r| match r.char_indices().nth(JUDGE_RAW_MAX_CHARS) {
            Some((i, _)) => format!("{}…", &r[..i]),
            None => r,
        })
    }
}

/// A second judge's call in the cross-judge check (G29): which output it scored and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondJudgeCall {
    /// The dev row.
    pub row: RowId,
    /// The arm whose output was scored (the baseline or the candidate).
    pub arm: String,
    /// The trial of that output.
    pub trial: u32,
    /// The score, or `None` when the call failed.
    #[serde(default)]
    pub score: Option<f64>,
    /// The error, when the call failed after its retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The call.
    pub call: JudgeCall,
}

/// An arm version in the cube.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmKey {
    /// Arm id.
    pub arm: String,
    /// Version (0 = as registered).
    pub version: u32,
    /// SHA-256 of the version's spec.
    pub spec_hash: String,
}

/// The most item errors a `batch-done` event keeps (the rest are counted in `failed`).
pub const BATCH_ERRORS_KEPT: usize = 50;

/// One request of a provider batch: the (row, trial) it answers (issue #18 item 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// The row.
    pub row: crate::data::row::RowId,
    /// The trial.
    pub trial: u32,
}

// ---- the gate (G35) ----

/// How a change generalizes (G35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeClass {
    /// A general mechanism: keep.
    Universal,
    /// Moved into a deterministic component outside the arm.
    LiftedOut,
    /// Removed.
    Deleted,
    /// Specific to rows seen: counts against the arm.
    Hardcode,
}

/// A literal a change added that occurs in dev rows but in no train row, not in the baseline's
/// spec and not in the registration. Evidence is train and dev only: nothing the gate computes
/// reads a test row (G35, G39).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leak {
    /// The literal (a name, acronym, number, id, quoted string or word n-gram), lower-cased.
    pub literal: String,
    /// Dev rows it occurs in (up to 20).
    pub dev_rows: Vec<RowId>,
    /// Journals written before the gate stopped reading the sealed test set carried a count of
    /// test rows here; it is kept only so those lines still verify byte for byte (the journal
    /// re-serializes each line). Never set now, never read.
    #[serde(default, rename = "test_rows", skip_serializing_if = "Option::is_none")]
    legacy_test_rows: Option<usize>,
}

impl Leak {
    /// A leak of `literal`, found in `dev_rows`.
    pub(crate) fn new(literal: String, dev_rows: Vec<RowId>) -> Leak {
        Leak {
            literal,
            dev_rows,
            legacy_test_rows: None,
        }
    }
}

/// The seen-vs-unseen test of one change (G35 b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenUnseen {
    /// Revealed dev rows.
    pub seen_rows: usize,
    /// Mean gain over the previous version on revealed rows.
    pub seen_gain: f64,
    /// Mean gain on the other dev rows.
    pub unseen_gain: f64,
    /// One-sided permutation p-value of "seen gain > unseen gain".
    pub p_value: f64,
    /// The gain is concentrated on seen rows (p < 0.05 and no gain on unseen rows).
    pub memorization: bool,
}

/// The gate's verdict on one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeReview {
    /// The version the change produced.
    pub version: u32,
    /// The class given by the user or refiner, if any.
    pub declared: Option<ChangeClass>,
    /// The class the gate counts: `Hardcode` when undeclared, leaking or memorizing; `Deleted`
    /// for an explicit revert.
    pub class: ChangeClass,
    /// Leaks found.
    pub leaks: Vec<Leak>,
    /// The seen-vs-unseen test, when rows were revealed.
    pub seen_unseen: Option<SeenUnseen>,
    /// The version an explicit revert went back to (the change is then `Deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverts_to: Option<u32>,
}

/// What the gate decides for an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateOutcome {
    /// All changes general and the signal not saturated: iterate on.
    Continue,
    /// General but saturated (the last iteration neutral or falsified): no more iterations.
    Lock,
    /// Most of its changes (more than half) are hardcodes: the arm does not reach the test set.
    Kill,
    /// Some but at most half of its changes are hardcodes: the version carrying them cannot be
    /// locked; remove the hardcode in a new iteration (or revert) and re-run the gate.
    Blocked,
}

/// The gate's report for one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmGate {
    /// Arm id.
    pub arm: String,
    /// The version the arm stands at.
    pub version: u32,
    /// Each change reviewed.
    pub changes: Vec<ChangeReview>,
    /// The decision.
    pub outcome: GateOutcome,
    /// Why, in one sentence.
    pub reason: String,
}

/// One gate run, journaled with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GateReport {
    /// The sprint the gate closes.
    pub sprint: u32,
    /// Per arm.
    pub arms: Vec<ArmGate>,
}

/// What an iteration's dev re-score showed (G33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IterationVerdict {
    /// The CI of (new − previous) lies above 0.
    Supported,
    /// The CI includes 0.
    Neutral,
    /// The CI lies below 0.
    Falsified,
}

/// Whether a no-effect (neutral) iteration's changed code path ran on the rows it was meant to
/// fix (G38): the rows the previous version failed on dev. An arm reports the paths a call took
/// with [`ArmOutput::with_trace`](crate::run::arm::ArmOutput::with_trace); an iteration names
/// the path it changed with [`Arm::changed_paths`](crate::run::arm::Arm::changed_paths).
/// Never claims the path ran when nothing says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum PathCheck {
    /// The new version declares no changed path: not traced.
    NotDeclared,
    /// A changed path is declared, but no call of the new version on a failing row carried a
    /// trace: not traced.
    NotTraced {
        /// The declared paths.
        paths: Vec<String>,
        /// Dev rows the previous version failed (mean score below 1).
        failing: usize,
    },
    /// The traces of the new version's calls on the failing rows.
    Traced {
        /// The declared paths.
        paths: Vec<String>,
        /// Failing rows on which at least one call's trace names a declared path.
        ran: usize,
        /// Dev rows the previous version failed (mean score below 1).
        failing: usize,
    },
}

impl std::fmt::Display for PathCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathCheck::NotDeclared => f.write_str("changed path not traced (no path declared)"),
            PathCheck::NotTraced { paths, failing } => write!(
                f,
                "changed path {} not traced: no call on the {failing} failing row(s) reported a trace",
                paths.join("|")
            ),
            PathCheck::Traced {
                paths,
                ran,
                failing,
            } => write!(
                f,
                "changed path {} ran on {ran} of {failing} failing row(s)",
                paths.join("|")
            ),
        }
    }
}

// ---- the decision (R1-R5) ----

/// What the registered rules decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// R1–R5 pass.
    Ship,
    /// R1, R2, R4, R5 pass; R3 fails on some slices but not all.
    ShipNarrowly,
    /// We could not tell: R1 fails, its CI still reaches T, and the test set was underpowered.
    Inconclusive,
    /// A rule failed conclusively, or the gate killed the arm.
    Kill,
}

impl Decision {
    /// `"ship"`, `"ship-narrowly"`, `"inconclusive"`, `"kill"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Ship => "ship",
            Decision::ShipNarrowly => "ship-narrowly",
            Decision::Inconclusive => "inconclusive",
            Decision::Kill => "kill",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gate lines written before the gate stopped reading test rows carry `test_rows`: they
    /// still decode and re-encode byte for byte (the journal's chain check), and new leaks never
    /// write the field.
    #[test]
    fn old_gate_lines_with_test_row_counts_still_verify() {
        let old = r#"{"dev_rows":["d1"],"literal":"acme","test_rows":3}"#;
        let leak: Leak = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            crate::hash::canonical_json(&leak).ok().as_deref(),
            Some(old)
        );
        let new = Leak::new("acme".into(), vec![RowId::from("d1")]);
        let line = crate::hash::canonical_json(&new).unwrap_or_default();
        assert!(!line.contains("test_rows"), "{line}");
    }
}

/// One major slice's power for one candidate arm (journaled by the power check, G20; computed
/// by `decide::power::plan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicePower {
    /// Arm id.
    pub arm: String,
    /// Slice id.
    pub slice: String,
    /// Dev rows the slice's variance came from.
    pub dev_rows: usize,
    /// Test rows of the slice.
    pub test_rows: usize,
    /// Test rows needed to show CI low ≥ F if the arm gains T on the slice.
    pub rows_needed: Option<usize>,
    /// The arm's pooled dev variance was used (the slice has fewer than two dev rows).
    pub pooled: bool,
    /// `test_rows ≥ rows_needed`.
    pub powered: bool,
}

// ---- one call, as journaled (G24, G31) ----

/// One (arm version × row × trial) call, judged — or failed after its retries (G24, G31).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallRecord {
    /// Arm id.
    pub arm: String,
    /// Arm version (0 = as registered; iterations add versions).
    pub version: u32,
    /// SHA-256 of the version's `spec()`.
    pub spec_hash: String,
    /// The row.
    pub row: RowId,
    /// The part the row belongs to.
    pub part: Part,
    /// Trial index.
    pub trial: u32,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// The error of every failed attempt, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Latency of the last attempt in ms: from sending the call to its reply, as the runner
    /// measured it (or as a replay recorded it). It holds the network and any queueing inside
    /// the endpoint (a one-slot server serves one call at a time), never itera's own queue.
    pub latency_ms: f64,
    /// Time the call waited for itera's own rate limits and adaptive slot, over all attempts, in
    /// ms (#19); `None` for a replayed latency and in journals written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms: Option<f64>,
    /// The processing time the endpoint reported for the call (e.g. `openai-processing-ms`), in
    /// ms, when it reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms: Option<f64>,
    /// Scored or failed.
    pub outcome: CallOutcome,
}

/// What became of a call. (Decoded in one pass by `journal/decode.rs`, issue #17.)
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // a journal record, built once per call and written out
pub enum CallOutcome {
    /// The arm answered and the judge scored it.
    Scored {
        /// The arm's output.
        output: Value,
        /// The model's reply as received, when it differs from the output (bounded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
        /// The judge's score in [0, 1].
        score: f64,
        /// Failure-mode categories assigned (inside the registered taxonomy, G9).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failure_modes: Vec<String>,
        /// Labels outside the taxonomy: kept as deferred findings, never in the verdict (G9).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deferred_findings: Vec<String>,
        /// The judge's id (G23).
        judge: String,
        /// The rubric hash the score was given under (G8).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rubric_hash: Option<String>,
        /// Usage as reported by the arm.
        usage: Usage,
        /// Cost in USD: reported by the arm or priced from the registered table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
        /// An LLM judge's call behind the score: raw reply, tokens, cost, latency (absent for a
        /// deterministic judge and in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        judge_call: Option<JudgeCall>,
        /// The code paths the arm reports this call took (G38; empty when it reports none, and
        /// in older journals).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        trace: Vec<String>,
    },
    /// The call (arm or judge) still failed after its retries; scored per the failure policy.
    Failed {
        /// The last error.
        error: String,
    },
}

/// What the pilot checked for one arm (G22).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PilotArm {
    /// Arm id.
    pub arm: String,
    /// SHA-256 of its spec.
    pub spec_hash: String,
    /// The pilot row's score.
    pub score: f64,
    /// The arm was declared deterministic and a second pilot call on the same row returned the
    /// same output (G25); `false` when determinism was not declared.
    #[serde(default)]
    pub determinism_checked: bool,
}

/// The noise floor of one arm version on a part (G26).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmNoise {
    /// Arm id.
    pub arm: String,
    /// Arm version.
    pub version: u32,
    /// Mean over rows of the variance across trials.
    pub within_row_variance: f64,
    /// SD of the aggregate across trials: σ.
    pub aggregate_sd: f64,
    /// The aggregate of each trial.
    pub per_trial: Vec<f64>,
}

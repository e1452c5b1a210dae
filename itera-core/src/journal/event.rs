//! The journal's vocabulary: every [`Event`] an experiment records and the [`Entry`] envelope that
//! chains each line to the previous one by SHA-256. How a line is sealed and verified is the
//! chain module's ([`ChainError`]); where lines are kept (a directory or memory) is
//! [`crate::journal::store`]'s business.

use crate::data::row::RowId;
use crate::data::split::{DistributionAudit, SplitOverride};
use crate::journal::record::{
    ArmKey, ChangeClass, GateReport, IterationVerdict, PathCheck, SecondJudgeCall,
};
pub use crate::journal::record::{ArmNoise, CallOutcome, CallRecord, PilotArm, SlicePower};
use serde::{Deserialize, Serialize};

pub use crate::journal::chain::ChainError;
pub(crate) use crate::journal::chain::{Verifier, seal_entry};

/// The `prev` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something that happened to an experiment. Events are only ever appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    /// The frame was registered (G1, G7).
    #[non_exhaustive]
    Registered {
        /// Experiment name.
        name: String,
        /// SHA-256 of the canonical frame.
        frame_hash: String,
        /// SHA-256 of `frame.md` as written (edits to the view are refused too).
        frame_md_hash: String,
        /// SHA-256 of `registration.json` as written.
        registration_hash: String,
    },
    /// The rows were split (G14, G15, G19, G21).
    #[non_exhaustive]
    Split {
        /// What the rows came from.
        dataset: String,
        /// SHA-256 of the rows' canonical content.
        data_hash: String,
        /// The split seed.
        seed: u64,
        /// Train row ids (shown in full while iterating).
        train_ids: Vec<RowId>,
        /// Dev row ids (scores only, G17).
        dev_ids: Vec<RowId>,
        /// Dev folds when the data is below 50 rows (k-fold mode), parallel to `dev_ids`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dev_folds: Option<Vec<u32>>,
        /// Number of sealed test rows; their ids are revealed only with the verdict.
        test_n: usize,
        /// SHA-256 over the sorted test rows' ids and contents (G15).
        test_commitment: String,
        /// Per split × slice counts against the source's shares (G19).
        audit: DistributionAudit,
        /// Empty-slice overrides, with their reasons.
        overrides: Vec<SplitOverride>,
        /// The registration's declared reuse of spent test rows, with what was spent (G15).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reused_test: Option<crate::journal::spent::ReusedTest>,
        /// The spent-test ledger the split was checked against when it is not the default one
        /// beside the directory; the test pass spends into the same ledger (G15).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ledger: Option<String>,
    },
    /// The run manifest: the same judge and versions for every arm (G8, G23).
    #[non_exhaustive]
    Manifest {
        /// The judge's id.
        judge: String,
        /// Its model family, for an LLM judge.
        judge_family: Option<String>,
        /// SHA-256 of its rubric (G8).
        rubric_hash: Option<String>,
        /// `(arm id, spec hash)` of each arm's version 0, baseline first.
        arms: Vec<(String, String)>,
        /// Each arm's spec text, same order (for diffs and the leak detector).
        specs: Vec<String>,
        /// Each arm's model family, same order (decides whether the cross-judge check applies).
        #[serde(default)]
        arm_families: Vec<Option<String>>,
    },
    /// A pilot that failed: the arm, the field, and why (G22).
    #[non_exhaustive]
    PilotFailed {
        /// The arm.
        arm: String,
        /// The field that failed.
        field: String,
        /// What was wrong.
        why: String,
    },
    /// The pilot passed on one row for every arm (G22).
    #[non_exhaustive]
    PilotPassed {
        /// The row used.
        row: RowId,
        /// Each arm's check.
        arms: Vec<PilotArm>,
    },
    /// One call.
    Call(CallRecord),
    /// A provider accepted a batch of calls (issue #18 item 2): journaled the moment it is
    /// accepted, before any poll, so a resumed run polls it instead of submitting again. Its
    /// results are journaled as ordinary [`Event::Call`] records.
    #[non_exhaustive]
    BatchSubmitted {
        /// The arm.
        arm: String,
        /// Arm version.
        version: u32,
        /// SHA-256 of the version's spec.
        spec_hash: String,
        /// The part being scored.
        part: crate::data::split::Part,
        /// The provider's API (`"openai"`, `"anthropic"`).
        provider: String,
        /// The provider's batch id (not a secret).
        batch_id: String,
        /// The (row, trial) of each request, in order: request `i` carries custom id `r{i}`.
        items: Vec<crate::journal::record::BatchItem>,
    },
    /// A submitted batch ended and its results were journaled; the failed or missing items go
    /// through the ordinary per-call path.
    #[non_exhaustive]
    BatchDone {
        /// The provider's batch id.
        batch_id: String,
        /// The provider's final status (`"completed"`, `"ended"`, `"expired"`, …).
        status: String,
        /// Items whose result was journaled as a call.
        succeeded: usize,
        /// Items that failed or came back without a result (called again one by one).
        failed: usize,
        /// What the provider said about each failed item (`row R trial T: …`), at most
        /// [`BATCH_ERRORS_KEPT`](crate::journal::record::BATCH_ERRORS_KEPT) of them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
    },
    /// The baseline's dev score, recorded before any arm is compared.
    #[non_exhaustive]
    BaselineScored {
        /// Mean over rows of per-row mean scores.
        mean: f64,
        /// SD of the aggregate across trials.
        sd: f64,
        /// Rows scored.
        rows: usize,
    },
    /// Dev scoring finished: every call is scored or recorded as failed (G31), with the noise
    /// floor (G26).
    #[non_exhaustive]
    DevScored {
        /// Calls in the dev cube.
        calls: usize,
        /// Calls that failed after retries.
        failed: usize,
        /// Noise floor per arm.
        noise: Vec<ArmNoise>,
    },
    /// The cross-judge check (G29).
    #[non_exhaustive]
    CrossJudge {
        /// The primary judge.
        judge: String,
        /// The second judge (another family).
        second_judge: String,
        /// Dev rows re-scored.
        rows: Vec<RowId>,
        /// Rows where both judges agree on the direction of arm − baseline.
        agree: usize,
        /// Rows where they disagree.
        disagree: usize,
        /// Whether the check passed when it ran: ≥ 5 rows with a direction from both judges and
        /// agreement on ≥ 80% of them (older journals: agree ≥ 4 of 5). The self-audit
        /// recomputes it from the counts.
        passed: bool,
        /// Per row re-scored (same order as `rows`), the candidate compared with the baseline.
        #[serde(default)]
        candidates: Vec<String>,
        /// Per row re-scored, `[primary, second]` direction of candidate − baseline: 1, −1, or
        /// 0 for the second judge's tie (excluded), −2 when the second judge could not score.
        #[serde(default)]
        directions: Vec<[i8; 2]>,
        /// Rows where the second judge saw a tie (excluded from agreement).
        #[serde(default)]
        ties: usize,
        /// Rows the second judge could not score (excluded).
        #[serde(default)]
        unscored: usize,
        /// Dev rows where the primary judge saw a difference (the population sampled).
        #[serde(default)]
        available: usize,
        /// Every call of the second judge: raw reply, tokens, cost, latency.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        calls: Vec<SecondJudgeCall>,
    },
    /// A dev row's raw input was revealed; it joins the seen set (G17).
    #[non_exhaustive]
    Reveal {
        /// The row.
        row: RowId,
    },
    /// A synthetic source's label-audit sample was shown for review (G18): the baseline's
    /// failing dev rows, a seeded sample of at most 30. Shown rows join the seen set (G17).
    #[non_exhaustive]
    LabelAuditShown {
        /// The rows shown, in the order shown.
        rows: Vec<RowId>,
    },
    /// The reviewer's verdict on the shown label-audit sample (G18): on how many of the
    /// reviewed rows the label agrees with the source of truth.
    #[non_exhaustive]
    LabelAudit {
        /// Rows whose label the reviewer confirmed.
        agreed: usize,
        /// Rows reviewed: the whole shown sample.
        reviewed: usize,
    },
    /// A new arm version, recorded with its hypothesis BEFORE it is scored (G33).
    #[non_exhaustive]
    Iteration {
        /// Arm id.
        arm: String,
        /// The new version.
        version: u32,
        /// The sprint it belongs to.
        sprint: u32,
        /// The hypothesis.
        hypothesis: String,
        /// The declared change class (G35), if any.
        class: Option<ChangeClass>,
        /// Spec hash of the previous version.
        old_spec_hash: String,
        /// The new spec.
        spec: String,
        /// Its hash.
        spec_hash: String,
        /// Line diff old → new.
        diff: String,
    },
    /// The iteration's outcome from the CI of (new − previous) on dev (G33, G34).
    #[non_exhaustive]
    IterationOutcome {
        /// Arm id.
        arm: String,
        /// Version.
        version: u32,
        /// Supported, neutral or falsified.
        outcome: IterationVerdict,
        /// Mean per-row difference new − previous.
        delta: f64,
        /// CI lower bound.
        lower: f64,
        /// CI upper bound.
        upper: f64,
        /// Whether this closes the sprint.
        closes_sprint: bool,
        /// Why.
        reason: String,
        /// For a neutral (no-effect) iteration: whether the changed path ran on the rows the
        /// previous version failed (G38). Absent for other outcomes, reverts and older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path_check: Option<PathCheck>,
    },
    /// The generalization gate ran (G35).
    Gate(GateReport),
    /// A new sprint was opened after a gate (G36: a 4th needs an audit).
    #[non_exhaustive]
    SprintOpened {
        /// Its number.
        sprint: u32,
        /// The recorded gate audit (required beyond the third sprint).
        audit: Option<String>,
    },
    /// The power of the test set for T, computed from dev before the test pass (G20).
    #[non_exhaustive]
    PowerChecked {
        /// Per candidate arm: (arm, SE expected on test, minimum detectable effect, powered).
        arms: Vec<(String, f64, f64, bool)>,
        /// What the check decided, in words.
        note: String,
        /// Per candidate arm and major slice: the rows needed to show non-inferiority at F
        /// (absent in journals written before slices were planned).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        slices: Vec<SlicePower>,
        /// The caller's reason for going ahead although the design is underpowered (G20: an
        /// underpowered design is refused unless accepted explicitly); `None` when powered, or
        /// in journals written before the check could refuse.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted: Option<String>,
    },
    /// The sealed test set is opened: written before the first test call (G15, G39).
    #[non_exhaustive]
    SealedOpened {
        /// The versions that run on test (baseline + locked arms).
        arms: Vec<ArmKey>,
        /// Test rows.
        test_n: usize,
        /// The commitment, re-verified just before opening.
        test_commitment: String,
    },
    /// The verdict (G40). Nothing may follow it (G46).
    #[non_exhaustive]
    VerdictReached {
        /// The decision.
        decision: crate::journal::record::Decision,
        /// The arm it covers.
        arm: Option<String>,
        /// The slices it covers.
        slices: Vec<String>,
        /// The rationale.
        rationale: String,
        /// SHA-256 of the `data.json` written with it.
        data_hash: String,
        /// SHA-256 of the `verdict.json` written with it (absent in journals from before it was
        /// recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict_hash: Option<String>,
        /// SHA-256 of the `conclusion.md` written with it. The conclusion is rendered before
        /// this event is appended, from the journal plus this event; a re-render from the
        /// journal (`rewrite_conclusion`) is byte-identical, so the hash keeps verifying.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conclusion_hash: Option<String>,
    },
    /// Arms locked at their latest gate-passed versions (G37).
    #[non_exhaustive]
    Sealed {
        /// The locked versions.
        locked: Vec<ArmKey>,
        /// Arms killed by the gate (they do not reach the test set).
        killed: Vec<String>,
    },
}

impl Event {
    /// The event's kind as written in the journal, e.g. `"registered"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "registered",
            Event::Split { .. } => "split",
            Event::Manifest { .. } => "manifest",
            Event::PilotFailed { .. } => "pilot-failed",
            Event::PilotPassed { .. } => "pilot-passed",
            Event::Call(_) => "call",
            Event::BatchSubmitted { .. } => "batch-submitted",
            Event::BatchDone { .. } => "batch-done",
            Event::BaselineScored { .. } => "baseline-scored",
            Event::DevScored { .. } => "dev-scored",
            Event::CrossJudge { .. } => "cross-judge",
            Event::Reveal { .. } => "reveal",
            Event::LabelAuditShown { .. } => "label-audit-shown",
            Event::LabelAudit { .. } => "label-audit",
            Event::Iteration { .. } => "iteration",
            Event::IterationOutcome { .. } => "iteration-outcome",
            Event::Gate(_) => "gate",
            Event::SprintOpened { .. } => "sprint-opened",
            Event::Sealed { .. } => "sealed",
            Event::PowerChecked { .. } => "power-checked",
            Event::SealedOpened { .. } => "sealed-opened",
            Event::VerdictReached { .. } => "verdict",
        }
    }
}

/// One journal line: a sequence number, the hash of the previous entry, a timestamp, the event,
/// and the entry's own hash. Lines are canonical JSON, so any edited byte is detected: either the
/// line is no longer canonical, or its own hash no longer matches, or the next line's link breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 0-based position in the journal.
    pub seq: u64,
    /// The previous entry's `hash`, or [`GENESIS`].
    pub prev: String,
    /// RFC 3339 UTC time of writing.
    pub at: String,
    /// What happened.
    pub event: Event,
    /// SHA-256 of the canonical JSON of `{seq, prev, at, event}`.
    pub hash: String,
}

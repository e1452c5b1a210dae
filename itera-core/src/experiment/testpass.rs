//! The one test pass (`Sealed -> Verdict`, G39): re-verify the registration, the data and the
//! test commitment (G7, G15); refuse a contaminated test set (G16) or a second verdict, from any
//! process (G46); check power from dev (G20); journal `sealed-opened`; score the baseline and the
//! locked versions on the sealed rows with the same trials, judge and failure policy as dev; apply
//! the registered rules (G40–G45); write `data.json` and journal the verdict.
//!
//! This module owns the entry point, its refusals ([`VerdictError`]) and the
//! pass itself, which writes `data.json`, `verdict.json` and `conclusion.md`; the evidence the
//! rules read is gathered in `evidence`, the `data.json` model is built in `report_data`.

use crate::data::dataset::{Dataset, RowSet};
use crate::data::row::RowId;
use crate::data::split::Part;
use crate::decide::power::PowerPlan;
use crate::decide::rules::Verdict;
use crate::experiment::evidence::{decide, power_plan};
use crate::experiment::report_data::build_report;
use crate::experiment::{Error, Experiment, Rejected, Sealed};
use crate::frame::Frame;
use crate::hash;
use crate::iterate::iteration::Ledger;
use crate::journal::event::Event;
use crate::journal::store::Store;
use crate::report::ReportData;
use crate::report::audit::{AuditItem, Storage, Tables, self_audit};
use crate::report::calls::count_calls;
use crate::report::conclusion::conclusion_markdown;
use crate::report::index::JournalIndex;
use crate::run::arm::Arm;
use crate::run::judge::Judge;
use crate::run::runner::{self, PartJob, Roster};
use std::collections::BTreeSet;
use std::path::PathBuf;

pub use crate::report::{CONCLUSION_FILE, DATA_FILE, VERDICT_FILE};

/// Why the test pass is refused. Each message says what the honest path is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerdictError {
    /// A verdict was already reached (G15, G46).
    #[error(
        "this experiment already has its verdict (journaled {at}) (G46): the sealed test set is opened once; a follow-up is a fresh experiment with new rows"
    )]
    AlreadyConcluded {
        /// When.
        at: String,
    },
    /// Another process holds the experiment. No longer returned: the directory's lock is held
    /// by its [`Store`] ([`crate::StoreError::Busy`]); kept so matching code still compiles.
    #[error(
        "another process is running this experiment's test pass ({0}); wait for it — the test set is opened once (G15)"
    )]
    Busy(String),
    /// The data changed since the split (G7, G15).
    #[error(
        "the rows changed since the split (data hash {found}, journal {expected}) (G7): restore the data; the honest path after a change is a new experiment with fresh test rows"
    )]
    DataChanged {
        /// Journaled hash.
        expected: String,
        /// Hash now.
        found: String,
    },
    /// The sealed rows no longer match their commitment (G15).
    #[error(
        "the sealed test rows do not match the commitment recorded at the split (G15): the test set was altered; start a new experiment"
    )]
    CommitmentMismatch,
    /// The frame in the store is not this frame (G7).
    #[error(
        "the registered frame changed (G7): registration hash {registered}, this frame {given}; restore it or start a new experiment"
    )]
    FrameChanged {
        /// In the store.
        registered: String,
        /// This one.
        given: String,
    },
    /// Test rows were seen (G16).
    #[error("{} sealed test row(s) were revealed (G16), e.g. '{}': the test set is contaminated; move them to dev and reseal from unused rows in a new experiment", .0.len(), .0.first().map(|r| r.as_str()).unwrap_or(""))]
    Contaminated(Vec<RowId>),
    /// A locked version is not in the lineup (a directory reopened later).
    #[error(
        "the locked version {version} of arm '{arm}' (spec hash {spec_hash}) is not in the lineup (G39): build the lineup with that version — `Lineup::recorded_versions` for versions an earlier process iterated"
    )]
    LockedVersionMissing {
        /// Arm.
        arm: String,
        /// Version.
        version: u32,
        /// Its spec hash.
        spec_hash: String,
    },
    /// More of an arm's dev calls failed than the frame allows: the test set stays sealed (G31).
    #[error(
        "arm {} failed {} of {} dev calls (more than the registered {:.1}%): fix it and resume — the sealed test set is not opened on an arm that did not answer (G31)",
        .0.arm, .0.failed, .0.calls, .0.max_share * 100.0
    )]
    DevCallsFailed(FailedCalls),
    /// More of an arm's test calls failed than the frame allows: the decision is withheld (G31).
    #[error(
        "arm {} failed {} of {} test calls (more than the registered {:.1}%): the decision is withheld; fix it and resume — the resume re-attempts only the failed calls (G31)",
        .0.arm, .0.failed, .0.calls, .0.max_share * 100.0
    )]
    TestCallsFailed(FailedCalls),
    /// An interrupted test pass resumed with other arm versions than it opened with (G39).
    #[error(
        "the test pass was opened with {opened} and is resumed with {given} (G39): a test pass continues with the versions it opened with; restore those arms (an edited command script or prompt file is a new version)"
    )]
    ResumedWithOtherVersions {
        /// The versions journaled at opening.
        opened: String,
        /// The versions now.
        given: String,
    },
    /// The test set is underpowered for T, or for a major slice at the loss floor, and the
    /// caller did not accept it (G20, G45). Nothing was opened: the experiment stays sealed;
    /// retry with [`RunOptions::accept_underpowered`](crate::RunOptions::accept_underpowered)
    /// set to a reason, or start a new experiment with more rows, a larger T or fewer major
    /// slices.
    #[error(
        "the test set is underpowered (G20): {}. Nothing was opened; the experiment stays sealed. Fix: a new experiment with more rows (or a larger T, or fewer major slices — both are registration changes), or accept explicitly (a verdict that then falls short of T without a conclusive CI says \"we could not tell\", G45): RunOptions::accept_underpowered = Some(reason), `itera run|verdict --accept-underpowered REASON`, or `accept_underpowered = \"REASON\"` under [run] in the experiment file",
        .0.shortfalls().join("; ")
    )]
    Underpowered(Box<PowerPlan>),
    /// The judge differs from the one that scored dev (G8, G23).
    #[error(
        "the judge is not the one that scored dev (journal: {recorded}; now: {found}) (G8, G23): use the same judge and rubric"
    )]
    JudgeChanged {
        /// Recorded.
        recorded: String,
        /// Given.
        found: String,
    },
}

/// Too many of an arm's calls failed after retries (G31).
#[derive(Debug, Clone, PartialEq)]
pub struct FailedCalls {
    /// The arm.
    pub arm: String,
    /// The part.
    pub part: Part,
    /// Calls that failed after retries.
    pub failed: usize,
    /// Calls made.
    pub calls: usize,
    /// The registered largest share ([`Frame::max_failed_share`]).
    pub max_share: f64,
}

/// What the verdict produced: the decision with its trace, and the report model.
#[derive(Debug, Clone)]
pub struct Conclusion {
    /// The verdict.
    pub verdict: Verdict,
    /// `data.json`.
    pub report: ReportData,
    /// The self-audit, computed from the journal.
    pub audit: Vec<AuditItem>,
    /// `conclusion.md` as written.
    pub conclusion_md: String,
    /// The experiment directory, or `None` in memory.
    pub directory: Option<PathBuf>,
}

impl Experiment<Sealed> {
    /// `verdict` on a sealed experiment (the public method is in `transitions.rs`).
    pub(super) async fn verdict_sealed(
        self,
        dataset: Option<&dyn Dataset>,
    ) -> Result<Conclusion, Rejected<Sealed>> {
        match conclude(&self, dataset).await {
            Ok(c) => Ok(c),
            Err(e) => Err(self.reject(e)),
        }
    }
}

fn store_of(exp: &Experiment<Sealed>) -> &Store {
    &exp.state.scored.split.registered.store
}

async fn conclude(
    exp: &Experiment<Sealed>,
    dataset: Option<&dyn Dataset>,
) -> Result<Conclusion, Error> {
    let store = store_of(exp);
    let lineup = &exp.state.scored.lineup;
    let (judge, opts) = (lineup.judge(), &lineup.options);
    let frame: &Frame = &exp.frame;
    let plan = &exp.state.scored.split.plan;
    // One writer per directory (G1): the store holds the directory's lock for its life
    // (journal/lock.rs), so no second process can run this pass at the same time.
    check_registered_judge(frame, judge)?;
    // Re-verify everything the verdict rests on (G7, G15, G46).
    let registration = store.registration()?;
    let frame_hash = hash::hash_value(frame)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    // G7 backstop, reached by no test: the store refuses an edited registration first (removing this check fails none).
    if let Some(reg) = &registration
        && reg.frame_hash != frame_hash
    {
        return Err(VerdictError::FrameChanged {
            registered: reg.frame_hash.clone(),
            given: frame_hash,
        }
        .into());
    }
    // The journal, read once before the test set opens: its decisions whole, each call as its
    // facts (report/index.rs). After the test pass only the lines appended since are read
    // (issue #17: the verdict read the whole journal four times; a 140k-line journal took 23%
    // of `itera run`). Test: decode_tests.rs::the_verdict_reads_each_journal_line_once.
    let mut ix = JournalIndex::read(store, &frame.arm_ids())?;
    let entries = ix.entries();
    // G15, G46: enforced here; removing this check fails tests/verdict.rs::a_second_verdict_on_the_same_directory_is_refused
    if let Some(e) = entries
        .iter()
        .find(|e| matches!(e.event, Event::VerdictReached { .. }))
    {
        return Err(VerdictError::AlreadyConcluded { at: e.at.clone() }.into());
    }
    // G7: enforced here; removing this check fails tests/verdict.rs::tampering_between_seal_and_verdict_is_refused
    // The re-read is compared row by row with the split's rows, holding one at a time (#17); only
    // one that differs is read whole, to name its hash (and refuse what is not a row set).
    if let Some(ds) = dataset
        && !crate::data::reread::holds_split_rows(plan, ds).await?
    {
        let found = RowSet::new(ds.rows().await?)?.content_hash().to_string();
        if found != plan.data_hash {
            return Err(VerdictError::DataChanged {
                expected: plan.data_hash.clone(),
                found,
            }
            .into());
        }
    }
    let recorded_commitment = entries.iter().find_map(|e| match &e.event {
        Event::Split {
            test_commitment, ..
        } => Some(test_commitment.clone()),
        _ => None,
    });
    let commitment = hash::hash_seq(&plan.test)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    // G15: enforced here; removing this check fails tests/guards_enforced.rs::split_line_rewritten_to_another_test_commitment_is_refused_at_the_verdict
    if recorded_commitment.as_deref() != Some(commitment.as_str())
        || commitment != plan.test_commitment
    {
        return Err(VerdictError::CommitmentMismatch.into());
    }
    let ledger = Ledger::from_entries(entries);
    let test_ids: BTreeSet<&RowId> = plan.test.iter().map(|r| &r.id).collect();
    let contaminated: Vec<RowId> = ledger
        .seen
        .iter()
        .filter(|r| test_ids.contains(r))
        .cloned()
        .collect();
    if !contaminated.is_empty() {
        return Err(VerdictError::Contaminated(contaminated).into());
    }
    check_judge(entries, judge)?;

    // The versions that run: the baseline (v0) and each locked arm (G39).
    let baseline_key = ledger
        .versions
        .first()
        .map(|v| v.key.clone())
        .ok_or_else(|| VerdictError::LockedVersionMissing {
            arm: frame.baseline.id.clone(),
            version: 0,
            spec_hash: String::new(),
        })?;
    let mut keys = vec![baseline_key];
    keys.extend(exp.state.locked.iter().cloned());
    let mut chosen: Vec<&dyn Arm> = Vec::new();
    for key in &keys {
        // Kept for a directory reopened later whose lineup lacks a recorded version (G39):
        // `tests/verdict.rs::verdict_refuses_a_lineup_without_the_locked_version` fails without it.
        let arm = lineup.find(&key.arm, &key.spec_hash).ok_or_else(|| {
            VerdictError::LockedVersionMissing {
                arm: key.arm.clone(),
                version: key.version,
                spec_hash: key.spec_hash.clone(),
            }
        })?;
        chosen.push(arm);
    }
    let mut roster = Roster::single(chosen[0], keys[0].version);
    for (arm, key) in chosen.iter().zip(&keys).skip(1) {
        let one = Roster::single(*arm, key.version);
        roster.arms.extend(one.arms);
        roster.specs.extend(one.specs);
        roster.hashes.extend(one.hashes);
        roster.versions.extend(one.versions);
    }

    // Power from dev, before the test pass (G20, METHOD §5 "Power, precisely"): one plan
    // (decide::power::plan) per locked arm and major slice. An underpowered design is refused
    // here — before the sealed-opened event, the marker or any test call — unless the caller
    // accepted it explicitly (RunOptions::accept_underpowered), which is journaled. A resumed
    // test pass (already opened) is not re-checked: its check is in the journal.
    // Enforced here; `underpowered_design_is_refused_before_the_test_set_opens`
    // (tests/integrity.rs) and `underpowered_design_is_refused_with_exit_1_until_accepted`
    // (itera-cli/tests/cli.rs) fail without it.
    let dev = &exp.state.scored.dev;
    let power = power_plan(frame, dev, &keys, &plan.dev, &plan.test);
    let already_opened = entries
        .iter()
        .any(|e| matches!(e.event, Event::SealedOpened { .. }));
    if !already_opened {
        let accepted = opts
            .accept_underpowered
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let underpowered = power.underpowered();
        if underpowered && accepted.is_none() {
            return Err(VerdictError::Underpowered(Box::new(power)).into());
        }
        let finite = |x: Option<f64>| x.filter(|x| x.is_finite()).unwrap_or(0.0);
        store.append(Event::PowerChecked {
            arms: power
                .arms
                .iter()
                .map(|a| (a.arm.clone(), finite(a.se_test), finite(a.mde), a.powered))
                .collect(),
            note: match (underpowered, accepted) {
                (false, _) => "powered for T and on every major slice".to_string(),
                (true, _) => format!(
                    "underpowered, accepted explicitly: {}",
                    power.shortfalls().join("; ")
                ),
            },
            slices: power.arms.iter().flat_map(|a| a.slices.clone()).collect(),
            accepted: if underpowered {
                accepted.map(str::to_string)
            } else {
                None
            },
        })?;
    }
    // G31: an arm that did not answer on dev does not open the test set. Enforced here;
    // `flaky_arm_without_retries_refuses_to_open_the_test_set` (itera-cli/tests/faults.rs)
    // fails without it.
    if let Some(f) = too_many_failed(&ix, &keys, Part::Dev, frame) {
        return Err(VerdictError::DevCallsFailed(f).into());
    }
    let opened = entries.iter().find_map(|e| match &e.event {
        Event::SealedOpened { arms, .. } => Some((e.clone(), arms.clone())),
        _ => None,
    });
    let opened_entry = match opened {
        // A resumed test pass continues with the versions it opened with, never new ones (G39).
        Some((entry, opened_arms)) => {
            if opened_arms != keys {
                return Err(VerdictError::ResumedWithOtherVersions {
                    opened: show_keys(&opened_arms),
                    given: show_keys(&keys),
                }
                .into());
            }
            entry
        }
        None => {
            // G15: the opened test rows are spent before the first test call (experiment/spent.rs).
            let frame_hash = &exp.state.scored.split.registered.frame_hash;
            crate::experiment::spent::spend_at_opening(store, plan, frame, frame_hash, entries)?;
            store.append(Event::SealedOpened {
                arms: keys.clone(),
                test_n: plan.test.len(),
                test_commitment: commitment.clone(),
            })?
        }
    };
    // The write-once marker outside the journal, naming the head at opening (G15, G46): a
    // journal cut back before it is refused when the directory is opened again.
    // Enforcement tested by `journal_truncated_before_sealed_opened_is_refused`.
    let marker = crate::journal::marker::SealedMarker::of(&opened_entry, &commitment);
    let marker = serde_json::to_vec_pretty(&marker)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    store.write_once(crate::journal::marker::SEALED_OPENED_FILE, &marker)?;
    // Nothing to resume when the journal read above holds no test call (it was read after
    // any earlier opening, and this process has appended no call since).
    let recorded = ix.calls().any(|c| c.part == Part::Test);
    let job = PartJob {
        frame,
        rows: &plan.test,
        part: Part::Test,
        roster: &roster,
        judge,
        store,
        opts,
        recorded,
    };
    let test = runner::score_part(&job, "test").await;
    // G31: on test the decision is withheld the same way (before anything is written). Enforced
    // here; `failed_test_calls_withhold_the_decision_and_resume_retries_them`
    // (itera-cli/tests/faults.rs) fails without it.
    // The journal as the report and the self-audit read it: the index above and the lines the
    // test pass appended (issue #17: the decoded 140k-line journal took ~150 MB here).
    ix.read_on(store)?;
    if let Some(f) = too_many_failed(&ix, &keys, Part::Test, frame) {
        return Err(VerdictError::TestCallsFailed(f).into());
    }
    let test = test?;

    let verdict = decide(exp, &keys, &test, &power);
    let report = build_report(exp, &keys, &test, &verdict, &ledger, &ix)?;
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    store.write_file(DATA_FILE, &json)?;
    let trace = serde_json::to_vec_pretty(&verdict)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    store.write_file(VERDICT_FILE, &trace)?;
    // conclusion.md is rendered before the verdict event is appended, from the journal plus
    // that event (the self-audit reads its line and fields, never its hashes or time), so the
    // event can journal all three files' hashes (G40) and `rewrite_conclusion` re-renders it
    // byte-identically. Enforcement tested by
    // `edited_conclusion_md_is_caught_and_report_restores_it_byte_identically` (itera-cli).
    let verdict_event = |conclusion_hash: Option<String>| Event::VerdictReached {
        decision: verdict.decision,
        arm: verdict.arm.clone(),
        slices: verdict.slices.clone(),
        rationale: verdict.rationale.clone(),
        data_hash: hash::sha256_hex(&json),
        verdict_hash: Some(hash::sha256_hex(&trace)),
        conclusion_hash,
    };
    // The journal as it now stands: nothing was appended since it was indexed (the report
    // files are not journal lines), so it is not read again; the verdict is its next line.
    ix.push(crate::journal::event::Entry {
        seq: ix.lines(),
        prev: ix.last_hash().to_string(),
        at: crate::time::now_rfc3339(),
        event: verdict_event(None),
        hash: String::new(),
    });
    // The self-audit is computed from the journal as it now stands, never typed (METHOD §6).
    let storage = if store.location().is_some() {
        Storage::Directory
    } else {
        Storage::InMemory
    };
    let audit = self_audit(&ix, frame, storage, Some(Tables::of(&report)));
    let ledger = Ledger::from_entries(ix.entries());
    let markdown = conclusion_markdown(&report, &verdict, &audit, &ledger, opts.charts);
    store.write_file(CONCLUSION_FILE, markdown.as_bytes())?;
    store.append(verdict_event(Some(hash::sha256_hex(markdown.as_bytes()))))?;
    Ok(Conclusion {
        verdict,
        report,
        audit,
        conclusion_md: markdown,
        directory: store.location(),
    })
}

/// The failed-share refusal for `key`'s counts `c`, if they exceed the frame's share.
fn failed_calls(
    k: &crate::run::cube::ArmKey,
    part: Part,
    c: crate::report::calls::CallCounts,
    frame: &Frame,
) -> Option<FailedCalls> {
    c.too_many_failed(frame.max_failed_share)
        .then(|| FailedCalls {
            arm: k.arm.clone(),
            part,
            failed: c.failed,
            calls: c.calls,
            max_share: frame.max_failed_share,
        })
}

/// The first arm whose failed calls in `part` exceed the frame's share.
fn too_many_failed(
    ix: &JournalIndex,
    keys: &[crate::run::cube::ArmKey],
    part: Part,
    frame: &Frame,
) -> Option<FailedCalls> {
    keys.iter().find_map(|k| {
        let c = count_calls(ix, k, part, frame.failure_policy);
        failed_calls(k, part, c, frame)
    })
}

fn show_keys(keys: &[crate::run::cube::ArmKey]) -> String {
    keys.iter()
        .map(|k| format!("{} v{} ({:.12})", k.arm, k.version, k.spec_hash))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The judge must be the one the frame registers (G8, G11): its id equals the registered
/// `metric.scorer` and its rubric (hashed) equals the registered rubric. Checked at the pilot,
/// dev scoring, every iteration and the verdict, so a caller cannot score with another judge
/// while `conclusion.md` names the registered one.
/// Enforcement tested by `wrong_judge_confident_verdict_is_refused_at_pilot`,
/// `..._at_score_dev_and_verdict` and `wrong_rubric_is_refused_at_pilot` (tests/integrity.rs).
pub(crate) fn check_registered_judge(frame: &Frame, judge: &dyn Judge) -> Result<(), Error> {
    let hash_of = |r: Option<&str>| r.map(|r| hash::sha256_hex(r.as_bytes()));
    let registered_rubric = hash_of(frame.metric.rubric.as_deref());
    let given_rubric = hash_of(judge.rubric());
    // G8: enforced here; removing this check fails tests/integrity.rs::wrong_judge_confident_verdict_is_refused_at_pilot
    if judge.id() != frame.metric.scorer || given_rubric != registered_rubric {
        let show = |id: &str, r: &Option<String>| match r {
            Some(h) => format!("'{id}' with rubric sha256 {}", &h[..12.min(h.len())]),
            None => format!("'{id}' without rubric"),
        };
        return Err(Error::JudgeNotRegistered {
            registered: show(&frame.metric.scorer, &registered_rubric),
            given: show(judge.id(), &given_rubric),
        });
    }
    Ok(())
}

fn check_judge(entries: &[crate::journal::event::Entry], judge: &dyn Judge) -> Result<(), Error> {
    let rubric = judge.rubric().map(|r| hash::sha256_hex(r.as_bytes()));
    // G8: enforced here; removing this check fails tests/guards_enforced.rs::manifest_rewritten_to_another_judge_is_refused_at_the_verdict
    if let Some((j, r)) = entries.iter().find_map(|e| match &e.event {
        Event::Manifest {
            judge, rubric_hash, ..
        } => Some((judge.clone(), rubric_hash.clone())),
        _ => None,
    }) && (j != judge.id() || r != rubric)
    {
        return Err(VerdictError::JudgeChanged {
            recorded: format!("{j} rubric {r:?}"),
            found: format!("{} rubric {rubric:?}", judge.id()),
        }
        .into());
    }
    Ok(())
}

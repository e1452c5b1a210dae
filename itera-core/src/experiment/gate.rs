//! The generalization gate (G35), `Scored -> Gated`: every change of the sprint is classified,
//! checked by the leak detector and the seen-vs-unseen test, and each arm is continued, locked,
//! blocked (a hardcode remains) or killed; from `Gated`, the next sprint opens (beyond the third only with a recorded gate
//! audit, G36).

// A refused move hands the experiment back inside its error (see `experiment/mod.rs`).
#![allow(clippy::result_large_err)]

use crate::experiment::sprint::SprintError;
use crate::experiment::{DevResults, Error, Experiment, Gated, Rejected, Scored};
use crate::iterate::gate::{self, ArmGate, ChangeClass, ChangeReview, GateOutcome, GateReport};
use crate::iterate::iteration::{IterationVerdict, Ledger, SPRINTS_WITHOUT_AUDIT, VersionRecord};
use crate::iterate::leak::contains_word;
use crate::journal::event::Event;

impl Experiment<Scored> {
    /// `gate` on a scored experiment (the public `gate` and `gate_unchanged` are in
    /// `transitions.rs`).
    pub(super) fn gate_scored(
        self,
        classes: &[(&str, u32, ChangeClass)],
    ) -> Result<Experiment<Gated>, Rejected<Scored>> {
        match gate_inner(&self, classes) {
            Ok(report) => Ok(Experiment {
                frame: self.frame,
                state: Gated {
                    scored: self.state,
                    report,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

impl Experiment<Gated> {
    /// The gate's report.
    pub fn gate_report(&self) -> &GateReport {
        &self.state.report
    }

    /// The dev results.
    pub fn dev(&self) -> &DevResults {
        &self.state.scored.dev
    }

    /// Gives up an arm the gate blocked (G35): instead of removing its hardcode, the arm is
    /// killed and does not reach the test set. Journaled as the latest gate's report with this
    /// arm's outcome turned to kill and `reason` recorded.
    pub fn give_up(self, arm: &str, reason: &str) -> Result<Experiment<Gated>, Rejected<Gated>> {
        let result = (|| {
            let store = &self.state.scored.split.registered.store;
            let ledger = Ledger::read(store)?;
            if ledger.concluded {
                return Err(Error::from(SprintError::Concluded));
            }
            if reason.trim().is_empty() {
                return Err(crate::frame::FrameError::Missing("reason").into());
            }
            let (Some(last), true) = (ledger.gates.last(), ledger.blocked.contains(arm)) else {
                return Err(SprintError::NotBlocked(arm.to_string()).into());
            };
            let mut report = last.clone();
            for a in report.arms.iter_mut().filter(|a| a.arm == arm) {
                a.outcome = GateOutcome::Kill;
                a.reason = format!("given up by the user: {} — {}", reason.trim(), a.reason);
            }
            store.append(Event::Gate(report.clone()))?;
            Ok(report)
        })();
        match result {
            Ok(report) => Ok(Experiment {
                frame: self.frame,
                state: Gated {
                    scored: self.state.scored,
                    report,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }

    /// Opens the next sprint (`Gated -> Scored`). Beyond the third sprint a gate audit — why
    /// another sprint is not dev-set fitting — must be recorded (G36); it turns the self-audit
    /// item red.
    pub fn next_sprint(self, audit: Option<&str>) -> Result<Experiment<Scored>, Rejected<Gated>> {
        let result = (|| {
            let store = &self.state.scored.split.registered.store;
            let ledger = Ledger::read(store)?;
            if ledger.concluded {
                return Err(Error::from(SprintError::Concluded));
            }
            let next = ledger.sprint + 1;
            let audit = audit.map(str::trim).filter(|a| !a.is_empty());
            if next > SPRINTS_WITHOUT_AUDIT && audit.is_none() {
                return Err(Error::from(SprintError::AuditRequired { sprint: next }));
            }
            store.append(Event::SprintOpened {
                sprint: next,
                audit: audit.map(str::to_string),
            })?;
            Ok(())
        })();
        match result {
            Ok(()) => Ok(Experiment {
                frame: self.frame,
                state: self.state.scored,
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

fn gate_inner(
    exp: &Experiment<Scored>,
    classes: &[(&str, u32, ChangeClass)],
) -> Result<GateReport, Error> {
    let store = exp.store();
    let ledger = Ledger::read(store)?;
    if ledger.gated
        && let Some(last) = ledger.gates.last()
    {
        // The gate for this sprint already ran (a resumed experiment): the same report.
        return Ok(last.clone());
    }
    if ledger.concluded {
        return Err(SprintError::Concluded.into());
    }
    let plan = &exp.state.split.plan;
    let baseline_spec = ledger
        .versions
        .first()
        .map(|v| v.spec.clone())
        .unwrap_or_default();
    // The registration's text: literals it has were fixed before any row was sampled (G1, G12).
    let registration = serde_json::to_string(&exp.frame).unwrap_or_default();
    // Evidence is train and dev only: the sealed test rows are not an input of the gate (G35,
    // G39; `tests/integrity_gate.rs::the_gate_never_reads_test_rows`).
    let scope = gate::LeakScope {
        baseline_spec: &baseline_spec,
        registration: &registration,
        train: &plan.train,
        dev: &plan.dev,
        revealed: &ledger.seen,
    };
    let seed = exp.frame.seed;
    let mut arms = Vec::new();
    for plan_arm in &exp.frame.arms {
        let arm = plan_arm.id.as_str();
        let Some(latest) = ledger.latest(arm) else {
            continue;
        };
        if ledger.killed.contains(arm) {
            continue;
        }
        // Every change still in effect since the last version a gate passed — not only this
        // sprint's: a hardcode that blocked an earlier gate stays under review until it is
        // removed or reverted (`tests/integrity_gate.rs::
        // a_blocked_hardcode_cannot_slip_through_a_later_sprint`).
        let passed = ledger.passed.get(arm).copied();
        let mut reviewed = ledger.live_changes(arm, passed.unwrap_or(0));
        if reviewed.is_empty() && passed.is_none() {
            reviewed = vec![latest];
        }
        let latest_text = latest.spec.to_lowercase();
        let mut changes = Vec::new();
        for v in &reviewed {
            changes.push(review(
                exp,
                &ledger,
                arm,
                v,
                &scope,
                &latest_text,
                classes,
                seed,
            ));
        }
        let saturated = ledger.locked.contains(arm)
            || matches!(
                latest.outcome,
                Some(IterationVerdict::Neutral | IterationVerdict::Falsified)
            );
        let (outcome, reason) = gate::decide(&changes, saturated);
        arms.push(ArmGate {
            arm: arm.to_string(),
            version: latest.key.version,
            changes,
            outcome,
            reason,
        });
    }
    let report = GateReport {
        sprint: ledger.sprint,
        arms,
    };
    store.append(Event::Gate(report.clone()))?;
    Ok(report)
}

/// Reviews one change: its leaks still present in the latest spec, its seen-vs-unseen test, and
/// the class the gate counts (G35).
#[allow(clippy::too_many_arguments)]
fn review(
    exp: &Experiment<Scored>,
    ledger: &Ledger,
    arm: &str,
    v: &VersionRecord,
    scope: &gate::LeakScope<'_>,
    latest_text: &str,
    classes: &[(&str, u32, ChangeClass)],
    seed: u64,
) -> ChangeReview {
    let version = v.key.version;
    // An explicit revert goes back to a spec already reviewed: it adds nothing and is a
    // deleted change (`tests/integrity_gate.rs::a_revert_is_a_deleted_change_and_is_locked`).
    if let Some(to) = v.reverts_to {
        return ChangeReview {
            version,
            declared: v.class,
            class: ChangeClass::Deleted,
            leaks: Vec::new(),
            seen_unseen: None,
            reverts_to: Some(to),
        };
    }
    let prev = if version == 0 {
        None
    } else {
        ledger.previous(arm, version)
    };
    let prev_spec = prev.map_or(scope.baseline_spec, |p| p.spec.as_str());
    // A leak the latest spec no longer carries was removed by a later change.
    let leaks: Vec<_> = gate::detect_leaks(prev_spec, &v.spec, scope)
        .into_iter()
        .filter(|l| contains_word(latest_text, &l.literal))
        // A registered arm's numbers (timeouts, token limits, a retry count, "HANG_AT=20") are
        // settings fixed with the registration, before any dev row was seen (G1, G12): at v0
        // only names, ids, phrases and quoted strings count as leaks. Iterations are checked in
        // full (`itera-cli/tests/faults.rs::hung_and_flaky_command_arm_retried_to_the_clean_verdict`
        // fails if a v0 setting is read as a leak).
        .filter(|l| version > 0 || !l.literal.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .collect();
    let cube = &exp.state.dev.cube;
    let seen_unseen = prev.and_then(|p| {
        let new = cube
            .arms()
            .iter()
            .position(|k| k.arm == arm && k.spec_hash == v.key.spec_hash)?;
        let old = cube
            .arms()
            .iter()
            .position(|k| k.arm == arm && k.spec_hash == p.key.spec_hash)?;
        let pair = cube.paired(new, old);
        // Seen: revealed rows, and in k-fold mode every row of an open fold — the gain is judged
        // on the closed folds (METHOD.md §3; tests/integrity_hole15.rs::
        // small_data_gate_judges_generalization_on_the_closed_folds fails without the folds).
        let plan = &exp.state.split.plan;
        let open = plan.open_folds(ledger.sprint);
        let seen = |id: &crate::data::row::RowId| {
            ledger.seen.contains(id)
                || plan
                    .fold_of(id)
                    .zip(open)
                    .is_some_and(|(fold, open)| fold < open)
        };
        let gains: Vec<(f64, bool)> = pair
            .rows
            .iter()
            .zip(pair.diffs())
            .map(|(&r, d)| (d, seen(&cube.rows()[r])))
            .collect();
        gate::seen_unseen(&gains, seed ^ u64::from(version))
    });
    let declared = classes
        .iter()
        .find(|(a, ver, _)| *a == arm && *ver == version)
        .map(|c| c.2)
        .or(v.class);
    // A registered arm was fixed before any row was sampled (G1, G12): it cannot encode dev rows
    // by iteration, so unless declared otherwise it is a universal change and only the leak
    // detector applies to it. An unclassified iteration is a hardcode.
    // G35: "can't tell" is a hardcode; defaulting an iteration to universal fails
    // tests/sprints.rs::an_unclassified_iteration_counts_as_a_hardcode
    let default = if version == 0 {
        ChangeClass::Universal
    } else {
        ChangeClass::Hardcode
    };
    let memorizing = seen_unseen.as_ref().is_some_and(|s| s.memorization);
    // G35: enforced here (evidence overrides the label); removing it fails tests/integrity_gate.rs::
    // a_minority_hardcode_blocks_the_gate_and_is_never_locked and tests/sprints.rs::
    // gains_only_on_revealed_rows_are_flagged_as_memorization
    let class = if !leaks.is_empty() || memorizing {
        ChangeClass::Hardcode
    } else {
        declared.unwrap_or(default)
    };
    ChangeReview {
        version,
        declared,
        class,
        leaks,
        seen_unseen,
        reverts_to: None,
    }
}

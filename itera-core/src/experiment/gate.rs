//! The generalization gate (G35), `Scored -> Gated`: every change of the sprint is classified,
//! checked by the leak detector and the seen-vs-unseen test, and each arm is continued, locked
//! or killed; from `Gated`, the next sprint opens (beyond the third only with a recorded gate
//! audit, G36).

// A refused move hands the experiment back inside its error (see `experiment/mod.rs`).
#![allow(clippy::result_large_err)]

use crate::experiment::sprint::SprintError;
use crate::experiment::{DevResults, Error, Experiment, Gated, Rejected, Scored};
use crate::iterate::gate::{self, ArmGate, ChangeClass, ChangeReview, GateReport};
use crate::iterate::iteration::{IterationVerdict, Ledger, SPRINTS_WITHOUT_AUDIT, VersionRecord};
use crate::journal::event::Event;

impl Experiment<Scored> {
    /// The generalization gate (G35), `Scored -> Gated`: every change of this sprint (with no
    /// iteration at all, each arm's registered change against the baseline) is classified —
    /// `classes` gives `(arm, version, class)` for changes not classified when recorded;
    /// unclassified iterations count as hardcodes — then checked by the leak detector and the
    /// seen-vs-unseen test. Each arm is continued, locked or killed; the report is journaled.
    pub fn gate(
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

impl Experiment<Scored> {
    /// The gate with no classifications given: `gate(&[])`, named. Use it when no arm changed
    /// after registration (each arm's registered change is reviewed against the baseline), or
    /// when every iteration was classified as it was recorded. An iteration left unclassified
    /// counts as a hardcode (G35) — pass its class to [`Experiment::gate`] instead.
    pub fn gate_unchanged(self) -> Result<Experiment<Gated>, Rejected<Scored>> {
        self.gate(&[])
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

    /// Opens the next sprint (`Gated -> Scored`). Beyond the third sprint a gate audit — why
    /// another sprint is not dev-set fitting — must be recorded (G36); it turns the self-audit
    /// item red.
    pub fn next_sprint(self, audit: Option<&str>) -> Result<Experiment<Scored>, Rejected<Gated>> {
        let result = (|| {
            let store = &self.state.scored.split.registered.store;
            let ledger = Ledger::from_entries(&store.entries()?);
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
    let ledger = Ledger::from_entries(&store.entries()?);
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
    let cube = &exp.state.dev.cube;
    let baseline_spec = ledger
        .versions
        .first()
        .map(|v| v.spec.clone())
        .unwrap_or_default();
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
        let this_sprint: Vec<&VersionRecord> = ledger
            .versions
            .iter()
            .filter(|v| v.key.arm == arm && v.sprint == ledger.sprint && v.key.version > 0)
            .collect();
        let registered_only = this_sprint.is_empty() && ledger.gates.is_empty();
        let reviewed: Vec<&VersionRecord> = if registered_only {
            vec![latest]
        } else {
            this_sprint
        };
        let mut changes = Vec::new();
        for v in &reviewed {
            let prev_spec = if v.key.version == 0 {
                baseline_spec.clone()
            } else {
                ledger
                    .previous(arm, v.key.version)
                    .map(|p| p.spec.clone())
                    .unwrap_or_default()
            };
            let leaks = gate::detect_leaks(
                &prev_spec,
                &v.spec,
                &baseline_spec,
                &plan.train,
                &plan.dev,
                &plan.test,
            );
            let seen_unseen = if v.key.version == 0 {
                None
            } else {
                let new = cube
                    .arms()
                    .iter()
                    .position(|k| k.spec_hash == v.key.spec_hash);
                let prev_hash = ledger
                    .previous(arm, v.key.version)
                    .map(|p| p.key.spec_hash.clone());
                let prev =
                    prev_hash.and_then(|h| cube.arms().iter().position(|k| k.spec_hash == h));
                match (new, prev) {
                    (Some(n), Some(p)) => {
                        let pair = cube.paired(n, p);
                        let gains: Vec<(f64, bool)> = pair
                            .rows
                            .iter()
                            .zip(pair.diffs())
                            .map(|(&r, d)| (d, ledger.seen.contains(&cube.rows()[r])))
                            .collect();
                        gate::seen_unseen(&gains, seed ^ u64::from(v.key.version))
                    }
                    _ => None,
                }
            };
            let declared = classes
                .iter()
                .find(|(a, ver, _)| *a == arm && *ver == v.key.version)
                .map(|c| c.2)
                .or(v.class);
            // A registered arm was fixed before any row was sampled (G1, G12): it cannot encode
            // dev rows by iteration, so unless declared otherwise it is a universal change and
            // only the leak detector applies to it. An unclassified iteration is a hardcode.
            let default = if v.key.version == 0 {
                ChangeClass::Universal
            } else {
                ChangeClass::Hardcode
            };
            let memorizing = seen_unseen.as_ref().is_some_and(|s| s.memorization);
            let class = if !leaks.is_empty() || memorizing {
                ChangeClass::Hardcode
            } else {
                declared.unwrap_or(default)
            };
            changes.push(ChangeReview {
                version: v.key.version,
                declared,
                class,
                leaks,
                seen_unseen,
            });
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

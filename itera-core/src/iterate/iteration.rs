//! Iterations and sprints (G33, G34, G36): what a new arm version records (its hypothesis, one
//! change as a line diff of `spec()`), how its outcome is computed from the CI of (new − previous)
//! per-row differences, and the [`Ledger`] — the state of versions, sprints, reveals and gates,
//! derived from the journal alone (so a reopened experiment knows exactly where it stands).

use crate::data::row::RowId;
use crate::iterate::gate::{ChangeClass, GateOutcome, GateReport};
use crate::journal::event::{Entry, Event};
pub use crate::journal::record::{IterationVerdict, PathCheck};
use crate::journal::store::StoreError;
use crate::run::cube::ArmKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Iterations allowed per sprint (G34).
pub const SPRINT_CAP: u32 = 3;
/// Sprints allowed without a recorded gate audit (G36).
pub const SPRINTS_WITHOUT_AUDIT: u32 = 3;

/// One version of an arm, as the journal records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Arm id, version and spec hash.
    pub key: ArmKey,
    /// The spec text.
    pub spec: String,
    /// The sprint that produced it (0 = registered).
    pub sprint: u32,
    /// The hypothesis, written before the re-score.
    pub hypothesis: Option<String>,
    /// The declared change class.
    pub class: Option<ChangeClass>,
    /// Line diff against the previous version.
    pub diff: Option<String>,
    /// The outcome, once scored.
    pub outcome: Option<IterationVerdict>,
    /// The earlier version an explicit revert went back to: its spec equals that version's.
    pub reverts_to: Option<u32>,
    /// For a neutral (no-effect) outcome: whether the changed path ran on the rows the previous
    /// version failed (G38); `None` otherwise, and in journals written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_check: Option<PathCheck>,
}

/// Where an experiment stands, replayed from its journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// Every arm version, registration order then version order (baseline first).
    pub versions: Vec<VersionRecord>,
    /// The current sprint (1-based).
    pub sprint: u32,
    /// Iterations recorded in the current sprint.
    pub sprint_iterations: u32,
    /// Whether the current sprint is closed (falsified, saturated or cap reached).
    pub sprint_closed: bool,
    /// Whether a gate ran after the current sprint's last iteration.
    pub gated: bool,
    /// Revealed dev rows (the seen set, G17).
    pub seen: BTreeSet<RowId>,
    /// Arms killed by a gate.
    pub killed: BTreeSet<String>,
    /// Arms locked by a gate.
    pub locked: BTreeSet<String>,
    /// Arms whose latest gate outcome is blocked (a hardcode remains, G35): nothing may be
    /// sealed until a later gate passes them or they are given up.
    pub blocked: BTreeSet<String>,
    /// Per arm, the latest version a gate passed (continue or lock): the one sealing locks (G37).
    pub passed: BTreeMap<String, u32>,
    /// Gate audits recorded to open sprints beyond the third (G36).
    pub audits: Vec<(u32, String)>,
    /// Gate reports, in order.
    pub gates: Vec<GateReport>,
    /// The verdict was reached: nothing may follow (G46).
    pub concluded: bool,
}

impl Ledger {
    /// The ledger of `store`'s journal, read without decoding what the ledger does not use: the
    /// call records and the split (issue #17: each phase decoded all 140k lines to build it).
    pub(crate) fn read(store: &crate::journal::store::Store) -> Result<Ledger, StoreError> {
        Ok(Ledger::from_entries(
            &store.entries_except(&["call", "split"])?,
        ))
    }

    /// Replays the journal.
    pub fn from_entries(entries: &[Entry]) -> Ledger {
        let mut l = Ledger {
            sprint: 1,
            ..Ledger::default()
        };
        for e in entries {
            match &e.event {
                Event::Manifest { arms, specs, .. } => {
                    for ((arm, hash), spec) in arms.iter().zip(specs) {
                        l.versions.push(VersionRecord {
                            key: ArmKey {
                                arm: arm.clone(),
                                version: 0,
                                spec_hash: hash.clone(),
                            },
                            spec: spec.clone(),
                            sprint: 0,
                            hypothesis: None,
                            class: None,
                            diff: None,
                            outcome: None,
                            reverts_to: None,
                            path_check: None,
                        });
                    }
                }
                Event::Reveal { row } => {
                    l.seen.insert(row.clone());
                }
                // Rows shown for the label audit were read by a person: they are seen (G17, G18).
                Event::LabelAuditShown { rows } => {
                    l.seen.extend(rows.iter().cloned());
                }
                Event::Iteration {
                    arm,
                    version,
                    sprint,
                    hypothesis,
                    class,
                    spec,
                    spec_hash,
                    diff,
                    ..
                } => {
                    // A spec equal to an earlier version's is an explicit revert: the only way
                    // the library records one (`Experiment::revert`).
                    let reverts_to = l
                        .versions
                        .iter()
                        .find(|v| &v.key.arm == arm && &v.key.spec_hash == spec_hash)
                        .map(|v| v.key.version);
                    l.versions.push(VersionRecord {
                        key: ArmKey {
                            arm: arm.clone(),
                            version: *version,
                            spec_hash: spec_hash.clone(),
                        },
                        spec: spec.clone(),
                        sprint: *sprint,
                        hypothesis: Some(hypothesis.clone()),
                        class: *class,
                        diff: Some(diff.clone()),
                        outcome: None,
                        reverts_to,
                        path_check: None,
                    });
                    l.sprint_iterations += 1;
                    l.gated = false;
                    if l.sprint_iterations >= SPRINT_CAP {
                        l.sprint_closed = true;
                    }
                }
                Event::IterationOutcome {
                    arm,
                    version,
                    outcome,
                    closes_sprint,
                    path_check,
                    ..
                } => {
                    if let Some(v) = l
                        .versions
                        .iter_mut()
                        .find(|v| &v.key.arm == arm && v.key.version == *version)
                    {
                        v.outcome = Some(*outcome);
                        v.path_check = path_check.clone();
                    }
                    if *closes_sprint {
                        l.sprint_closed = true;
                    }
                }
                Event::Gate(report) => {
                    for a in &report.arms {
                        l.blocked.remove(&a.arm);
                        match a.outcome {
                            GateOutcome::Kill => {
                                l.killed.insert(a.arm.clone());
                            }
                            GateOutcome::Lock => {
                                l.locked.insert(a.arm.clone());
                                l.passed.insert(a.arm.clone(), a.version);
                            }
                            GateOutcome::Continue => {
                                l.passed.insert(a.arm.clone(), a.version);
                            }
                            GateOutcome::Blocked => {
                                l.blocked.insert(a.arm.clone());
                            }
                        }
                    }
                    l.gates.push(report.clone());
                    l.gated = true;
                    l.sprint_closed = true;
                }
                Event::VerdictReached { .. } => l.concluded = true,
                Event::SprintOpened { sprint, audit } => {
                    l.sprint = *sprint;
                    l.sprint_iterations = 0;
                    l.sprint_closed = false;
                    l.gated = false;
                    if let Some(a) = audit {
                        l.audits.push((*sprint, a.clone()));
                    }
                }
                _ => {}
            }
        }
        l
    }

    /// The latest version of an arm.
    pub fn latest(&self, arm: &str) -> Option<&VersionRecord> {
        self.versions.iter().rfind(|v| v.key.arm == arm)
    }

    /// The version before `version` of an arm.
    pub fn previous(&self, arm: &str, version: u32) -> Option<&VersionRecord> {
        self.versions
            .iter()
            .rfind(|v| v.key.arm == arm && v.key.version < version)
    }

    /// The changes of an arm still in effect after `after` (exclusive), in order: versions later
    /// than `after`, less those an explicit revert undid (a revert to v_k undoes every version
    /// between v_k and itself; the revert itself stays, as a deleted change).
    pub fn live_changes(&self, arm: &str, after: u32) -> Vec<&VersionRecord> {
        let mut live: Vec<&VersionRecord> = Vec::new();
        for v in self.versions.iter().filter(|v| v.key.arm == arm) {
            if let Some(to) = v.reverts_to {
                live.retain(|l| l.key.version <= to);
            }
            if v.key.version > after {
                live.push(v);
            }
        }
        live.retain(|l| l.key.version > after);
        live
    }

    /// Every version's key, in cube order.
    pub fn keys(&self) -> Vec<ArmKey> {
        self.versions.iter().map(|v| v.key.clone()).collect()
    }
}

/// A line diff of two specs: unchanged lines prefixed `"  "`, removed `"- "`, added `"+ "`
/// (longest common subsequence).
///
/// ```
/// let d = itera_core::iterate::iteration::line_diff("a\nb\nc", "a\nB\nc");
/// assert_eq!(d, "  a\n- b\n+ B\n  c");
/// ```
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out.join("\n")
}

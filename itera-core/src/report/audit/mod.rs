//! The self-audit of METHOD.md §6, computed from the journal and never typed: one
//! [`AuditItem`] per item of the method's checklist, each derived mechanically from the
//! journal's events (their order, their counts, their numbers) with evidence that cites journal
//! lines. `conclusion.md` renders these items; nothing else decides a mark.
//!
//! This module owns the shared vocabulary ([`Storage`], [`AuditStatus`], [`AuditItem`], the
//! [`ITEMS`] list, [`self_audit`]) and the `Journal` index every item reads; the items
//! themselves live in one submodule per section of the checklist: `setup` (registration, split,
//! pilot), `dev` (noise and judging), `sprints` (iterations, gates, locking) and `verdict` (the
//! test pass and what the verdict reports).

mod dev;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod fixture;
mod power;
mod setup;
mod sprints;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests_crossjudge;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests_integrity;
mod verdict;

use dev::{blind_judge, cross_judge, effect_vs_noise, noise_floor};
use setup::{distribution, fresh_test_set, pilot, registered_first};
use sprints::{
    gates_between_sprints, hypotheses_first, latest_locked, one_change, sprint_cap, sprint_count,
};
use verdict::{
    failure_mode_deltas, label_noise, negative_control, per_slice, sealed_once,
    severity_disagreement, stratified_by_mode,
};

use crate::data::row::RowId;
use crate::data::split::Part;
use crate::frame::{FailurePolicy, Frame};
use crate::iterate::iteration::Ledger;
use crate::journal::event::{Entry, Event};
use crate::report::index::{Call, JournalIndex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the journal was kept: it decides how far the one-shot test guarantee reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    /// An experiment directory: a reopened journal refuses a second test pass, across processes.
    Directory,
    /// Memory: the guarantee is the typestate's move semantics, within one process only.
    InMemory,
}

/// The outcome of one self-audit item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditStatus {
    /// The journal shows the guard held.
    Pass,
    /// The journal shows it did not, or cannot show that it did.
    Fail,
    /// The item does not apply to this frame.
    NotApplicable,
}

/// One self-audit item: what is checked, its status and the evidence from the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditItem {
    /// The item, as METHOD.md §6 names it.
    pub item: String,
    /// Its status.
    pub status: AuditStatus,
    /// The numbers and journal lines it rests on.
    pub evidence: String,
}

impl AuditItem {
    fn new(item: &str, status: AuditStatus, evidence: impl Into<String>) -> AuditItem {
        AuditItem {
            item: item.to_string(),
            status,
            evidence: evidence.into(),
        }
    }

    fn pass_if(item: &str, ok: bool, evidence: impl Into<String>) -> AuditItem {
        let status = if ok {
            AuditStatus::Pass
        } else {
            AuditStatus::Fail
        };
        AuditItem::new(item, status, evidence)
    }
}

/// The self-audit items, in METHOD.md §6 order (each is one entry of [`self_audit`]'s result).
pub(crate) const ITEMS: [&str; 22] = [
    "test sealed and opened once",
    "frame and metric registered before data, no drift",
    "pilot passed",
    "distribution audit",
    "noise floor measured",
    "effect ≥ 2× noise",
    "cross-judge or deterministic scorer",
    "blind judge",
    "one change per iteration",
    "hypotheses written first",
    "sprint cap",
    "gate run between sprints",
    "sprint count ≤ 3",
    "latest gate-passed iteration locked",
    "per-slice scores reported",
    "failure-mode deltas",
    "severity disagreement surfaced",
    "split stratified by failure mode",
    "label-noise audit",
    "negative control",
    "test set fresh (no row opened by an earlier experiment)",
    "test set powered for T and every major slice (G20)",
];

/// The report's tables the audit cross-checks (from `data.json`, whose hash the verdict
/// journals), so an item never contradicts the conclusion it is printed in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables<'a> {
    /// Per arm, per category: the test rows the failure-mode table counts.
    pub failure_counts: &'a BTreeMap<String, BTreeMap<String, usize>>,
    /// The severity-weighted and unweighted test scores, when severity is registered.
    pub severity: Option<&'a crate::report::data::SeverityInfo>,
}

impl<'a> Tables<'a> {
    /// The tables of a written report.
    pub(crate) fn of(report: &'a crate::report::data::ReportData) -> Tables<'a> {
        Tables {
            failure_counts: &report.failure_modes.test_counts,
            severity: report.severity.as_ref(),
        }
    }
}

/// [`self_audit`] of a slice of entries (the unit tests' journals).
#[cfg(test)]
pub(crate) fn self_audit_entries(
    entries: &[Entry],
    frame: &Frame,
    storage: Storage,
    tables: Option<Tables<'_>>,
) -> Vec<AuditItem> {
    let ix = JournalIndex::of(entries, &frame.arm_ids());
    self_audit(&ix, frame, storage, tables)
}

/// Computes the self-audit from a verified journal (its index is only read from a
/// [`crate::Store`], which checks the hash chain as it reads), the registered frame, where the
/// journal was kept and the report's tables (`None` before a verdict, or in unit tests). One
/// item per entry of [`ITEMS`], in that order. The index's outputs were checked for the frame's
/// arm ids (the blind-judge item).
pub(crate) fn self_audit(
    ix: &JournalIndex,
    frame: &Frame,
    storage: Storage,
    tables: Option<Tables<'_>>,
) -> Vec<AuditItem> {
    let j = Journal::new(ix, frame);
    vec![
        sealed_once(&j, storage),
        registered_first(&j),
        pilot(&j),
        distribution(&j),
        noise_floor(&j),
        effect_vs_noise(&j),
        cross_judge(&j),
        blind_judge(&j),
        one_change(&j),
        hypotheses_first(&j),
        sprint_cap(&j),
        gates_between_sprints(&j),
        sprint_count(&j),
        latest_locked(&j),
        per_slice(&j),
        failure_mode_deltas(&j, tables),
        severity_disagreement(&j, tables),
        stratified_by_mode(&j),
        label_noise(&j),
        negative_control(&j),
        fresh_test_set(&j, storage),
        power::powered(&j),
    ]
}

/// The journal, indexed for the audit: `entries` are its decisions (every entry but the calls),
/// `ix` holds the calls.
struct Journal<'a> {
    entries: &'a [Entry],
    ix: &'a JournalIndex,
    frame: &'a Frame,
    ledger: Ledger,
}

/// 1-based journal line of an entry.
fn line(e: &Entry) -> u64 {
    e.seq + 1
}

fn lines(es: &[&Entry]) -> String {
    es.iter()
        .map(|e| line(e).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn pp(x: f64) -> String {
    crate::iterate::diagnosis::pp(x)
}

/// A magnitude in pp, without a sign.
fn pp_abs(x: f64) -> String {
    pp(x.abs()).trim_start_matches('+').to_string()
}

impl<'a> Journal<'a> {
    fn new(ix: &'a JournalIndex, frame: &'a Frame) -> Journal<'a> {
        Journal {
            entries: ix.entries(),
            ix,
            frame,
            ledger: Ledger::from_entries(ix.entries()),
        }
    }

    fn of(&self, kind: &str) -> Vec<&'a Entry> {
        self.entries
            .iter()
            .filter(|e| e.event.kind() == kind)
            .collect()
    }

    fn first(&self, kind: &str) -> Option<&'a Entry> {
        self.entries.iter().find(|e| e.event.kind() == kind)
    }

    fn first_call(&self, part: Part) -> Option<Call<'a>> {
        self.ix.calls().find(|c| c.part == part)
    }

    fn candidates(&self) -> Vec<&'a str> {
        self.frame.arms.iter().map(|a| a.id.as_str()).collect()
    }

    /// Per row, the scores of one arm version's calls on a part (failed calls per the policy).
    fn scores(&self, arm: &str, version: u32, part: Part) -> BTreeMap<RowId, Vec<f64>> {
        let mut out: BTreeMap<RowId, Vec<f64>> = BTreeMap::new();
        for c in self.ix.calls() {
            if c.arm != arm || c.version != version || c.part != part {
                continue;
            }
            match c.score {
                Some(score) => out.entry(RowId(c.row.into())).or_default().push(score),
                None => {
                    if self.frame.failure_policy == FailurePolicy::ScoreZero {
                        out.entry(RowId(c.row.into())).or_default().push(0.0);
                    }
                }
            }
        }
        out
    }

    /// Per-row differences (arm − baseline) of row means, over rows both scored.
    fn diffs(&self, arm: &str, version: u32, part: Part) -> Vec<f64> {
        let a = self.scores(arm, version, part);
        let b = self.scores(&self.frame.baseline.id, 0, part);
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        a.iter()
            .filter_map(|(row, xs)| b.get(row).map(|ys| mean(xs) - mean(ys)))
            .collect()
    }

    /// σ for an arm: the larger of its and the baseline's noise SD from `dev-scored`.
    fn sigma(&self, arm: &str) -> Option<f64> {
        let noise = self.entries.iter().find_map(|e| match &e.event {
            Event::DevScored { noise, .. } => Some(noise),
            _ => None,
        })?;
        let sd = |id: &str| {
            noise
                .iter()
                .filter(|n| n.arm == id)
                .map(|n| n.aggregate_sd)
                .reduce(f64::max)
        };
        Some(sd(arm)?.max(sd(&self.frame.baseline.id)?))
    }

    /// The versions that ran on test: from `sealed-opened`, else the `sealed` lock.
    fn test_versions(&self) -> BTreeMap<String, u32> {
        let opened = self.entries.iter().find_map(|e| match &e.event {
            Event::SealedOpened { arms, .. } => Some(arms.clone()),
            Event::Sealed { locked, .. } => Some(locked.clone()),
            _ => None,
        });
        opened
            .unwrap_or_default()
            .into_iter()
            .filter(|k| k.arm != self.frame.baseline.id)
            .map(|k| (k.arm, k.version))
            .collect()
    }

    /// The effect an arm shows: on test when it ran there, else on dev at its latest version.
    fn effect(&self, arm: &str) -> Option<(f64, usize, &'static str, u32)> {
        if let Some(v) = self.test_versions().get(arm) {
            let d = self.diffs(arm, *v, Part::Test);
            if !d.is_empty() {
                return Some((mean(&d), d.len(), "test", *v));
            }
        }
        let v = self.ledger.latest(arm).map_or(0, |r| r.key.version);
        for version in [v, 0] {
            let d = self.diffs(arm, version, Part::Dev);
            if !d.is_empty() {
                return Some((mean(&d), d.len(), "dev", version));
            }
        }
        None
    }

    fn verdict(&self) -> Option<(&'a Entry, crate::decide::rules::Decision, Option<&'a str>)> {
        self.entries.iter().find_map(|e| match &e.event {
            Event::VerdictReached { decision, arm, .. } => Some((e, *decision, arm.as_deref())),
            _ => None,
        })
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

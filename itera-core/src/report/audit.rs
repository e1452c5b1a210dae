//! The self-audit of METHOD.md §6, computed from the journal and never typed: one
//! [`AuditItem`] per item of the method's checklist, each derived mechanically from the
//! journal's events (their order, their counts, their numbers) with evidence that cites journal
//! lines. `conclusion.md` renders these items; nothing else decides a mark.

use crate::data::row::RowId;
use crate::data::split::Part;
use crate::frame::{FailurePolicy, Frame};
use crate::hash;
use crate::iterate::gate::GateOutcome;
use crate::iterate::iteration::{Ledger, SPRINT_CAP, SPRINTS_WITHOUT_AUDIT};
use crate::journal::event::{CallOutcome, Entry, Event};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
pub const ITEMS: [&str; 20] = [
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
];

/// Computes the self-audit from a verified journal (entries are only obtained from a
/// [`crate::Store`], which checks the hash chain as it reads), the registered frame and where the
/// journal was kept. One item per entry of [`ITEMS`], in that order.
pub fn self_audit(entries: &[Entry], frame: &Frame, storage: Storage) -> Vec<AuditItem> {
    let j = Journal::new(entries, frame);
    vec![
        sealed_once(&j, storage),
        registered_first(&j),
        pilot(&j),
        distribution(&j),
        noise_floor(&j),
        effect_vs_noise(&j),
        cross_judge(&j),
        blind_judge(),
        one_change(&j),
        hypotheses_first(&j),
        sprint_cap(&j),
        gates_between_sprints(&j),
        sprint_count(&j),
        latest_locked(&j),
        per_slice(&j),
        failure_mode_deltas(&j),
        severity_disagreement(&j),
        stratified_by_mode(&j),
        label_noise(&j),
        negative_control(&j),
    ]
}

/// The journal, indexed for the audit.
struct Journal<'a> {
    entries: &'a [Entry],
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
    fn new(entries: &'a [Entry], frame: &'a Frame) -> Journal<'a> {
        Journal {
            entries,
            frame,
            ledger: Ledger::from_entries(entries),
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

    fn first_call(&self, part: Part) -> Option<&'a Entry> {
        self.entries
            .iter()
            .find(|e| matches!(&e.event, Event::Call(c) if c.part == part))
    }

    fn candidates(&self) -> Vec<&'a str> {
        self.frame.arms.iter().map(|a| a.id.as_str()).collect()
    }

    /// Per row, the scores of one arm version's calls on a part (failed calls per the policy).
    fn scores(&self, arm: &str, version: u32, part: Part) -> BTreeMap<RowId, Vec<f64>> {
        let mut out: BTreeMap<RowId, Vec<f64>> = BTreeMap::new();
        for e in self.entries {
            let Event::Call(c) = &e.event else { continue };
            if c.arm != arm || c.version != version || c.part != part {
                continue;
            }
            match &c.outcome {
                CallOutcome::Scored { score, .. } => {
                    out.entry(c.row.clone()).or_default().push(*score);
                }
                CallOutcome::Failed { .. } => {
                    if self.frame.failure_policy == FailurePolicy::ScoreZero {
                        out.entry(c.row.clone()).or_default().push(0.0);
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

fn sealed_once(j: &Journal<'_>, storage: Storage) -> AuditItem {
    let item = ITEMS[0];
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    let split = j.entries.iter().find_map(|e| match &e.event {
        Event::Split {
            test_commitment,
            test_n,
            ..
        } => Some((e, test_commitment.as_str(), *test_n)),
        _ => None,
    });
    match split {
        Some((e, c, n)) if c.len() == 64 => facts.push(format!(
            "journal line {}: {n} test rows sealed under commitment {}…",
            line(e),
            c.get(..12).unwrap_or(c)
        )),
        Some((e, _, _)) => problems.push(format!(
            "journal line {}: the split carries no SHA-256 test commitment",
            line(e)
        )),
        None => problems.push("no split in the journal".to_string()),
    }
    let opened = j.of("sealed-opened");
    match opened.len() {
        0 => problems.push("the sealed test set was never opened (no sealed-opened event)".into()),
        1 => facts.push(format!("opened once, at journal line {}", line(opened[0]))),
        n => problems.push(format!(
            "the sealed test set was opened {n} times (journal lines {})",
            lines(&opened)
        )),
    }
    for e in &opened {
        if let (
            Event::SealedOpened {
                test_commitment,
                test_n,
                ..
            },
            Some((_, c, n)),
        ) = (&e.event, split)
            && (test_commitment != c || *test_n != n)
        {
            problems.push(format!(
                "journal line {}: the commitment or size opened differs from the split's",
                line(e)
            ));
        }
    }
    let verdicts = j.of("verdict");
    if verdicts.len() > 1 {
        problems.push(format!(
            "{} verdicts (journal lines {})",
            verdicts.len(),
            lines(&verdicts)
        ));
    }
    let opened_at = opened.first().map_or(u64::MAX, |e| e.seq);
    let allowed: BTreeSet<(String, u32)> = opened
        .first()
        .map(|e| match &e.event {
            Event::SealedOpened { arms, .. } => {
                arms.iter().map(|k| (k.arm.clone(), k.version)).collect()
            }
            _ => BTreeSet::new(),
        })
        .unwrap_or_default();
    let test_calls: Vec<&Entry> = j
        .entries
        .iter()
        .filter(|e| matches!(&e.event, Event::Call(c) if c.part == Part::Test))
        .collect();
    if let Some(early) = test_calls.iter().find(|e| e.seq < opened_at) {
        problems.push(format!(
            "journal line {}: a test call before the test set was opened",
            line(early)
        ));
    }
    if let Some(stray) = test_calls.iter().find(|e| match &e.event {
        Event::Call(c) => !allowed.contains(&(c.arm.clone(), c.version)),
        _ => false,
    }) && opened_at != u64::MAX
    {
        problems.push(format!(
            "journal line {}: a test call by a version that was not opened for test (G39)",
            line(stray)
        ));
    }
    facts.push(format!("{} test call(s)", test_calls.len()));
    facts.push(match storage {
        Storage::Directory => "the journal lives in a directory: a reopened experiment replays it \
                               and refuses a second opening, across processes"
            .to_string(),
        Storage::InMemory => "the journal lives in memory: the one-shot guarantee is per process \
                              (move semantics of the typestate), not across processes"
            .to_string(),
    });
    let ok = problems.is_empty();
    problems.extend(facts);
    AuditItem::pass_if(item, ok, problems.join("; "))
}

fn registered_first(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[1];
    let regs = j.of("registered");
    let Some(reg) = regs.first() else {
        return AuditItem::new(item, AuditStatus::Fail, "no registration in the journal");
    };
    let mut problems = Vec::new();
    if regs.len() > 1 {
        problems.push(format!(
            "{} registrations (journal lines {})",
            regs.len(),
            lines(&regs)
        ));
    }
    let data = j
        .entries
        .iter()
        .find(|e| matches!(e.event, Event::Split { .. } | Event::Call(_)));
    let order = match data {
        Some(d) if d.seq > reg.seq => format!(
            "journal line {}: registered before the data ({} at line {})",
            line(reg),
            d.event.kind(),
            line(d)
        ),
        Some(d) => {
            problems.push(format!(
                "journal line {}: {} comes before the registration (line {})",
                line(d),
                d.event.kind(),
                line(reg)
            ));
            String::new()
        }
        None => format!("journal line {}: registered; no data yet", line(reg)),
    };
    let drift = match (&reg.event, hash::hash_value(j.frame)) {
        (Event::Registered { frame_hash, .. }, Ok(h)) if *frame_hash == h => format!(
            "the frame hashes to the registered {}… (no drift, G7)",
            h.get(..12).unwrap_or(&h)
        ),
        (Event::Registered { frame_hash, .. }, Ok(h)) => {
            problems.push(format!(
                "the frame hashes to {h}, the journal registered {frame_hash} (drift, G7)"
            ));
            String::new()
        }
        (_, Err(e)) => {
            problems.push(format!("the frame cannot be hashed: {e}"));
            String::new()
        }
        _ => String::new(),
    };
    let ok = problems.is_empty();
    let mut ev = problems;
    ev.extend([order, drift].into_iter().filter(|s| !s.is_empty()));
    ev.push(format!(
        "the hash chain of all {} lines verified when the journal was read",
        j.entries.len()
    ));
    AuditItem::pass_if(item, ok, ev.join("; "))
}

fn pilot(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[2];
    let failed = j.of("pilot-failed").len();
    let passed = j.first("pilot-passed");
    let first_dev = j.first_call(Part::Dev);
    let Some(p) = passed else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("no pilot-passed event; {failed} failed pilot(s)"),
        );
    };
    let mut problems = Vec::new();
    if let Some(d) = first_dev
        && d.seq < p.seq
    {
        problems.push(format!(
            "the first dev call (line {}) precedes the passed pilot (line {})",
            line(d),
            line(p)
        ));
    }
    if let Event::PilotPassed { arms, row } = &p.event {
        let piloted: BTreeSet<&str> = arms.iter().map(|a| a.arm.as_str()).collect();
        let missing: Vec<&str> = j
            .frame
            .arm_ids()
            .into_iter()
            .filter(|a| !piloted.contains(a))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("arms never piloted: {}", missing.join(", ")));
        }
        let ok = problems.is_empty();
        let first = first_dev.map_or("no dev call yet".to_string(), |d| {
            format!("the first dev call is at line {}", line(d))
        });
        problems.push(format!(
            "journal line {}: pilot passed on row {row} for {} arm(s); {first}; {failed} failed pilot(s) before it",
            line(p),
            arms.len()
        ));
        return AuditItem::pass_if(item, ok, problems.join("; "));
    }
    AuditItem::new(item, AuditStatus::Fail, "unreadable pilot event")
}

fn distribution(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[3];
    let Some((e, audit, overrides)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Split {
            audit, overrides, ..
        } => Some((e, audit, overrides)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no split, so no distribution audit",
        );
    };
    if audit.total == 0 || audit.slices.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("journal line {}: the split's audit is empty", line(e)),
        );
    }
    let mut empty = Vec::new();
    for s in audit.slices.iter().filter(|s| s.source > 0) {
        for (part, n) in [
            (Part::Train, s.train),
            (Part::Dev, s.dev),
            (Part::Test, s.test),
        ] {
            if n == 0 {
                let why = overrides
                    .iter()
                    .find(|o| o.slice == s.slice && o.part == part);
                empty.push((s.slice.clone(), part, why.map(|o| o.reason.clone())));
            }
        }
    }
    let unjustified: Vec<String> = empty
        .iter()
        .filter(|(_, _, why)| why.is_none())
        .map(|(s, p, _)| format!("{s} is empty in {p} without an override"))
        .collect();
    let mut ev = vec![format!(
        "journal line {}: {} rows, {} slice(s) × train/dev/test counted against the source's shares",
        line(e),
        audit.total,
        audit.slices.len()
    )];
    let mut ok = unjustified.is_empty();
    ev.extend(unjustified);
    let overridden: Vec<String> = empty
        .iter()
        .filter_map(|(s, p, why)| why.as_ref().map(|w| format!("{s} empty in {p} (\"{w}\")")))
        .collect();
    if !overridden.is_empty() {
        ev.push(format!("warning, overrides: {}", overridden.join("; ")));
    }
    if !audit.warnings.is_empty() {
        ev.push(format!("warnings: {}", audit.warnings.join("; ")));
    }
    if let Some(first_call) = j.first_call(Part::Dev)
        && first_call.seq < e.seq
    {
        ok = false;
        ev.push("dev scoring started before the audit".into());
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

fn noise_floor(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[4];
    let Some((e, noise)) = j.entries.iter().find_map(|e| match &e.event {
        Event::DevScored { noise, .. } => Some((e, noise)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no dev-scored event: no noise floor",
        );
    };
    let ids = j.frame.arm_ids();
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|a| !noise.iter().any(|n| n.arm == *a))
        .collect();
    let per_arm: Vec<String> = noise
        .iter()
        .map(|n| {
            format!(
                "{} v{} σ = {} over {} trial(s)",
                n.arm,
                n.version,
                pp_abs(n.aggregate_sd),
                n.per_trial.len()
            )
        })
        .collect();
    let mut ev = vec![format!("journal line {}: {}", line(e), per_arm.join(", "))];
    if !missing.is_empty() {
        ev.push(format!("no noise for {}", missing.join(", ")));
    }
    let trials = j.frame.trials;
    let ok = missing.is_empty() && (trials >= 3 || j.frame.deterministic);
    if trials < 3 && j.frame.deterministic {
        ev.push(format!(
            "{trials} trial(s) per arm with arms declared deterministic: σ = 0 by declaration, so power is the binding constraint"
        ));
    } else if trials < 3 {
        ev.push(format!(
            "{trials} trial(s) per arm for non-deterministic arms (G25 needs 3)"
        ));
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

fn effect_vs_noise(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[5];
    let verdict = j.verdict();
    let claimed = verdict.and_then(|(_, d, arm)| {
        matches!(
            d,
            crate::decide::rules::Decision::Ship | crate::decide::rules::Decision::ShipNarrowly
        )
        .then_some(arm)
        .flatten()
    });
    let mut ev = Vec::new();
    let mut ok = true;
    let mut any = false;
    for arm in j.candidates() {
        if j.ledger.killed.contains(arm) {
            ev.push(format!("{arm}: killed by the gate"));
            continue;
        }
        let (Some((d, n, part, v)), Some(s)) = (j.effect(arm), j.sigma(arm)) else {
            ev.push(format!("{arm}: no paired scores or noise floor"));
            continue;
        };
        any = true;
        let signal = d.abs() >= 2.0 * s;
        let words = if signal {
            "≥ 2σ: signal"
        } else {
            "< 2σ: within noise, counted as no effect"
        };
        ev.push(format!(
            "{arm} v{v}: |Δ_{part}| = {} over {n} rows vs 2σ = {} ({words})",
            pp_abs(d),
            pp_abs(2.0 * s)
        ));
        if claimed == Some(arm) && !signal {
            ok = false;
            ev.push(format!(
                "the verdict claims an effect for {arm} that is within noise"
            ));
        }
    }
    let all_killed = j.candidates().iter().all(|a| j.ledger.killed.contains(*a));
    if all_killed {
        ev.push("no effect is claimed".into());
    }
    AuditItem::pass_if(item, ok && (any || all_killed), ev.join("; "))
}

fn cross_judge(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[6];
    let Some((m, judge, family, arm_families)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Manifest {
            judge,
            judge_family,
            arm_families,
            ..
        } => Some((e, judge, judge_family, arm_families)),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no run manifest: judge unknown");
    };
    let Some(family) = family else {
        return AuditItem::new(
            item,
            AuditStatus::Pass,
            format!(
                "journal line {}: judge {judge} is a deterministic scorer (no model family): the cross-judge check does not apply (G11)",
                line(m)
            ),
        );
    };
    if !arm_families.is_empty()
        && !arm_families
            .iter()
            .any(|f| f.as_deref() == Some(family.as_str()))
    {
        return AuditItem::new(
            item,
            AuditStatus::Pass,
            format!(
                "journal line {}: LLM judge {judge} (family {family}) shares no arm's model family: the cross-judge check is not required (G29)",
                line(m)
            ),
        );
    }
    match j.entries.iter().find_map(|e| match &e.event {
        Event::CrossJudge {
            second_judge,
            rows,
            agree,
            disagree,
            passed,
            ..
        } => Some((e, second_judge, rows.len(), agree, disagree, *passed)),
        _ => None,
    }) {
        Some((e, second, n, agree, disagree, passed)) => AuditItem::pass_if(
            item,
            passed,
            format!(
                "journal line {}: {second} re-scored {n} dev rows; direction agrees on {agree}, disagrees on {disagree} ({})",
                line(e),
                if passed {
                    "judge trusted"
                } else {
                    "metric too subjective"
                }
            ),
        ),
        None => AuditItem::new(
            item,
            AuditStatus::Fail,
            format!(
                "journal line {}: LLM judge {judge} (family {family}) and no cross-judge event; the journal does not record the arms' families, so it cannot show the check was not required",
                line(m)
            ),
        ),
    }
}

fn blind_judge() -> AuditItem {
    AuditItem::new(
        ITEMS[7],
        AuditStatus::Pass,
        "by construction: Judge::score receives a JudgeView (the row's input and expected value) and the output, never an arm id or name (G30); asserted by itera-core/tests/runner.rs `the_judge_never_sees_an_arm_id`",
    )
}

/// Changed lines and hunks (runs of changed lines) of a line diff.
fn diff_shape(diff: &str) -> (usize, usize) {
    let mut changed = 0;
    let mut hunks = 0;
    let mut in_hunk = false;
    for l in diff.lines() {
        let c = l.starts_with("+ ") || l.starts_with("- ") || l == "+" || l == "-";
        if c {
            changed += 1;
            if !in_hunk {
                hunks += 1;
            }
        }
        in_hunk = c;
    }
    (changed, hunks)
}

fn one_change(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[8];
    let arms: Vec<String> = j
        .frame
        .arms
        .iter()
        .map(|a| format!("{} (\"{}\")", a.id, a.change))
        .collect();
    let mut ev = vec![format!(
        "the frame's {} arm(s) each name one change: {}",
        arms.len(),
        arms.join(", ")
    )];
    let mut ok = j.frame.arms.iter().all(|a| !a.change.trim().is_empty());
    let its: Vec<&Entry> = j.of("iteration");
    if its.is_empty() {
        ev.push("no iterations".into());
    }
    for e in its {
        let Event::Iteration {
            arm,
            version,
            diff,
            spec_hash,
            old_spec_hash,
            ..
        } = &e.event
        else {
            continue;
        };
        let (changed, hunks) = diff_shape(diff);
        if changed == 0 || spec_hash == old_spec_hash {
            ok = false;
            ev.push(format!(
                "journal line {}: {arm} v{version} changes nothing",
                line(e)
            ));
        } else if hunks > 1 {
            ev.push(format!(
                "journal line {}: {arm} v{version} touches {hunks} places ({changed} lines): check they are one change",
                line(e)
            ));
        } else {
            ev.push(format!(
                "journal line {}: {arm} v{version} one hunk, {changed} line(s)",
                line(e)
            ));
        }
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

fn hypotheses_first(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[9];
    let its = j.of("iteration");
    if its.is_empty() {
        return AuditItem::new(item, AuditStatus::Pass, "no iterations");
    }
    let mut ok = true;
    let mut ev = Vec::new();
    for e in its {
        let Event::Iteration {
            arm,
            version,
            hypothesis,
            ..
        } = &e.event
        else {
            continue;
        };
        let first = j
            .entries
            .iter()
            .find(|c| matches!(&c.event, Event::Call(r) if &r.arm == arm && r.version == *version));
        if hypothesis.trim().is_empty() {
            ok = false;
            ev.push(format!(
                "journal line {}: {arm} v{version} has an empty hypothesis",
                line(e)
            ));
        }
        match first {
            Some(c) if c.seq < e.seq => {
                ok = false;
                ev.push(format!(
                    "{arm} v{version}: the first call (line {}) precedes its hypothesis (line {})",
                    line(c),
                    line(e)
                ));
            }
            Some(c) => ev.push(format!(
                "{arm} v{version}: hypothesis at line {}, first call at line {}",
                line(e),
                line(c)
            )),
            None => ev.push(format!(
                "{arm} v{version}: hypothesis at line {}, not scored yet",
                line(e)
            )),
        }
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

/// Iterations per sprint, from the `iteration` events.
fn per_sprint(j: &Journal<'_>) -> BTreeMap<u32, usize> {
    let mut out = BTreeMap::new();
    for e in j.entries {
        if let Event::Iteration { sprint, .. } = &e.event {
            *out.entry(*sprint).or_insert(0) += 1;
        }
    }
    out
}

fn sprint_cap(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[10];
    let counts = per_sprint(j);
    if counts.is_empty() {
        return AuditItem::new(item, AuditStatus::Pass, "no iterations");
    }
    let cap = SPRINT_CAP as usize;
    let ok = counts.values().all(|n| *n <= cap);
    let ev: Vec<String> = counts
        .iter()
        .map(|(s, n)| {
            format!(
                "sprint {s}: {n} iteration(s){}",
                if *n > cap { " (over the cap of 3)" } else { "" }
            )
        })
        .collect();
    AuditItem::pass_if(item, ok, ev.join("; "))
}

fn gates_between_sprints(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[11];
    let mut ok = true;
    let mut ev = Vec::new();
    let mut gate_since: Option<u64> = None;
    let mut iteration_since_gate = false;
    for e in j.entries {
        match &e.event {
            Event::Gate(_) => {
                gate_since = Some(line(e));
                iteration_since_gate = false;
            }
            Event::Iteration { .. } => iteration_since_gate = true,
            Event::SprintOpened { .. } | Event::Sealed { .. } => {
                let what = match &e.event {
                    Event::SprintOpened { sprint, .. } => format!("sprint {sprint} opened"),
                    _ => "sealed".to_string(),
                };
                match gate_since {
                    Some(g) if !iteration_since_gate => {
                        ev.push(format!(
                            "{what} at line {} after the gate at line {g}",
                            line(e)
                        ));
                    }
                    _ => {
                        ok = false;
                        ev.push(format!(
                            "{what} at line {} without a gate since the last sprint",
                            line(e)
                        ));
                    }
                }
                gate_since = None;
            }
            _ => {}
        }
    }
    if ev.is_empty() {
        let gates = j.of("gate").len();
        ev.push(format!(
            "{gates} gate(s); no sprint opened and not sealed yet"
        ));
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

fn sprint_count(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[12];
    let opened: Vec<(&Entry, u32, Option<&String>)> = j
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::SprintOpened { sprint, audit } => Some((e, *sprint, audit.as_ref())),
            _ => None,
        })
        .collect();
    let max = opened.iter().map(|o| o.1).max().unwrap_or(1).max(1);
    let mut ev = vec![format!("{max} sprint(s)")];
    for (e, s, audit) in &opened {
        if *s > SPRINTS_WITHOUT_AUDIT {
            ev.push(match audit {
                Some(a) => format!(
                    "sprint {s} opened at line {} with the recorded gate audit: \"{a}\"",
                    line(e)
                ),
                None => format!("sprint {s} opened at line {} without a gate audit", line(e)),
            });
        }
    }
    AuditItem::pass_if(item, max <= SPRINTS_WITHOUT_AUDIT, ev.join("; "))
}

fn latest_locked(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[13];
    let Some((e, locked, killed)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Sealed { locked, killed } => Some((e, locked, killed)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no sealed event: no arm was locked",
        );
    };
    let mut ok = true;
    let mut ev = Vec::new();
    for arm in j.candidates() {
        let gate_killed = j.ledger.killed.contains(arm);
        let reviewed = j
            .ledger
            .gates
            .iter()
            .flat_map(|g| g.arms.iter())
            .filter(|a| a.arm == arm && a.outcome != GateOutcome::Kill)
            .map(|a| a.version)
            .max();
        let expected = reviewed.and_then(|r| {
            j.ledger
                .versions
                .iter()
                .filter(|v| v.key.arm == arm && v.key.version <= r)
                .max_by_key(|v| v.key.version)
        });
        let got = locked.iter().find(|k| k.arm == arm);
        match (gate_killed, expected, got) {
            (true, _, None) if killed.iter().any(|k| k == arm) => {
                ev.push(format!("{arm}: killed by the gate, not locked"));
            }
            (false, Some(x), Some(g)) if x.key == *g => {
                let latest = j.ledger.latest(arm).map_or(g.version, |v| v.key.version);
                ev.push(format!(
                    "{arm}: locked v{} = latest gate-reviewed version{}",
                    g.version,
                    if latest > g.version {
                        format!(" (v{latest} was never gated)")
                    } else {
                        String::new()
                    }
                ));
            }
            (_, x, g) => {
                ok = false;
                ev.push(format!(
                    "{arm}: locked {}, latest gate-reviewed {}",
                    g.map_or("nothing".into(), |g| format!("v{}", g.version)),
                    x.map_or("none".into(), |x| format!("v{}", x.key.version))
                ));
            }
        }
    }
    AuditItem::pass_if(
        item,
        ok,
        format!("journal line {}: {}", line(e), ev.join("; ")),
    )
}

fn per_slice(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[14];
    let Some(audit) = j.entries.iter().find_map(|e| match &e.event {
        Event::Split { audit, .. } => Some(audit),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no split");
    };
    let present: Vec<_> = audit.slices.iter().filter(|s| s.source > 0).collect();
    if present.len() < 2 {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "one slice: the aggregate is the only slice",
        );
    }
    let counts: Vec<String> = present
        .iter()
        .map(|s| format!("{} {}", s.slice, s.test))
        .collect();
    let empty: Vec<&str> = present
        .iter()
        .filter(|s| s.test == 0)
        .map(|s| s.slice.as_str())
        .collect();
    let mut ev = vec![format!("test rows per slice: {}", counts.join(", "))];
    let verdict = j.verdict();
    match verdict {
        Some((e, _, _)) => ev.push(format!(
            "the verdict (line {}) reads per-slice effects (R3); data.json holds test_per_slice",
            line(e)
        )),
        None => ev.push("no verdict yet: no per-slice test scores".into()),
    }
    if !empty.is_empty() {
        ev.push(format!("no test rows, no score: {}", empty.join(", ")));
    }
    AuditItem::pass_if(item, verdict.is_some() && empty.is_empty(), ev.join("; "))
}

fn failure_mode_deltas(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[15];
    if j.frame.failure_modes.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no failure-mode taxonomy registered",
        );
    }
    let versions = j.test_versions();
    let mut arms = vec![(j.frame.baseline.id.clone(), 0u32)];
    arms.extend(versions);
    let mut ev = Vec::new();
    let mut calls = 0usize;
    for (arm, version) in &arms {
        let mut rows: BTreeMap<&str, BTreeSet<&RowId>> = BTreeMap::new();
        for e in j.entries {
            let Event::Call(c) = &e.event else { continue };
            if &c.arm != arm || c.version != *version || c.part != Part::Test {
                continue;
            }
            calls += 1;
            if let CallOutcome::Scored { failure_modes, .. } = &c.outcome {
                for m in failure_modes {
                    rows.entry(m.as_str()).or_default().insert(&c.row);
                }
            }
        }
        let per: Vec<String> = j
            .frame
            .failure_modes
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.id,
                    rows.get(m.id.as_str()).map_or(0, BTreeSet::len)
                )
            })
            .collect();
        ev.push(format!("{arm} v{version}: {}", per.join(", ")));
    }
    if calls == 0 {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no test calls: no failure-mode counts",
        );
    }
    let h = j
        .frame
        .highest_severity_mode()
        .map_or(String::new(), |m| format!(" (highest severity: {})", m.id));
    AuditItem::new(
        item,
        AuditStatus::Pass,
        format!("test rows failed per category{h}: {}", ev.join("; ")),
    )
}

fn severity_disagreement(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[16];
    let Some(sev) = &j.frame.severity else {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no severity field registered",
        );
    };
    let Some(e) = j.first("verdict") else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("severity field {} registered but no verdict yet", sev.field),
        );
    };
    let Event::VerdictReached { rationale, .. } = &e.event else {
        return AuditItem::new(item, AuditStatus::Fail, "unreadable verdict");
    };
    let said = if rationale.contains("(G43)") {
        "the rationale states that weighted and unweighted rankings disagree"
    } else {
        "the rationale records no disagreement between weighted and unweighted rankings"
    };
    AuditItem::new(
        item,
        AuditStatus::Pass,
        format!(
            "journal line {}: {said} (R5 on field {})",
            line(e),
            sev.field
        ),
    )
}

fn stratified_by_mode(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[17];
    if j.frame.failure_modes.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no failure-mode taxonomy registered",
        );
    }
    let Some((e, audit)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Split { audit, .. } => Some((e, audit)),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no split");
    };
    let mut ok = true;
    let mut ev = Vec::new();
    for m in j.frame.failure_modes.iter() {
        match audit.failure_modes.iter().find(|a| a.mode == m.id) {
            Some(a) if a.source == 0 => ev.push(format!("{}: absent from the source", m.id)),
            Some(a) => {
                if a.test == 0 {
                    ok = false;
                }
                ev.push(format!(
                    "{}: source {} → train {}, dev {}, test {}{}",
                    m.id,
                    a.source,
                    a.train,
                    a.dev,
                    a.test,
                    if a.test == 0 { " (none in test)" } else { "" }
                ));
            }
            None => ev.push(format!("{}: not in the split's audit", m.id)),
        }
    }
    AuditItem::pass_if(
        item,
        ok,
        format!("journal line {}: {}", line(e), ev.join("; ")),
    )
}

fn label_noise(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[18];
    if !j.frame.synthetic_source {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "the source is not synthetic (G18 applies to synthetic sources)",
        );
    }
    let failing = j
        .scores(&j.frame.baseline.id, 0, Part::Dev)
        .values()
        .filter(|xs| mean(xs) < 1.0)
        .count();
    AuditItem::new(
        item,
        AuditStatus::Fail,
        format!(
            "not implemented: every baseline failure must be checked against ground truth (G18); the journal records no label-noise check, and {failing} baseline dev row(s) score below 1"
        ),
    )
}

fn negative_control(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[19];
    let controls: Vec<&str> = j
        .frame
        .arms
        .iter()
        .filter(|a| a.negative_control)
        .map(|a| a.id.as_str())
        .collect();
    if controls.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no negative control declared",
        );
    }
    let mut ok = true;
    let mut ev = Vec::new();
    for arm in controls {
        let (Some((d, n, part, v)), Some(s)) = (j.effect(arm), j.sigma(arm)) else {
            ok = false;
            ev.push(format!("{arm}: no paired scores or noise floor yet"));
            continue;
        };
        let diffs = j.diffs(
            arm,
            v,
            if part == "test" {
                Part::Test
            } else {
                Part::Dev
            },
        );
        let ci = itera_stats::paired::paired_t(&diffs, &vec![0.0; diffs.len()], j.frame.ci_level())
            .ok()
            .map(|p| (p.diff.ci.lower, p.diff.ci.upper));
        let moved = match ci {
            Some((lo, hi)) => lo > 0.0 || hi < 0.0,
            None => d.abs() >= 2.0 * s,
        };
        let ci_words = ci.map_or(String::new(), |(lo, hi)| {
            format!(" [{}, {}]", pp(lo), pp(hi))
        });
        ev.push(format!(
            "{arm} v{v} (control): Δ_{part} = {}{ci_words} over {n} rows, 2σ = {}: {}",
            pp(d),
            pp_abs(2.0 * s),
            if moved {
                "the control moved, so the model swap alone changes the score"
            } else {
                "no change, as expected"
            }
        ));
        ok &= !moved;
    }
    if let Some((e, decision, arm)) = j.verdict() {
        ev.push(format!(
            "verdict at line {}: {}{}",
            line(e),
            decision.as_str(),
            arm.map_or(String::new(), |a| format!(" {a}"))
        ));
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

/// A hand-built journal for the audit's and the conclusion's tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod fixture {
    use crate::data::row::RowId;
    use crate::data::split::{DistributionAudit, ModeAudit, Part, SliceAudit};
    use crate::decide::rules::Decision;
    use crate::frame::Frame;
    use crate::iterate::gate::{ArmGate, GateOutcome, GateReport};
    use crate::iterate::iteration::IterationVerdict;
    use crate::journal::event::{ArmNoise, CallOutcome, CallRecord, Entry, Event, PilotArm};
    use crate::journal::store::Store;
    use crate::run::arm::Usage;
    use crate::run::cube::ArmKey;
    use std::collections::BTreeMap;

    /// The frame: baseline v1, one arm v2, T = +5pp, F = −2pp, a three-category taxonomy.
    pub(crate) fn frame() -> Frame {
        Frame::builder(
            "refund-examples",
            "Does adding two refund examples to the prompt raise extraction accuracy?",
            "The examples fix refund rows without hurting the rest.",
        )
        .baseline("v1", "src/prompt.rs:12")
        .arm("v2", "v1", "adds two refund examples")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .failure_mode("wrong_account", 3.0)
        .failure_mode("missing_field", 1.0)
        .failure_mode("format", 0.5)
        .trials(3)
        .seed(7)
        .build()
        .unwrap()
    }

    pub(crate) fn call(
        arm: &str,
        version: u32,
        row: &str,
        part: Part,
        trial: u32,
        score: f64,
        modes: &[&str],
    ) -> Event {
        Event::Call(CallRecord {
            arm: arm.into(),
            version,
            spec_hash: format!("{arm}-{version}"),
            row: RowId(row.into()),
            part,
            trial,
            attempts: 1,
            errors: Vec::new(),
            latency_ms: 100.0,
            outcome: CallOutcome::Scored {
                output: serde_json::json!("out"),
                score,
                failure_modes: modes.iter().map(|m| m.to_string()).collect(),
                deferred_findings: Vec::new(),
                judge: "exact".into(),
                rubric_hash: None,
                usage: Usage::default(),
                cost_usd: Some(0.001),
            },
        })
    }

    fn calls(arm: &str, version: u32, part: Part, rows: &[&str], scores: &[f64]) -> Vec<Event> {
        let mut out = Vec::new();
        for (r, s) in rows.iter().zip(scores) {
            for t in 0..3 {
                let modes: &[&str] = if *s < 1.0 { &["wrong_account"] } else { &[] };
                out.push(call(arm, version, r, part, t, *s, modes));
            }
        }
        out
    }

    pub(crate) fn key(arm: &str, version: u32) -> ArmKey {
        ArmKey {
            arm: arm.into(),
            version,
            spec_hash: format!("{arm}-{version}"),
        }
    }

    pub(crate) fn gate(sprint: u32, version: u32, outcome: GateOutcome) -> Event {
        Event::Gate(GateReport {
            sprint,
            arms: vec![ArmGate {
                arm: "v2".into(),
                version,
                changes: Vec::new(),
                outcome,
                reason: "changes are general but the last iteration was neutral or falsified: signal saturated".into(),
            }],
        })
    }

    /// A complete, clean journal for `frame`: registration, split, pilot, dev scores, one
    /// iteration, a gate that locks, the seal, the test pass and a ship verdict.
    pub(crate) fn events(frame: &Frame) -> Vec<Event> {
        let dev = ["d0", "d1", "d2", "d3"];
        let test = ["t0", "t1", "t2", "t3"];
        let commitment = crate::hash::sha256_hex(b"test rows");
        let slice = |s: &str| SliceAudit {
            slice: s.into(),
            source: 10,
            source_share: 0.5,
            train: 4,
            dev: 4,
            test: 2,
        };
        let mode = |m: &str, test: usize| ModeAudit {
            mode: m.into(),
            source: 5,
            train: 2,
            dev: 2,
            test,
        };
        let mut ev = vec![
            Event::Registered {
                name: frame.name.clone(),
                frame_hash: crate::hash::hash_value(frame).unwrap(),
                frame_md_hash: "md".into(),
                registration_hash: "reg".into(),
            },
            Event::Split {
                dataset: "rows.jsonl".into(),
                data_hash: "data".into(),
                seed: 7,
                train_ids: vec![RowId("r0".into())],
                dev_ids: dev.iter().map(|d| RowId((*d).into())).collect(),
                dev_folds: None,
                test_n: 4,
                test_commitment: commitment.clone(),
                audit: DistributionAudit {
                    total: 20,
                    parts: BTreeMap::from([(Part::Train, 8), (Part::Dev, 8), (Part::Test, 4)]),
                    slices: vec![slice("smb"), slice("ent")],
                    failure_modes: vec![
                        mode("wrong_account", 1),
                        mode("missing_field", 1),
                        mode("format", 1),
                    ],
                    kfold: None,
                    warnings: Vec::new(),
                },
                overrides: Vec::new(),
            },
            Event::Manifest {
                judge: "exact".into(),
                judge_family: None,
                rubric_hash: None,
                arms: vec![("v1".into(), "v1-0".into()), ("v2".into(), "v2-0".into())],
                specs: vec!["prompt".into(), "prompt\nexamples".into()],
                arm_families: vec![],
            },
            Event::PilotPassed {
                row: RowId("r0".into()),
                arms: vec![
                    PilotArm {
                        arm: "v1".into(),
                        spec_hash: "v1-0".into(),
                        score: 1.0,
                    },
                    PilotArm {
                        arm: "v2".into(),
                        spec_hash: "v2-0".into(),
                        score: 1.0,
                    },
                ],
            },
        ];
        ev.extend(calls("v1", 0, Part::Dev, &dev, &[1.0, 0.0, 1.0, 0.0]));
        ev.push(Event::BaselineScored {
            mean: 0.5,
            sd: 0.0,
            rows: 4,
        });
        ev.extend(calls("v2", 0, Part::Dev, &dev, &[1.0, 1.0, 1.0, 0.0]));
        let noise = |arm: &str| ArmNoise {
            arm: arm.into(),
            version: 0,
            within_row_variance: 0.0,
            aggregate_sd: 0.01,
            per_trial: vec![0.5, 0.5, 0.5],
        };
        ev.push(Event::DevScored {
            calls: 24,
            failed: 0,
            noise: vec![noise("v1"), noise("v2")],
        });
        ev.push(Event::Iteration {
            arm: "v2".into(),
            version: 1,
            sprint: 1,
            hypothesis: "A third example about partial refunds fixes d3.".into(),
            class: None,
            old_spec_hash: "v2-0".into(),
            spec: "prompt\nexamples\npartial".into(),
            spec_hash: "v2-1".into(),
            diff: "  prompt\n  examples\n+ partial".into(),
        });
        ev.extend(calls("v2", 1, Part::Dev, &dev, &[1.0, 1.0, 1.0, 1.0]));
        ev.push(Event::IterationOutcome {
            arm: "v2".into(),
            version: 1,
            outcome: IterationVerdict::Neutral,
            delta: 0.25,
            lower: -0.2,
            upper: 0.7,
            closes_sprint: true,
            reason: "neutral and the diagnosis shows nothing new: signal saturated".into(),
        });
        ev.push(gate(1, 1, GateOutcome::Lock));
        ev.push(Event::Sealed {
            locked: vec![key("v2", 1)],
            killed: Vec::new(),
        });
        ev.push(Event::PowerChecked {
            arms: vec![("v2".into(), 0.01, 0.028, true)],
            note: "powered".into(),
        });
        ev.push(Event::SealedOpened {
            arms: vec![key("v1", 0), key("v2", 1)],
            test_n: 4,
            test_commitment: commitment,
        });
        ev.extend(calls("v1", 0, Part::Test, &test, &[1.0, 0.0, 1.0, 0.0]));
        ev.extend(calls("v2", 1, Part::Test, &test, &[1.0, 1.0, 1.0, 0.0]));
        ev.push(Event::VerdictReached {
            decision: Decision::Ship,
            arm: Some("v2".into()),
            slices: vec!["smb".into(), "ent".into()],
            rationale: "Ship v2: every registered rule passes.".into(),
            data_hash: "data-json".into(),
        });
        ev
    }

    /// Journals the events in a fresh in-memory store and returns the verified entries.
    pub(crate) fn journal(events: Vec<Event>) -> Vec<Entry> {
        let store = Store::in_memory();
        for e in events {
            store.append(e).unwrap();
        }
        store.entries().unwrap()
    }

    /// The position of the first event of a kind.
    pub(crate) fn at(events: &[Event], kind: &str) -> usize {
        events.iter().position(|e| e.kind() == kind).unwrap()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::fixture::{at, call, events, frame, gate, journal, key};
    use super::*;
    use crate::decide::rules::Decision;
    use crate::iterate::gate::GateOutcome;
    use crate::journal::event::Event;

    fn audit_of(events: Vec<Event>, frame: &Frame) -> Vec<AuditItem> {
        self_audit(&journal(events), frame, Storage::Directory)
    }

    fn item<'a>(items: &'a [AuditItem], name: &str) -> &'a AuditItem {
        items.iter().find(|i| i.item == name).unwrap()
    }

    #[test]
    fn a_clean_journal_passes_every_applicable_item_in_order() {
        let f = frame();
        let items = audit_of(events(&f), &f);
        let names: Vec<&str> = items.iter().map(|i| i.item.as_str()).collect();
        assert_eq!(names, ITEMS);
        for i in &items {
            let na = [
                "severity disagreement surfaced",
                "label-noise audit",
                "negative control",
            ];
            let want = if na.contains(&i.item.as_str()) {
                AuditStatus::NotApplicable
            } else {
                AuditStatus::Pass
            };
            assert_eq!(i.status, want, "{i:?}");
        }
        let e = &item(&items, "effect ≥ 2× noise").evidence;
        assert!(
            e.contains("|Δ_test| = 25.0pp") && e.contains("2σ = 2.0pp"),
            "{e}"
        );
        assert!(
            item(&items, "frame and metric registered before data, no drift")
                .evidence
                .contains("journal line 1: registered before the data (split at line 2)")
        );
    }

    #[test]
    fn in_memory_evidence_says_the_guarantee_is_per_process() {
        let f = frame();
        let entries = journal(events(&f));
        let mem = self_audit(&entries, &f, Storage::InMemory);
        let e = &item(&mem, ITEMS[0]).evidence;
        assert!(
            e.contains("per process") && e.contains("move semantics"),
            "{e}"
        );
        let dir = self_audit(&entries, &f, Storage::Directory);
        assert!(item(&dir, ITEMS[0]).evidence.contains("across processes"));
    }

    #[test]
    fn a_second_opening_of_the_test_set_fails() {
        let f = frame();
        let mut ev = events(&f);
        let opened = ev[at(&ev, "sealed-opened")].clone();
        ev.push(opened);
        let i = audit_of(ev, &f);
        let s = item(&i, ITEMS[0]);
        assert_eq!(s.status, AuditStatus::Fail);
        assert!(s.evidence.contains("opened 2 times"), "{}", s.evidence);
    }

    #[test]
    fn a_test_call_before_the_opening_fails() {
        let f = frame();
        let mut ev = events(&f);
        let i = at(&ev, "sealed-opened");
        ev.insert(i, call("v1", 0, "t0", Part::Test, 0, 1.0, &[]));
        let s = audit_of(ev, &f);
        assert_eq!(item(&s, ITEMS[0]).status, AuditStatus::Fail);
    }

    #[test]
    fn registration_after_the_split_or_a_drifted_frame_fails() {
        let f = frame();
        let mut ev = events(&f);
        ev.swap(0, 1);
        assert_eq!(item(&audit_of(ev, &f), ITEMS[1]).status, AuditStatus::Fail);
        let mut drifted = f.clone();
        drifted.threshold.slice_loss_floor_pp = -5.0;
        let s = audit_of(events(&f), &drifted);
        let e = item(&s, ITEMS[1]);
        assert_eq!(e.status, AuditStatus::Fail);
        assert!(e.evidence.contains("drift"), "{}", e.evidence);
    }

    #[test]
    fn a_pilot_after_the_first_dev_call_fails_and_failed_pilots_are_counted() {
        let f = frame();
        let mut ev = events(&f);
        let p = ev.remove(at(&ev, "pilot-passed"));
        let first_dev = at(&ev, "call");
        ev.insert(first_dev + 1, p);
        ev.insert(
            first_dev,
            Event::PilotFailed {
                arm: "v2".into(),
                field: "output".into(),
                why: "empty".into(),
            },
        );
        let s = audit_of(ev, &f);
        let p = item(&s, ITEMS[2]);
        assert_eq!(p.status, AuditStatus::Fail);
        assert!(p.evidence.contains("1 failed pilot(s)"), "{}", p.evidence);
    }

    #[test]
    fn overrides_pass_with_a_warning_and_an_unjustified_empty_slice_fails() {
        let f = frame();
        let mut ev = events(&f);
        let split = at(&ev, "split");
        if let Event::Split {
            audit, overrides, ..
        } = &mut ev[split]
        {
            audit.slices[1].test = 0;
            overrides.push(crate::data::split::SplitOverride {
                slice: "ent".into(),
                part: Part::Test,
                reason: "two enterprise rows in all".into(),
            });
        }
        let s = audit_of(ev.clone(), &f);
        let d = item(&s, ITEMS[3]);
        assert_eq!(d.status, AuditStatus::Pass);
        assert!(
            d.evidence.contains("warning, overrides: ent empty in test"),
            "{}",
            d.evidence
        );
        if let Event::Split { overrides, .. } = &mut ev[split] {
            overrides.clear();
        }
        assert_eq!(item(&audit_of(ev, &f), ITEMS[3]).status, AuditStatus::Fail);
    }

    #[test]
    fn a_deterministic_single_trial_run_says_so() {
        let mut f = frame();
        f.trials = 1;
        f.deterministic = true;
        let s = audit_of(events(&f), &f);
        let n = item(&s, ITEMS[4]);
        assert_eq!(n.status, AuditStatus::Pass);
        assert!(n.evidence.contains("deterministic"), "{}", n.evidence);
    }

    #[test]
    fn a_shipped_effect_within_noise_fails() {
        let f = frame();
        let mut ev = events(&f);
        let d = at(&ev, "dev-scored");
        if let Event::DevScored { noise, .. } = &mut ev[d] {
            noise[1].aggregate_sd = 0.2;
        }
        let s = audit_of(ev, &f);
        let e = item(&s, ITEMS[5]);
        assert_eq!(e.status, AuditStatus::Fail);
        assert!(e.evidence.contains("within noise"), "{}", e.evidence);
    }

    #[test]
    fn an_llm_judge_needs_a_cross_judge_event_that_passed() {
        let f = frame();
        let mut ev = events(&f);
        let m = at(&ev, "manifest");
        if let Event::Manifest { judge_family, .. } = &mut ev[m] {
            *judge_family = Some("gpt".into());
        }
        assert_eq!(
            item(&audit_of(ev.clone(), &f), ITEMS[6]).status,
            AuditStatus::Fail
        );
        let d = at(&ev, "dev-scored");
        ev.insert(
            d + 1,
            Event::CrossJudge {
                judge: "llm:gpt".into(),
                second_judge: "llm:claude".into(),
                rows: (0..5)
                    .map(|i| crate::data::row::RowId(format!("d{i}")))
                    .collect(),
                agree: 5,
                disagree: 0,
                passed: true,
            },
        );
        let s = audit_of(ev, &f);
        let c = item(&s, ITEMS[6]);
        assert_eq!(c.status, AuditStatus::Pass);
        assert!(c.evidence.contains("agrees on 5"), "{}", c.evidence);
    }

    #[test]
    fn an_iteration_that_changes_nothing_fails() {
        let f = frame();
        let mut ev = events(&f);
        let i = at(&ev, "iteration");
        if let Event::Iteration { diff, .. } = &mut ev[i] {
            *diff = "  prompt\n  examples".into();
        }
        assert_eq!(item(&audit_of(ev, &f), ITEMS[8]).status, AuditStatus::Fail);
    }

    #[test]
    fn a_hypothesis_journaled_after_its_first_call_fails() {
        let f = frame();
        let mut ev = events(&f);
        let it = ev.remove(at(&ev, "iteration"));
        let outcome = at(&ev, "iteration-outcome");
        ev.insert(outcome, it);
        let s = audit_of(ev, &f);
        let h = item(&s, ITEMS[9]);
        assert_eq!(h.status, AuditStatus::Fail);
        assert!(
            h.evidence.contains("precedes its hypothesis"),
            "{}",
            h.evidence
        );
    }

    #[test]
    fn four_iterations_in_a_sprint_break_the_cap() {
        let f = frame();
        let mut ev = events(&f);
        let i = at(&ev, "iteration");
        let it = ev[i].clone();
        for _ in 0..3 {
            ev.insert(i, it.clone());
        }
        let s = audit_of(ev, &f);
        let c = item(&s, ITEMS[10]);
        assert_eq!(c.status, AuditStatus::Fail);
        assert!(
            c.evidence.contains("sprint 1: 4 iteration(s)"),
            "{}",
            c.evidence
        );
    }

    #[test]
    fn a_sprint_opened_without_a_gate_fails() {
        let f = frame();
        let mut ev = events(&f);
        let g = at(&ev, "gate");
        ev.insert(
            g,
            Event::SprintOpened {
                sprint: 2,
                audit: None,
            },
        );
        assert_eq!(item(&audit_of(ev, &f), ITEMS[11]).status, AuditStatus::Fail);
    }

    #[test]
    fn a_fourth_sprint_turns_red_even_with_its_audit() {
        let f = frame();
        let mut ev = events(&f);
        let g = at(&ev, "gate");
        let mut extra = Vec::new();
        for sprint in 2..=4 {
            extra.push(Event::SprintOpened {
                sprint,
                audit: (sprint == 4).then(|| "slices moved after the taxonomy fix".to_string()),
            });
            extra.push(gate(sprint, 1, GateOutcome::Lock));
        }
        ev.splice(g + 1..g + 1, extra);
        let s = audit_of(ev, &f);
        let c = item(&s, ITEMS[12]);
        assert_eq!(c.status, AuditStatus::Fail);
        assert!(
            c.evidence.contains("4 sprint(s)")
                && c.evidence
                    .contains("\"slices moved after the taxonomy fix\""),
            "{}",
            c.evidence
        );
        assert_eq!(item(&s, ITEMS[11]).status, AuditStatus::Pass, "{s:?}");
    }

    #[test]
    fn locking_an_older_version_than_the_latest_gated_fails() {
        let f = frame();
        let mut ev = events(&f);
        let s = at(&ev, "sealed");
        ev[s] = Event::Sealed {
            locked: vec![key("v2", 0)],
            killed: Vec::new(),
        };
        let a = audit_of(ev, &f);
        let l = item(&a, ITEMS[13]);
        assert_eq!(l.status, AuditStatus::Fail);
        assert!(
            l.evidence.contains("locked v0, latest gate-reviewed v1"),
            "{}",
            l.evidence
        );
    }

    #[test]
    fn a_mode_missing_from_test_fails_stratification() {
        let f = frame();
        let mut ev = events(&f);
        let split = at(&ev, "split");
        if let Event::Split { audit, .. } = &mut ev[split] {
            audit.failure_modes[2].test = 0;
        }
        assert_eq!(item(&audit_of(ev, &f), ITEMS[17]).status, AuditStatus::Fail);
    }

    #[test]
    fn without_taxonomy_severity_or_control_those_items_do_not_apply() {
        let mut f = frame();
        f.failure_modes.clear();
        let s = audit_of(events(&f), &f);
        for name in [ITEMS[15], ITEMS[16], ITEMS[17], ITEMS[19]] {
            assert_eq!(item(&s, name).status, AuditStatus::NotApplicable, "{name}");
        }
    }

    #[test]
    fn a_synthetic_source_without_a_label_noise_check_fails_honestly() {
        let mut f = frame();
        f.synthetic_source = true;
        let s = audit_of(events(&f), &f);
        let l = item(&s, ITEMS[18]);
        assert_eq!(l.status, AuditStatus::Fail);
        assert!(l.evidence.starts_with("not implemented") && l.evidence.contains("G18"));
        assert!(
            l.evidence.contains("2 baseline dev row(s)"),
            "{}",
            l.evidence
        );
    }

    #[test]
    fn a_negative_control_that_moves_fails_and_one_within_its_ci_passes() {
        let mut f = frame();
        f.arms[0].negative_control = true;
        let mut ev = events(&f);
        let v = at(&ev, "verdict");
        if let Event::VerdictReached { decision, arm, .. } = &mut ev[v] {
            *decision = Decision::Kill;
            *arm = None;
        }
        // Test differences 0, +1, 0, 0: the CI includes 0, the control did not move.
        let s = audit_of(ev.clone(), &f);
        let n = item(&s, ITEMS[19]);
        assert_eq!(n.status, AuditStatus::Pass, "{}", n.evidence);
        assert!(n.evidence.contains("Δ_test = +25.0pp"), "{}", n.evidence);
        assert!(n.evidence.contains("verdict at line"), "{}", n.evidence);
        // Every test row flips from 0 to 1: the control moved.
        for e in &mut ev {
            if let Event::Call(c) = e
                && c.part == Part::Test
                && let crate::journal::event::CallOutcome::Scored { score, .. } = &mut c.outcome
            {
                *score = if c.arm == "v1" { 0.0 } else { 1.0 };
            }
        }
        let s = audit_of(ev, &f);
        let n = item(&s, ITEMS[19]);
        assert_eq!(n.status, AuditStatus::Fail, "{}", n.evidence);
        assert!(
            n.evidence.contains("Δ_test = +100.0pp") && n.evidence.contains("the control moved")
        );
    }
}

//! Tests of the self-audit: a clean journal passes every applicable item in order, and each
//! item turns red on the journal that breaks the guard it checks.

use super::fixture::{at, call, events, frame, gate, journal, key};
use super::*;
use crate::decide::rules::Decision;
use crate::iterate::gate::GateOutcome;
use crate::journal::event::Event;

fn audit_of(events: Vec<Event>, frame: &Frame) -> Vec<AuditItem> {
    self_audit_entries(&journal(events), frame, Storage::Directory, None)
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
            "cross-judge or deterministic scorer",
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
    let mem = self_audit_entries(&entries, &f, Storage::InMemory, None);
    let e = &item(&mem, ITEMS[0]).evidence;
    assert!(
        e.contains("per process") && e.contains("move semantics"),
        "{e}"
    );
    let dir = self_audit_entries(&entries, &f, Storage::Directory, None);
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

/// The sealed-once item with a test call by `version` of v1 inserted `offset` lines after the
/// opening (negative: before it): it fails, naming the call's journal line and `problem`.
fn a_stray_test_call_fails(offset: isize, version: u32, problem: &str) {
    let f = frame();
    let mut ev = events(&f);
    let i = (at(&ev, "sealed-opened") as isize + offset) as usize;
    ev.insert(i, call("v1", version, "t0", Part::Test, 0, 1.0, &[]));
    let s = audit_of(ev, &f);
    let s = item(&s, ITEMS[0]);
    assert_eq!(s.status, AuditStatus::Fail);
    let expected = format!("journal line {}: {problem}", i + 1);
    assert!(s.evidence.contains(&expected), "{}", s.evidence);
}

#[test]
fn a_test_call_before_the_opening_fails() {
    a_stray_test_call_fails(0, 0, "a test call before the test set was opened");
}

/// G39: a test call by a version the opening did not name fails the item, naming its line.
#[test]
fn a_test_call_by_a_version_not_opened_fails() {
    a_stray_test_call_fails(
        1,
        7,
        "a test call by a version that was not opened for test (G39)",
    );
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
            candidates: vec!["v2".into(); 5],
            directions: vec![[1, 1]; 5],
            ties: 0,
            unscored: 0,
            available: 9,
            calls: Vec::new(),
        },
    );
    let s = audit_of(ev, &f);
    let c = item(&s, ITEMS[6]);
    assert_eq!(c.status, AuditStatus::Pass);
    assert!(c.evidence.contains("same side on 5"), "{}", c.evidence);
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
    assert!(
        l.evidence.starts_with("no label audit recorded") && l.evidence.contains("G18"),
        "{}",
        l.evidence
    );
    assert!(
        l.evidence.contains("2 baseline dev row(s)") && l.evidence.contains("itera label-audit"),
        "{}",
        l.evidence
    );
}

/// G18 with the audit recorded: the agreement and its Wilson 95% CI. Reference: statsmodels
/// `proportion_confint(5, 6, alpha=0.05, method="wilson")` = (0.43650, 0.96995).
#[test]
fn a_recorded_label_audit_passes_with_its_wilson_ci() {
    let mut f = frame();
    f.synthetic_source = true;
    let mut ev = events(&f);
    // Before the verdict, as the library writes them (after dev is scored).
    let at_gate = ev.iter().position(|e| matches!(e, Event::Gate(_))).unwrap();
    ev.insert(
        at_gate,
        Event::LabelAudit {
            agreed: 5,
            reviewed: 6,
        },
    );
    ev.insert(
        at_gate,
        Event::LabelAuditShown {
            rows: (1..=6)
                .map(|i| crate::data::row::RowId::from(format!("d{i}")))
                .collect(),
        },
    );
    let s = audit_of(ev, &f);
    let l = item(&s, ITEMS[18]);
    assert_eq!(l.status, AuditStatus::Pass, "{}", l.evidence);
    assert!(
        l.evidence
            .contains("5/6 labels (83.3%, Wilson 95% CI [43.6%, 97.0%])"),
        "{}",
        l.evidence
    );
}

#[test]
fn a_real_source_needs_no_label_audit() {
    let f = frame();
    let l = item(&audit_of(events(&f), &f), ITEMS[18]).clone();
    assert_eq!(l.status, AuditStatus::NotApplicable);
    assert!(
        l.evidence.starts_with("not required: the source is real"),
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
    assert!(n.evidence.contains("Δ_test = +100.0pp") && n.evidence.contains("the control moved"));
}

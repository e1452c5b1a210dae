//! Self-audit items that could not fail or that contradicted the report ("No silent wrong
//! verdict", items 9 and 14): each test breaks the evidence the item rests on and sees it fail,
//! or sees it say "not applicable" with the reason.

use super::fixture::{at, call, events, frame, journal};
use super::*;
use crate::frame::SeveritySpec;
use crate::journal::event::Event;
use crate::report::data::SeverityInfo;

fn audit_of(events: Vec<Event>, frame: &Frame) -> Vec<AuditItem> {
    self_audit_entries(&journal(events), frame, Storage::Directory, None)
}

fn audit_with(events: Vec<Event>, frame: &Frame, tables: Tables<'_>) -> Vec<AuditItem> {
    self_audit_entries(&journal(events), frame, Storage::Directory, Some(tables))
}

type Counts = BTreeMap<String, BTreeMap<String, usize>>;

fn counts(per_arm: &[(&str, [usize; 3])]) -> Counts {
    per_arm
        .iter()
        .map(|(arm, n)| {
            let modes = ["wrong_account", "missing_field", "format"];
            (
                arm.to_string(),
                modes
                    .iter()
                    .zip(n)
                    .map(|(m, n)| (m.to_string(), *n))
                    .collect(),
            )
        })
        .collect()
}

fn item<'a>(items: &'a [AuditItem], name: &str) -> &'a AuditItem {
    items.iter().find(|i| i.item == name).unwrap()
}

fn deterministic_frame() -> Frame {
    let mut f = frame();
    f.trials = 1;
    f.deterministic = true;
    f
}

#[test]
fn attack_single_trial_on_the_users_word_is_audited_as_noise_floor_measured() {
    let f = deterministic_frame();
    // The fixture's pilot records no determinism check.
    let n = item(&audit_of(events(&f), &f), ITEMS[4]).clone();
    assert_eq!(n.status, AuditStatus::Fail, "{}", n.evidence);
    assert!(n.evidence.contains("not checked"), "{}", n.evidence);
}

#[test]
fn a_checked_deterministic_declaration_passes_and_says_how_it_was_checked() {
    let f = deterministic_frame();
    let mut ev = events(&f);
    let p = at(&ev, "pilot-passed");
    if let Event::PilotPassed { arms, .. } = &mut ev[p] {
        for a in arms {
            a.determinism_checked = true;
        }
    }
    let n = item(&audit_of(ev, &f), ITEMS[4]).clone();
    assert_eq!(n.status, AuditStatus::Pass, "{}", n.evidence);
    assert!(
        n.evidence
            .contains("declared deterministic, checked by a repeated pilot call"),
        "{}",
        n.evidence
    );
}

// Item 14: failure-mode deltas contradicted the table of the same conclusion.md.

#[test]
fn attack_audit_says_zero_failures_while_the_table_says_eight() {
    let f = frame();
    let table = counts(&[("v1", [8, 7, 2]), ("v2", [3, 1, 0])]);
    let tables = Tables {
        failure_counts: &table,
        severity: None,
    };
    let d = item(&audit_with(events(&f), &f, tables), ITEMS[15]).clone();
    assert_eq!(d.status, AuditStatus::Pass, "{}", d.evidence);
    assert!(
        d.evidence
            .contains("v1 v0: wrong_account 8, missing_field 7, format 2"),
        "the audit quotes the table's counts: {}",
        d.evidence
    );
}

#[test]
fn a_table_with_fewer_failures_than_the_judged_calls_fails_the_audit() {
    let f = frame();
    let mut ev = events(&f);
    ev.push(call(
        "v1",
        0,
        "t9",
        crate::data::split::Part::Test,
        0,
        0.0,
        &["format"],
    ));
    let table = counts(&[("v1", [0, 0, 0]), ("v2", [0, 0, 0])]);
    let tables = Tables {
        failure_counts: &table,
        severity: None,
    };
    let d = item(&audit_with(ev, &f, tables), ITEMS[15]).clone();
    assert_eq!(d.status, AuditStatus::Fail, "{}", d.evidence);
    assert!(d.evidence.contains("format"), "{}", d.evidence);
}

// Item 14: severity disagreement "surfaced" passed whatever the rationale said.

fn severity_frame() -> Frame {
    let mut f = frame();
    f.severity = Some(SeveritySpec {
        field: "impact".into(),
        cap: 10.0,
    });
    f
}

fn severity(w: [f64; 2], u: [f64; 2]) -> SeverityInfo {
    SeverityInfo {
        field: "impact".into(),
        cap: 10.0,
        weighted_scores: [("v1".to_string(), w[0]), ("v2".to_string(), w[1])].into(),
        unweighted_scores: [("v1".to_string(), u[0]), ("v2".to_string(), u[1])].into(),
    }
}

#[test]
fn attack_rankings_disagree_and_the_rationale_is_silent() {
    let f = severity_frame();
    let table = Counts::new();
    // Weighted: v2 worse; unweighted: v2 better. The fixture's rationale has no (G43).
    let sev = severity([0.8, 0.6], [0.5, 0.75]);
    let tables = Tables {
        failure_counts: &table,
        severity: Some(&sev),
    };
    let s = item(&audit_with(events(&f), &f, tables), ITEMS[16]).clone();
    assert_eq!(s.status, AuditStatus::Fail, "{}", s.evidence);
    assert!(s.evidence.contains("v2"), "{}", s.evidence);
}

#[test]
fn agreeing_rankings_and_a_silent_rationale_pass() {
    let f = severity_frame();
    let table = Counts::new();
    let sev = severity([0.6, 0.8], [0.5, 0.75]);
    let tables = Tables {
        failure_counts: &table,
        severity: Some(&sev),
    };
    let s = item(&audit_with(events(&f), &f, tables), ITEMS[16]).clone();
    assert_eq!(s.status, AuditStatus::Pass, "{}", s.evidence);
}

#[test]
fn severity_without_the_reports_scores_fails() {
    let f = severity_frame();
    let s = item(&audit_of(events(&f), &f), ITEMS[16]).clone();
    assert_eq!(s.status, AuditStatus::Fail, "{}", s.evidence);
}

// Item 14: "blind judge" could not fail.

fn llm_judged(mut ev: Vec<Event>) -> Vec<Event> {
    let m = at(&ev, "manifest");
    if let Event::Manifest { judge_family, .. } = &mut ev[m] {
        *judge_family = Some("gpt".into());
    }
    ev
}

#[test]
fn attack_an_output_names_its_arm_to_an_llm_judge() {
    let f = frame();
    let mut ev = llm_judged(events(&f));
    let c = ev
        .iter()
        .position(|e| matches!(e, Event::Call(c) if c.arm == "v2"))
        .unwrap();
    if let Event::Call(rec) = &mut ev[c]
        && let crate::journal::event::CallOutcome::Scored { output, .. } = &mut rec.outcome
    {
        *output = serde_json::json!("[v2] travel");
    }
    let b = item(&audit_of(ev, &f), ITEMS[7]).clone();
    assert_eq!(b.status, AuditStatus::Fail, "{}", b.evidence);
    assert!(b.evidence.contains("v2"), "{}", b.evidence);
}

#[test]
fn outputs_that_name_no_arm_keep_an_llm_judge_blind() {
    let f = frame();
    let b = item(&audit_of(llm_judged(events(&f)), &f), ITEMS[7]).clone();
    assert_eq!(b.status, AuditStatus::Pass, "{}", b.evidence);
}

// Item 14: a skipped cross-judge check said "pass".

#[test]
fn attack_skipped_cross_judge_reported_as_pass() {
    let f = frame();
    let c = item(&audit_of(events(&f), &f), ITEMS[6]).clone();
    assert_eq!(c.status, AuditStatus::NotApplicable, "{}", c.evidence);
    assert!(c.evidence.contains("deterministic"), "{}", c.evidence);
}

// G20: the power item passes on a powered design and fails on an underpowered one, whether it
// was accepted explicitly (the reason is quoted) or went ahead without acceptance (old journals).
#[test]
fn the_power_item_fails_when_an_underpowered_design_was_accepted() {
    use crate::journal::event::SlicePower;
    let f = super::fixture::frame();
    let with = |powered: bool, accepted: Option<&str>| {
        let mut ev = super::fixture::events(&f);
        for e in &mut ev {
            if let Event::PowerChecked {
                arms,
                slices,
                accepted: acc,
                ..
            } = e
            {
                arms[0].3 = powered;
                *slices = vec![SlicePower {
                    arm: "v2".into(),
                    slice: "ent".into(),
                    dev_rows: 10,
                    test_rows: 12,
                    rows_needed: Some(if powered { 10 } else { 321 }),
                    pooled: false,
                    powered,
                }];
                *acc = accepted.map(str::to_string);
            }
        }
        let items = self_audit_entries(&super::fixture::journal(ev), &f, Storage::Directory, None);
        items.into_iter().find(|i| i.item == ITEMS[21]).unwrap()
    };
    let ok = with(true, None);
    assert_eq!(ok.status, AuditStatus::Pass, "{ok:?}");
    let accepted = with(false, Some("pilot-sized on purpose"));
    assert_eq!(accepted.status, AuditStatus::Fail, "{accepted:?}");
    assert!(
        accepted
            .evidence
            .contains("accepted explicitly: \"pilot-sized on purpose\"")
    );
    assert!(
        accepted
            .evidence
            .contains("slice ent: 12 test rows, needs ≈ 321")
    );
    let silent = with(false, None);
    assert_eq!(silent.status, AuditStatus::Fail);
    assert!(silent.evidence.contains("without an explicit acceptance"));
}

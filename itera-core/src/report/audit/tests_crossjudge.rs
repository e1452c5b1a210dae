//! The self-audit's cross-judge item (G29, issue #13 hole 10) computed from the evidence: it fails
//! when an LLM judge's check did not run or when the journaled counts show low agreement,
//! whatever the journaled `passed` flag says; "not applicable" only for a deterministic judge.

use super::fixture::{at, events, frame, journal};
use super::*;
use crate::journal::event::Event;

fn audit_of(events: Vec<Event>, frame: &Frame) -> Vec<AuditItem> {
    self_audit_entries(&journal(events), frame, Storage::Directory, None)
}

fn cross_item(events: Vec<Event>) -> AuditItem {
    let f = frame();
    audit_of(events, &f)
        .into_iter()
        .find(|i| i.item == ITEMS[6])
        .unwrap()
}

fn judged_by(ev: &mut [Event], family: &str, arm_family: Option<&str>) {
    let m = at(ev, "manifest");
    if let Event::Manifest {
        judge_family,
        arm_families,
        arms,
        ..
    } = &mut ev[m]
    {
        *judge_family = Some(family.into());
        *arm_families = arms
            .iter()
            .map(|_| arm_family.map(str::to_string))
            .collect();
    }
}

// Attack: an LLM judge whose family no arm shares was audited "not applicable" although no
// second judge ever checked it.
#[test]
fn attack_llm_judge_of_another_family_audited_not_applicable() {
    let f = frame();
    let mut ev = events(&f);
    judged_by(&mut ev, "gpt", Some("llama"));
    let c = cross_item(ev);
    assert_eq!(c.status, AuditStatus::Fail, "{}", c.evidence);
    assert!(c.evidence.contains("did not run"), "{}", c.evidence);
}

// Attack: the item trusted the journaled `passed` flag; a check whose counts show 1 agreement in
// 5 passed the audit.
#[test]
fn attack_cross_judge_low_agreement_audited_as_pass() {
    let f = frame();
    let mut ev = events(&f);
    judged_by(&mut ev, "gpt", Some("gpt"));
    let d = at(&ev, "dev-scored");
    let json = serde_json::json!({"event": "cross-judge", "judge": "exact", "second_judge": "llm:claude",
        "rows": ["d0", "d1", "d2", "d3", "d4"], "agree": 1, "disagree": 4, "passed": true});
    ev.insert(d + 1, serde_json::from_value(json).unwrap());
    let c = cross_item(ev);
    assert_eq!(c.status, AuditStatus::Fail, "{}", c.evidence);
}

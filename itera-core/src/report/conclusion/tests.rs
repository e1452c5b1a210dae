//! Tests of `conclusion.md`: sections in order with their charts, real minus signs, audit marks
//! taken from the audit, and the wording of ship-narrowly, inconclusive and no-iteration cases.

use super::*;
use crate::decide::rules::{ArmEvidence, Rules, SliceEvidence, decide};
use crate::frame::ThresholdRule;
use crate::report::audit::fixture;
use crate::report::audit::{Storage, self_audit_entries};
use crate::report::{
    Aggregate, ArmEffects, ArmInfo, ExperimentInfo, FailureModes, ModeInfo, SliceInfo, Tokens,
    VerdictInfo,
};
use std::collections::BTreeMap;

fn es(delta: f64, lo: f64, hi: f64, n: usize) -> EffectSize {
    EffectSize {
        delta,
        ci_low: lo,
        ci_high: hi,
        n,
    }
}

fn evidence(aggregate: EffectSize, se_test: f64) -> ArmEvidence {
    ArmEvidence {
        arm: "v2".into(),
        version: 1,
        killed_by_gate: false,
        effect: Some(aggregate),
        slices: vec![
            SliceEvidence {
                slice: "smb".into(),
                effect: Some(es(0.15, 0.09, 0.21, 60)),
                major: true,
                row_variance: None,
            },
            SliceEvidence {
                slice: "ent".into(),
                effect: Some(es(-0.033, -0.081, 0.015, 60)),
                major: true,
                row_variance: None,
            },
        ],
        noise_sd: 0.01,
        se_test_planned: se_test,
        highest_mode_failures: Some((3, 5)),
        weighted: None,
        cost_per_1k_usd: Some(0.42),
        dev_delta: Some(0.1),
        dev_se: Some(0.03),
        test_se: None,
        noise_basis: String::new(),
        slice_row_variance: Some(0.2),
        ci_level: None,
    }
}

fn rules() -> Rules {
    Rules {
        threshold: 0.05,
        floor: -0.02,
        rule: ThresholdRule::Point,
        alpha: 0.05,
        power: 0.8,
        slice_rule: Default::default(),
    }
}

fn report(v: &Verdict) -> ReportData {
    let arm = |id: &str, baseline: bool, version: u32, cost: f64| ArmInfo {
        id: id.into(),
        name: id.into(),
        baseline,
        parent: (!baseline).then(|| "v1".to_string()),
        change: (!baseline).then(|| "adds two refund examples".to_string()),
        version,
        cost_per_1k_usd: Some(cost),
        tokens: Tokens {
            input: if baseline { 96_000 } else { 131_000 },
            output: 12_000,
        },
        latency_ms_mean: if baseline { 810.0 } else { 905.0 },
        queue_ms_mean: None,
        server_ms_mean: None,
        killed: false,
        cold: None,
    };
    let agg = |mean: f64, sd: f64, n: usize| Aggregate { mean, sd, n };
    let slice = |id: &str| SliceInfo {
        id: id.into(),
        name: id.into(),
        dev_n: 100,
        test_n: 60,
        major: true,
    };
    let counts = |a: usize, b: usize, c: usize| {
        BTreeMap::from([
            ("wrong_account".to_string(), a),
            ("missing_field".to_string(), b),
            ("format".to_string(), c),
        ])
    };
    let aggregate = v.arms[0].evidence.effect.unwrap();
    ReportData {
        experiment: ExperimentInfo {
            name: "refund-examples".into(),
            question: "Does adding two refund examples to the prompt raise extraction accuracy?"
                .into(),
            hypothesis: "The examples fix refund rows without hurting the rest.".into(),
            metric: "accuracy".into(),
            scorer: "exact".into(),
            threshold_pp: 5.0,
            slice_loss_floor_pp: -2.0,
            threshold_rule: "ship when Δ ≥ +5.0pp and the 95% CI excludes 0".into(),
            rule: "point".into(),
            ci_method: "paired-t".into(),
            ci_level: 0.95,
            aggregate_ci_level: None,
            slice_rule: "non-inferiority".into(),
            test_n: 120,
            dev_n: 200,
            trials_per_arm: 3,
            seed: 7,
            frame_hash: "3f1a9c".into(),
            data_hash: "b07e44".into(),
        },
        arms: vec![arm("v1", true, 0, 0.31), arm("v2", false, 1, 0.42)],
        slices: vec![slice("smb"), slice("ent")],
        failure_modes: FailureModes {
            taxonomy: vec![
                ModeInfo {
                    id: "wrong_account".into(),
                    weight: 3.0,
                },
                ModeInfo {
                    id: "missing_field".into(),
                    weight: 1.0,
                },
                ModeInfo {
                    id: "format".into(),
                    weight: 0.5,
                },
            ],
            highest: Some("wrong_account".into()),
            test_counts: BTreeMap::from([
                ("v1".to_string(), counts(5, 7, 2)),
                ("v2".to_string(), counts(3, 8, 2)),
            ]),
        },
        severity: None,
        variance_trials: BTreeMap::from([
            ("v1".to_string(), vec![0.70, 0.71, 0.72]),
            ("v2".to_string(), vec![0.79, 0.80, 0.80]),
        ]),
        dev_aggregate: BTreeMap::from([
            ("v1".to_string(), agg(0.71, 0.01, 200)),
            ("v2".to_string(), agg(0.797, 0.006, 200)),
        ]),
        test_aggregate: BTreeMap::from([
            ("v1".to_string(), agg(0.70, 0.008, 120)),
            ("v2".to_string(), agg(0.789, 0.009, 120)),
        ]),
        test_per_slice: BTreeMap::new(),
        effect_sizes: BTreeMap::from([(
            "v2".to_string(),
            ArmEffects {
                aggregate,
                per_slice: v.arms[0]
                    .evidence
                    .slices
                    .iter()
                    .filter_map(|s| s.effect.map(|e| (s.slice.clone(), e)))
                    .collect(),
            },
        )]),
        noise_sd: BTreeMap::from([("v1".to_string(), 0.01), ("v2".to_string(), 0.006)]),
        verdict: VerdictInfo {
            decision: v.decision,
            arm: v.arm.clone(),
            slices: v.slices.clone(),
            failing_slices: v.failing_slices.clone(),
            harmed_slices: v.harmed_slices.clone(),
            unknown_slices: v.unknown_slices.clone(),
            killed: v.killed.clone(),
            inconclusive_reason: v.inconclusive_reason.clone(),
            rationale: v.rationale.clone(),
            overfit_alarm: v.overfit_alarm,
            not_fresh_test_set: None,
        },
        test_row_ids: Vec::new(),
        calls: BTreeMap::new(),
        power: None,
        judge: None,
    }
}

/// The audit and ledger of the fixture journal, with a synthetic source (so one item fails).
fn audit_and_ledger() -> (Vec<AuditItem>, Ledger) {
    let mut f = fixture::frame();
    f.synthetic_source = true;
    let entries = fixture::journal(fixture::events(&f));
    (
        self_audit_entries(&entries, &f, Storage::Directory, None),
        Ledger::from_entries(&entries),
    )
}

fn narrow() -> (ReportData, Verdict) {
    let v = decide(&rules(), &[evidence(es(0.089, 0.041, 0.136, 120), 0.015)]);
    (report(&v), v)
}

const SECTIONS: [&str; 12] = [
    "# refund-examples: ship narrowly",
    "## Question",
    "## Arms",
    "## Metric and rule (pre-registered)",
    "## Dev scores",
    "## Diagnostic notes",
    "## Verdict",
    "## Failure-mode deltas",
    "## Cost",
    "## What to test next",
    "## Self-audit",
    "- ❌ **label-noise audit**",
];

#[test]
fn sections_appear_in_order_with_their_charts() {
    let (r, v) = narrow();
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    let mut from = 0;
    for s in SECTIONS {
        let at = md[from..]
            .find(s)
            .unwrap_or_else(|| panic!("{s} missing or out of order"));
        from += at + s.len();
    }
    for chart in [
        "charts/arm-bar.png",
        "charts/forest-plot.png",
        "charts/cost-vs-accuracy.png",
    ] {
        assert!(md.contains(chart), "{chart}");
    }
    assert!(!md.contains("## Severity"), "no severity registered");
}

#[test]
fn signs_use_a_real_minus_and_never_plus_minus() {
    let (r, v) = narrow();
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    assert!(md.contains("−3.3pp"), "{md}");
    assert!(md.contains("+8.9pp [+4.1pp, +13.6pp]"), "{md}");
    assert!(!md.contains("+-") && !md.contains("-3.3pp"), "{md}");
    assert!(md.contains("| −2 |"), "signed failure-mode delta: {md}");
}

#[test]
fn audit_marks_come_from_the_audit() {
    let (r, v) = narrow();
    let (mut a, l) = audit_and_ledger();
    a[0].status = AuditStatus::Fail;
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    assert!(md.contains("- ❌ **test sealed and opened once**"));
    assert!(md.contains("- — **negative control**"));
    assert!(md.contains("- ✅ **blind judge**"));
    assert_eq!(md.matches("- ❌ ").count(), 2);
}

#[test]
fn ship_narrowly_names_the_slices_and_the_next_experiment() {
    let (r, v) = narrow();
    assert_eq!(v.decision, Decision::ShipNarrowly);
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    assert!(md.contains("**Ship narrowly v2.**"), "{md}");
    assert!(
        md.contains("The claim covers smb only; against the loss floor F = −2.0pp, R3 excludes ent (not shown safe: 60 rows, need ≈ "),
        "{md}"
    );
    assert!(
        md.contains("Ship v2 to smb only. Next: a new experiment on the excluded slices (ent (not shown safe: 60 rows, need ≈ 321)) with fresh rows"),
        "{md}"
    );
}

#[test]
fn inconclusive_sizes_the_next_experiment_and_nothing_asks_for_more_iterations() {
    let v = decide(&rules(), &[evidence(es(0.03, -0.01, 0.07, 120), 0.025)]);
    assert_eq!(v.decision, Decision::Inconclusive);
    let r = report(&v);
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    let mde = v.arms[0].power.unwrap().mde;
    let n = (120.0 * (mde / 0.05_f64).powi(2)).ceil() as usize;
    assert!(
        md.contains(&format!("A new experiment with n ≥ {n} sealed test rows")),
        "{md}"
    );
    for d in [
        narrow().1,
        v,
        decide(&rules(), &[evidence(es(-0.02, -0.05, 0.01, 120), 0.01)]),
    ] {
        let md = conclusion_markdown(&report(&d), &d, &a, &l, true);
        assert!(!md.to_lowercase().contains("more iterations"), "{md}");
    }
}

#[test]
fn no_iterations_say_so() {
    let (r, v) = narrow();
    let (a, _) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &Ledger::default(), true);
    assert!(md.contains("No iterations"));
}

#[test]
fn the_whole_document_reads_well() {
    let (r, v) = narrow();
    let (a, l) = audit_and_ledger();
    insta::assert_snapshot!(conclusion_markdown(&r, &v, &a, &l, true));
}

/// Item 7 of issue #16: without `charts` (the library path) no image is linked and the dev
/// section says how to draw them; with it (the CLI path) all three are embedded.
#[test]
fn without_charts_no_image_is_linked_and_the_way_to_draw_them_is_named() {
    let (r, v) = narrow();
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, false);
    assert!(!md.contains("](charts/"), "{md}");
    assert!(md.contains("itera_charts::write_all") && md.contains("itera report DIR"));
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    assert_eq!(md.matches("](charts/").count(), 3);
    assert!(!md.contains("itera_charts::write_all"));
}

/// Item 9 of issue #16: the cost table's token columns are totals over the test pass
/// (`ArmReport::tokens`), not means; only cost per 1k rows and latency are steady-state means.
#[test]
fn the_cost_table_calls_token_totals_totals() {
    let (r, v) = narrow();
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    let cost = &md[md.find("## Cost").unwrap()..];
    let sentence = cost.lines().nth(2).unwrap();
    assert!(
        sentence.contains("token counts are totals"),
        "the cost table's sentence: {sentence}"
    );
}

/// #19: "Mean latency" once said nothing of what it held; a one-slot server's queue looked like
/// a slow model. The cost section says which latency it shows, and each arm's own queue wait and
/// the endpoint's reported processing time, when known, apart.
#[test]
fn the_cost_section_says_which_latency_it_shows_and_the_queue_apart() {
    let (mut r, v) = narrow();
    r.arms[0].queue_ms_mean = Some(12.4);
    r.arms[0].server_ms_mean = Some(640.0);
    let (a, l) = audit_and_ledger();
    let md = conclusion_markdown(&r, &v, &a, &l, true);
    let cost = &md[md.find("## Cost").unwrap()..md.find("## What to test next").unwrap()];
    assert!(
        cost.contains("from sending a call to its reply")
            && cost.contains("queueing inside the endpoint are in it"),
        "{cost}"
    );
    let id = &r.arms[0].id;
    assert!(
        cost.contains(&format!(
            "- {id}: waited 12 ms per call in itera's queue (rate limits, adaptive concurrency); the endpoint reported 640 ms of processing per call."
        )),
        "{cost}"
    );
    assert!(!cost.contains(&format!("- {}:", r.arms[1].id)), "{cost}");
}

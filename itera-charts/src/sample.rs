//! Small, fully built report models for examples and tests (hidden from the docs). The numbers
//! are made up to exercise the charts; they are not results of anything.

use itera_core::report::{
    Aggregate, ArmEffects, ArmInfo, EffectSize, ExperimentInfo, FailureModes, ReportData,
    SliceInfo, Tokens, VerdictInfo,
};
use std::collections::BTreeMap;

fn experiment(name: &str, test_n: usize, dev_n: usize, trials: u32) -> ExperimentInfo {
    ExperimentInfo {
        name: name.to_string(),
        question: "Should we ship the candidate instead of the deployed prompt?".to_string(),
        hypothesis: "The candidate raises exact-match accuracy by at least 5pp.".to_string(),
        metric: "exact_match".to_string(),
        scorer: "exact".to_string(),
        threshold_pp: 5.0,
        slice_loss_floor_pp: -2.0,
        threshold_rule: "Δ ≥ +5.0pp and the 95% CI excludes 0".to_string(),
        rule: "point".to_string(),
        ci_method: "paired-t".to_string(),
        ci_level: 0.95,
        aggregate_ci_level: None,
        slice_rule: "non-inferiority".into(),
        test_n,
        dev_n,
        trials_per_arm: trials,
        seed: 7,
        frame_hash: "0".repeat(64),
        data_hash: "1".repeat(64),
    }
}

fn arm(id: &str, parent: Option<&str>, change: Option<&str>, cost: Option<f64>) -> ArmInfo {
    ArmInfo {
        id: id.to_string(),
        name: id.to_string(),
        baseline: parent.is_none(),
        parent: parent.map(str::to_string),
        change: change.map(str::to_string),
        version: 1,
        cost_per_1k_usd: cost,
        tokens: Tokens {
            input: 1000,
            output: 200,
        },
        latency_ms_mean: 850.0,
        queue_ms_mean: None,
        server_ms_mean: None,
        killed: false,
        cold: None,
    }
}

fn agg(mean: f64, sd: f64, n: usize) -> Aggregate {
    Aggregate { mean, sd, n }
}

fn eff(delta: f64, lo: f64, hi: f64, n: usize) -> EffectSize {
    EffectSize {
        delta,
        ci_low: lo,
        ci_high: hi,
        n,
    }
}

fn slice(id: &str, name: &str, dev_n: usize, test_n: usize) -> SliceInfo {
    SliceInfo {
        id: id.to_string(),
        name: name.to_string(),
        dev_n,
        test_n,
        major: true,
    }
}

/// The seed example's shape: tenants `enterprise` and `SMB`; baseline `v1`; `v2` improves both;
/// `v3` improves enterprise and regresses SMB below the −2pp floor (SMB −3.3pp [−8.8, +2.2]).
pub fn seed_example() -> ReportData {
    let arms = vec![
        arm("v1", None, None, Some(0.42)),
        arm(
            "v2",
            Some("v1"),
            Some("few-shot examples in the prompt"),
            Some(1.35),
        ),
        arm(
            "v3",
            Some("v1"),
            Some("retrieval over the tenant's past tickets"),
            Some(0.88),
        ),
    ];
    let slices = vec![
        slice("enterprise", "enterprise", 520, 210),
        slice("smb", "SMB", 480, 190),
    ];
    let mut dev = BTreeMap::new();
    dev.insert("v1".to_string(), agg(0.702, 0.008, 1000));
    dev.insert("v2".to_string(), agg(0.781, 0.011, 1000));
    dev.insert("v3".to_string(), agg(0.748, 0.009, 1000));
    let mut test = BTreeMap::new();
    test.insert("v1".to_string(), agg(0.695, 0.006, 400));
    test.insert("v2".to_string(), agg(0.784, 0.009, 400));
    test.insert("v3".to_string(), agg(0.731, 0.007, 400));
    let mut effects = BTreeMap::new();
    effects.insert(
        "v2".to_string(),
        ArmEffects {
            aggregate: eff(0.089, 0.041, 0.137, 400),
            per_slice: BTreeMap::from([
                ("enterprise".to_string(), eff(0.094, 0.031, 0.157, 210)),
                ("smb".to_string(), eff(0.081, 0.012, 0.150, 190)),
            ]),
        },
    );
    effects.insert(
        "v3".to_string(),
        ArmEffects {
            aggregate: eff(0.036, -0.004, 0.076, 400),
            per_slice: BTreeMap::from([
                ("enterprise".to_string(), eff(0.072, 0.018, 0.126, 210)),
                ("smb".to_string(), eff(-0.033, -0.088, 0.022, 190)),
            ]),
        },
    );
    let mut per_slice = BTreeMap::new();
    per_slice.insert(
        "v1".to_string(),
        BTreeMap::from([("enterprise".to_string(), 0.71), ("smb".to_string(), 0.678)]),
    );
    per_slice.insert(
        "v2".to_string(),
        BTreeMap::from([
            ("enterprise".to_string(), 0.804),
            ("smb".to_string(), 0.759),
        ]),
    );
    per_slice.insert(
        "v3".to_string(),
        BTreeMap::from([
            ("enterprise".to_string(), 0.782),
            ("smb".to_string(), 0.645),
        ]),
    );
    ReportData {
        experiment: experiment("2025-01-15-support-triage", 400, 1000, 3),
        arms,
        slices,
        failure_modes: FailureModes::default(),
        severity: None,
        variance_trials: BTreeMap::from([
            ("v1".to_string(), vec![0.695, 0.702, 0.709]),
            ("v2".to_string(), vec![0.770, 0.781, 0.792]),
            ("v3".to_string(), vec![0.739, 0.748, 0.757]),
        ]),
        dev_aggregate: dev,
        test_aggregate: test,
        test_per_slice: per_slice,
        effect_sizes: effects,
        noise_sd: BTreeMap::from([
            ("v1".to_string(), 0.008),
            ("v2".to_string(), 0.011),
            ("v3".to_string(), 0.009),
        ]),
        verdict: VerdictInfo {
            decision: itera_core::Decision::Ship,
            arm: Some("v2".to_string()),
            slices: vec!["enterprise".to_string(), "smb".to_string()],
            failing_slices: vec![],
            harmed_slices: vec![],
            unknown_slices: vec![],
            killed: vec!["v3".to_string()],
            inconclusive_reason: None,
            rationale: "v2: R1–R5 pass.".to_string(),
            overfit_alarm: false,
            not_fresh_test_set: None,
        },
        test_row_ids: (0..400).map(|i| format!("row-{i}")).collect(),
        calls: BTreeMap::new(),
        power: None,
        judge: None,
    }
}

/// The 14 slice names of [`four_by_fourteen`].
pub const FOURTEEN_SLICES: [&str; 14] = [
    "billing",
    "shipping",
    "returns",
    "account access",
    "international wholesale",
    "warranty",
    "gift cards",
    "subscriptions",
    "marketplace sellers",
    "fraud reports",
    "accessibility",
    "B2B invoicing",
    "loyalty points",
    "other",
];

/// A baseline and three candidates over 14 slices. `rerank` fails the floor on
/// `fraud reports` (−3.5pp [−7.1, +0.1]); every other slice passes. `rerank` is dominated
/// (dearer and worse than `few-shot`); `model-swap`'s cost is unknown; 5 trials per arm.
pub fn four_by_fourteen() -> ReportData {
    let ids = ["baseline", "few-shot", "rerank", "model-swap"];
    let arms = vec![
        arm(ids[0], None, None, Some(0.80)),
        arm(
            ids[1],
            Some(ids[0]),
            Some("three worked examples"),
            Some(1.10),
        ),
        arm(
            ids[2],
            Some(ids[0]),
            Some("rerank retrieved passages"),
            Some(1.20),
        ),
        arm(
            ids[3],
            Some(ids[0]),
            Some("a larger model, same prompt"),
            None,
        ),
    ];
    let slices: Vec<SliceInfo> = FOURTEEN_SLICES
        .iter()
        .enumerate()
        .map(|(j, n)| slice(&format!("s{j:02}"), n, 70, 50))
        .collect();
    let base = [0.0, 0.06, 0.03, 0.045];
    let dev_means = [0.640, 0.702, 0.668, 0.689];
    let test_means = [0.652, 0.713, 0.684, 0.699];
    let mut dev = BTreeMap::new();
    let mut test = BTreeMap::new();
    let mut effects = BTreeMap::new();
    for (k, id) in ids.iter().enumerate() {
        dev.insert(
            id.to_string(),
            agg(dev_means[k], 0.006 + 0.002 * k as f64, 980),
        );
        test.insert(id.to_string(), agg(test_means[k], 0.005, 700));
        if k == 0 {
            continue;
        }
        let mut per_slice = BTreeMap::new();
        for (j, s) in slices.iter().enumerate() {
            let e = if k == 2 && j == 9 {
                eff(-0.035, -0.071, 0.001, 50)
            } else {
                let d = base[k] + 0.01 * ((j * 7 + k * 3) % 9) as f64 / 3.0 - 0.01;
                let hw = 0.02 + 0.002 * (j % 5) as f64;
                eff(d, d - hw, d + hw, 50)
            };
            per_slice.insert(s.id.clone(), e);
        }
        let d = test_means[k] - test_means[0];
        effects.insert(
            id.to_string(),
            ArmEffects {
                aggregate: eff(d, d - 0.021, d + 0.021, 700),
                per_slice,
            },
        );
    }
    ReportData {
        experiment: experiment("2025-02-03-helpdesk-14-slices", 700, 980, 5),
        arms,
        slices,
        failure_modes: FailureModes::default(),
        severity: None,
        variance_trials: BTreeMap::new(),
        dev_aggregate: dev,
        test_aggregate: test,
        test_per_slice: BTreeMap::new(),
        effect_sizes: effects,
        noise_sd: BTreeMap::new(),
        verdict: VerdictInfo {
            decision: itera_core::Decision::Ship,
            arm: Some("few-shot".to_string()),
            slices: vec![],
            failing_slices: vec!["s09".to_string()],
            harmed_slices: vec![],
            unknown_slices: vec![itera_core::report::SliceStatus {
                slice: "s09".to_string(),
                state: itera_core::report::SliceState::Unknown,
                n: 50,
                need: Some(420),
            }],
            killed: vec![],
            inconclusive_reason: None,
            rationale: "few-shot: R1–R5 pass.".to_string(),
            overfit_alarm: false,
            not_fresh_test_set: None,
        },
        test_row_ids: vec![],
        calls: BTreeMap::new(),
        power: None,
        judge: None,
    }
}

/// [`seed_example`] plus `v4`, killed by the gate after dev: it has a dev aggregate but no test
/// numbers, no effects and no cost.
pub fn with_killed_arm() -> ReportData {
    let mut d = seed_example();
    let mut v4 = arm(
        "v4",
        Some("v1"),
        Some("tenant names hard-coded in the prompt"),
        None,
    );
    v4.killed = true;
    d.arms.push(v4);
    d.dev_aggregate
        .insert("v4".to_string(), agg(0.812, 0.010, 1000));
    d.verdict.killed.push("v4".to_string());
    d
}

//! The validity harness's scenarios for verdicts at real sample sizes (the issue "Verdicts that
//! stay useful at real sample sizes"), beside [`crate::validity`] and printing the same JSON
//! lines: **false narrowing** (an arm that gains ≥ T on every major slice, the slices sized by the
//! per-slice planner [`itera_stats::power::slices_noninferiority_rows`], shipped narrowly or
//! killed), **unknown-not-harm** (slices with true Δ = 0 and too few rows labelled *harmed*),
//! **family-wise false ship** with three null arms (any of them shipped), and the **overfit
//! alarm** on clean data (dev and test drawn from the same truth).
//!
//! Several candidate arms share the baseline's draw: per row the baseline is right with
//! probability `p_base`, and each arm independently given the baseline with the cell's
//! conditional probabilities, so each (arm, baseline) pair has exactly the cell's joint law.

use crate::validity::{
    ALPHA, Cell, Design, DesignSpec, POWER, Rate, conclude, phi, rule_name, run_parallel,
};
use async_trait::async_trait;
use itera_core::decide::slices::SliceState;
use itera_core::{Arm, ArmError, ArmOutput, CallCtx, Decision, Frame, SliceRule, ThresholdRule};
use rand::{Rng, RngExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What an extended scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtMeasure {
    /// Ship narrowly or kill, for an arm that gains ≥ T on every (planner-sized) major slice.
    FalseNarrowing,
    /// Null slices with too few rows labelled harmed (per slice-run).
    UnknownLabelledHarmed,
    /// Any of k null arms shipped.
    FamilyFalseShip,
    /// The overfit alarm on clean data.
    OverfitAlarm,
}

/// One extended scenario.
#[derive(Debug, Clone)]
pub struct ExtScenario {
    /// Name.
    pub name: &'static str,
    /// R1's rule.
    pub rule: ThresholdRule,
    /// R3's slice rule.
    pub slice_rule: SliceRule,
    /// Candidate arms (all with the design's cells).
    pub arms: usize,
    /// The design.
    pub design: Arc<Design>,
    /// What it measures.
    pub measure: ExtMeasure,
    /// The rate the normal approximation expects.
    pub expected: Option<f64>,
    /// Slices whose true Δ is 0 (for [`ExtMeasure::UnknownLabelledHarmed`]).
    pub null_slices: Vec<String>,
    /// Notes.
    pub note: String,
}

fn frame(
    spec: &DesignSpec,
    rule: ThresholdRule,
    slice_rule: SliceRule,
    arms: usize,
) -> Result<Frame, String> {
    let mut b = Frame::builder(
        "validity",
        "Does a replayed candidate beat the replayed baseline?",
        "The candidates' simulated scores carry known true effects.",
    )
    .baseline("base", "simulation: replayed baseline scores");
    for j in 0..arms {
        b = b.arm(
            format!("cand{j}"),
            "base",
            "replays simulated candidate scores with a known true effect",
        );
    }
    b.metric("accuracy", "exact")
        .threshold_pp(spec.threshold_pp)
        .slice_loss_floor_pp(spec.floor_pp)
        .rule(rule)
        .slice_rule(slice_rule)
        .trials(1)
        .deterministic(true)
        .alpha(ALPHA)
        .power(POWER)
        .split(spec.split.0, spec.split.1, spec.split.2)
        .seed(spec.frame_seed)
        .build()
        .map_err(|e| e.to_string())
}

struct Replay {
    id: String,
    scores: Arc<Vec<bool>>,
}

#[async_trait]
impl Arm for Replay {
    fn id(&self) -> &str {
        &self.id
    }
    fn spec(&self) -> String {
        format!("replayed scores of {}", self.id)
    }
    async fn call(&self, input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let i = input["i"].as_u64().unwrap_or(u64::MAX) as usize;
        let right = self.scores.get(i).copied().unwrap_or(false);
        Ok(ArmOutput::text(if right { "right" } else { "wrong" }))
    }
}

/// Draws the baseline and `arms` candidates per row (unclustered designs).
pub fn draw_arms<R: Rng>(design: &Design, arms: usize, rng: &mut R) -> (Vec<bool>, Vec<Vec<bool>>) {
    let mut base = Vec::with_capacity(design.spec.rows);
    let mut cands = vec![Vec::with_capacity(design.spec.rows); arms];
    for i in 0..design.spec.rows {
        let cell = &design.spec.slices[design.slice_of[i]].1;
        let (p11, p10, _, _) = cell.joint();
        let b = rng.random::<f64>() < cell.p_base;
        base.push(b);
        let p_arm = if b {
            p11 / cell.p_base
        } else {
            p10 / (1.0 - cell.p_base)
        };
        for c in cands.iter_mut() {
            c.push(rng.random::<f64>() < p_arm);
        }
    }
    (base, cands)
}

/// What one run concluded.
#[derive(Debug, Clone)]
pub struct ExtOutcome {
    /// The decision.
    pub decision: Decision,
    /// Per slice, the first candidate's state.
    pub states: BTreeMap<String, SliceState>,
    /// The first candidate's overfit alarm.
    pub overfit_alarm: bool,
}

async fn run_one(
    s: &ExtScenario,
    base: Vec<bool>,
    cands: Vec<Vec<bool>>,
) -> Result<ExtOutcome, String> {
    let mut arms: Vec<Box<dyn Arm>> = vec![Box::new(Replay {
        id: "base".into(),
        scores: Arc::new(base),
    })];
    for (j, c) in cands.into_iter().enumerate() {
        arms.push(Box::new(Replay {
            id: format!("cand{j}"),
            scores: Arc::new(c),
        }));
    }
    let c = conclude(
        frame(&s.design.spec, s.rule, s.slice_rule, s.arms)?,
        s.design.rows.clone(),
        arms,
    )
    .await?;
    let first = c.verdict.arms.iter().find(|a| a.arm == "cand0");
    Ok(ExtOutcome {
        decision: c.verdict.decision,
        states: first
            .map(|a| {
                a.slice_states
                    .iter()
                    .map(|st| (st.slice.clone(), st.state))
                    .collect()
            })
            .unwrap_or_default(),
        overfit_alarm: first.is_some_and(|a| a.overfit_alarm),
    })
}

fn cell(p_base: f64, discord: f64, delta: f64) -> Cell {
    Cell {
        p_base,
        discord,
        delta,
    }
}

/// A design whose every slice has at least `per_slice` test rows (grows the row count until the
/// split gives it).
fn sized(mut spec: DesignSpec, per_slice: usize) -> Result<Design, String> {
    let k = spec.slices.len();
    spec.rows = ((per_slice * k) as f64 / spec.split.2).ceil() as usize;
    for _ in 0..200 {
        let d = Design::new(spec.clone())?;
        if d.test_per_slice.iter().all(|&n| n >= per_slice) {
            return Ok(d);
        }
        spec.rows += k;
    }
    Err(format!(
        "no row count gives {per_slice} test rows per slice"
    ))
}

/// The extended scenarios.
///
/// * `false-narrowing` (both slice rules): 4 major slices each with true Δ = +10 pp ≥ T = 5 pp
///   (baseline 0.5, ψ = 0.3, Var = 0.29), F = −5 pp; each slice sized by the planner for all four
///   to be shown safe with joint power 0.9: `slices_noninferiority_rows(0.10, −0.05, 0.29, α,
///   0.9, 4)` = 198 test rows. Non-inferiority narrows when any slice misses: ≈ 1 − 0.975⁴ =
///   9.6 % (target ≤ 10 %); no-significant-harm only when a slice's CI lies below 0 (≈ 0).
/// * `unknown-not-harm`: 10 slices of 20 test rows, 5 with true Δ = 0 and 5 with +15 pp; the
///   rate is over (run, null slice) pairs; target ≤ α/2.
/// * `null-three-arms`: three candidates with true Δ = 0 on the main design (200 test rows), T =
///   1 pp so R1's CI is what binds; any of them shipped; target ≤ α/2 = 2.5 %.
/// * `overfit-clean`: one candidate, Δ = +5 pp on dev and test alike, 240 dev and 240 test
///   rows; target α = 5 % ± 2 pp.
pub fn ext_scenarios() -> Result<Vec<ExtScenario>, String> {
    let mut out = Vec::new();
    let g = 0.10;
    let var = cell(0.5, 0.3, g).diff_variance();
    let n_s = itera_stats::power::slices_noninferiority_rows(g, -0.05, var, ALPHA, 0.9, 4)
        .map_err(|e| e.to_string())?
        .ceil() as usize;
    let narrowing = Arc::new(sized(
        DesignSpec {
            rows: 0,
            split: (0.04, 0.16, 0.8),
            slices: (0..4)
                .map(|s| (format!("s{s}"), cell(0.5, 0.3, g)))
                .collect(),
            cluster_size: None,
            icc: 0.0,
            threshold_pp: 5.0,
            floor_pp: -5.0,
            frame_seed: 19,
        },
        n_s,
    )?);
    let (za, _) = crate::validity::z_values(ALPHA, POWER);
    for (slice_rule, expected) in [
        (SliceRule::NonInferiority, {
            let p_safe = narrowing
                .test_per_slice
                .iter()
                .map(|&n| phi((g + 0.05) / (var / n as f64).sqrt() - za))
                .product::<f64>();
            1.0 - p_safe
        }),
        (SliceRule::NoSignificantHarm, 0.0),
    ] {
        out.push(ExtScenario {
            name: "false-narrowing",
            rule: ThresholdRule::Point,
            slice_rule,
            arms: 1,
            design: narrowing.clone(),
            measure: ExtMeasure::FalseNarrowing,
            expected: Some(expected),
            null_slices: Vec::new(),
            note: format!(
                "4 slices × ≥ {n_s} test rows (planner, joint power 0.9), true Δ = +10pp ≥ T = 5pp, F = −5pp, slice rule {}",
                slice_rule.as_str()
            ),
        });
    }
    let small = Arc::new(Design::new(DesignSpec {
        rows: 250,
        split: (0.04, 0.16, 0.8),
        slices: (0..10)
            .map(|s| {
                let d = if s < 5 { 0.0 } else { 0.15 };
                (format!("s{s}"), cell(0.5, 0.3, d))
            })
            .collect(),
        cluster_size: None,
        icc: 0.0,
        threshold_pp: 5.0,
        floor_pp: -5.0,
        frame_seed: 23,
    })?);
    out.push(ExtScenario {
        name: "unknown-not-harm",
        rule: ThresholdRule::Point,
        slice_rule: SliceRule::NonInferiority,
        arms: 1,
        design: small,
        measure: ExtMeasure::UnknownLabelledHarmed,
        expected: Some(ALPHA / 2.0),
        null_slices: (0..5).map(|s| format!("s{s}")).collect(),
        note: "10 slices × 20 test rows; s0–s4 true Δ = 0, s5–s9 +15pp; rate per (run, null slice)"
            .into(),
    });
    let null = Arc::new(Design::new(DesignSpec {
        rows: 250,
        split: (0.04, 0.16, 0.8),
        slices: vec![(itera_core::DEFAULT_SLICE.to_string(), cell(0.5, 0.3, 0.0))],
        cluster_size: None,
        icc: 0.0,
        threshold_pp: 1.0,
        floor_pp: -10.0,
        frame_seed: 7,
    })?);
    out.push(ExtScenario {
        name: "null-three-arms",
        rule: ThresholdRule::Point,
        slice_rule: SliceRule::NonInferiority,
        arms: 3,
        design: null,
        measure: ExtMeasure::FamilyFalseShip,
        expected: Some(ALPHA / 2.0),
        null_slices: Vec::new(),
        note: "3 null arms, T = 1pp (the CI binds); aggregate CIs at 1 − α/3 (Bonferroni)".into(),
    });
    let clean = Arc::new(Design::new(DesignSpec {
        rows: 500,
        split: (0.04, 0.48, 0.48),
        slices: vec![(itera_core::DEFAULT_SLICE.to_string(), cell(0.5, 0.3, 0.05))],
        cluster_size: None,
        icc: 0.0,
        threshold_pp: 5.0,
        floor_pp: -10.0,
        frame_seed: 29,
    })?);
    out.push(ExtScenario {
        name: "overfit-clean",
        rule: ThresholdRule::Point,
        slice_rule: SliceRule::NonInferiority,
        arms: 1,
        design: clean,
        measure: ExtMeasure::OverfitAlarm,
        expected: Some(ALPHA),
        null_slices: Vec::new(),
        note: "Δ = +5pp on dev and test alike (≈ 240 rows each): the alarm's nominal rate is α"
            .into(),
    });
    Ok(out)
}

/// One extended scenario's result.
#[derive(Debug, Clone)]
pub struct ExtMeasured {
    /// The scenario.
    pub scenario: ExtScenario,
    /// Runs.
    pub runs: usize,
    /// The measured rate.
    pub rate: Rate,
    /// Decisions.
    pub decisions: BTreeMap<&'static str, usize>,
    /// Failed runs.
    pub errors: usize,
    /// The first error.
    pub first_error: Option<String>,
    /// Seconds.
    pub seconds: f64,
}

impl ExtMeasured {
    /// The JSON key of the rate.
    pub fn key(&self) -> &'static str {
        match self.scenario.measure {
            ExtMeasure::FalseNarrowing => "false_narrowing_rate",
            ExtMeasure::UnknownLabelledHarmed => "unknown_labelled_harmed_rate",
            ExtMeasure::FamilyFalseShip => "false_ship_rate",
            ExtMeasure::OverfitAlarm => "overfit_alarm_rate",
        }
    }

    /// The JSON line, with the keys of [`crate::validity::Measured::json`].
    pub fn json(&self) -> Value {
        let s = &self.scenario;
        let mut v = serde_json::json!({
            "scenario": s.name,
            "rule": rule_name(s.rule),
            "slice_rule": s.slice_rule.as_str(),
            "arms": s.arms,
            "runs": self.runs,
            "true_effect": s.design.true_effect(),
            "threshold": s.design.spec.threshold_pp / 100.0,
            "n_test": s.design.n_test,
            "expected": s.expected,
            "decisions": self.decisions,
            "errors": self.errors,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
            "ms_per_experiment": (self.seconds * 1e6 / self.runs.max(1) as f64).round() / 1000.0,
            "note": s.note,
        });
        v[self.key()] = serde_json::json!(self.rate.rate);
        v[format!("{}_se", self.key())] = serde_json::json!(self.rate.se);
        v["rate_trials"] = serde_json::json!(self.rate.trials);
        v
    }
}

/// Runs `runs` experiments of one extended scenario on `threads` threads; run r draws from
/// ChaCha8(seed, stream = 1000 + index, word r), so results do not depend on the thread count.
pub fn measure_ext(
    s: &ExtScenario,
    index: u64,
    runs: usize,
    seed: u64,
    threads: usize,
) -> ExtMeasured {
    let start = std::time::Instant::now();
    let threads = threads.clamp(1, runs.max(1));
    let results = run_parallel(runs, threads, seed, 1000 + index, |rt, rng| {
        let (base, cands) = draw_arms(&s.design, s.arms, rng);
        rt.block_on(run_one(s, base, cands))
    });
    let (mut hits, mut trials, mut errors) = (0, 0, 0);
    let mut first_error = None;
    let mut decisions: BTreeMap<&'static str, usize> = BTreeMap::new();
    for o in &results {
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.clone());
                continue;
            }
        };
        *decisions.entry(o.decision.as_str()).or_insert(0) += 1;
        match s.measure {
            ExtMeasure::FalseNarrowing => {
                trials += 1;
                hits += usize::from(matches!(
                    o.decision,
                    Decision::ShipNarrowly | Decision::Kill
                ));
            }
            ExtMeasure::FamilyFalseShip => {
                trials += 1;
                hits += usize::from(matches!(
                    o.decision,
                    Decision::Ship | Decision::ShipNarrowly
                ));
            }
            ExtMeasure::OverfitAlarm => {
                trials += 1;
                hits += usize::from(o.overfit_alarm);
            }
            ExtMeasure::UnknownLabelledHarmed => {
                for n in &s.null_slices {
                    trials += 1;
                    hits += usize::from(o.states.get(n) == Some(&SliceState::Harmed));
                }
            }
        }
    }
    ExtMeasured {
        scenario: s.clone(),
        runs,
        rate: Rate::of(hits, trials),
        decisions,
        errors,
        first_error,
        seconds: start.elapsed().as_secs_f64(),
    }
}

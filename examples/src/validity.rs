//! The verdict-validity harness shared by `examples/examples/validity.rs` and
//! `examples/tests/validity.rs`: simulated experiments with a known true effect, run through the
//! real itera pipeline (register → split → pilot → dev → gate → seal → verdict, in memory), to
//! measure the METHOD.md §5 "Validity, precisely" quantities — false-ship rate, sub-threshold
//! ship rate, power, slice protection and CI coverage — under both threshold rules.
//!
//! **Truth.** Every row carries a pair of binary scores (arm, baseline) drawn from a joint
//! distribution with baseline accuracy `p_base`, discordance `ψ = P(arm ≠ baseline)` and true
//! effect `Δ = P(arm right, baseline wrong) − P(arm wrong, baseline right)`, so the per-row
//! difference has mean Δ and variance ψ − Δ² exactly. With clusters of size m and intra-cluster
//! correlation ρ, each row takes its cluster's shared pair with probability λ = √ρ and its own
//! draw otherwise: the marginal pair distribution (hence Δ) is unchanged and two rows of a cluster
//! correlate with λ² = ρ.
//!
//! **Replay arms.** Two [`Arm`]s — the baseline and one candidate — answer the row's expected
//! value `"right"` when their simulated score is 1 and `"wrong"` otherwise; the built-in
//! exact-match judge scores them; one trial, deterministic.
//!
//! **Clusters of exactly m test rows.** The split is a function of row ids, slices and the frame
//! seed only (not of clusters or scores), so a design splits its rows once ([`Design::new`]) and
//! then groups each part's rows of each slice into consecutive clusters of m: the test set holds
//! whole clusters of m rows, as a clustered evaluation set would.

use async_trait::async_trait;
use itera_core::report::EffectSize;
use itera_core::run::judges::ExactMatch;
use itera_core::{
    Arm, ArmError, ArmOutput, CallCtx, Conclusion, Decision, Experiment, Frame, Lineup, Row,
    RunOptions, Store, ThresholdRule,
};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Two-sided significance level of every simulated frame (the itera default).
pub const ALPHA: f64 = 0.05;
/// Target power of every simulated frame (the itera default).
pub const POWER: f64 = 0.8;

/// The joint distribution of (arm, baseline) binary scores on one slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// P(baseline right).
    pub p_base: f64,
    /// ψ = P(arm ≠ baseline).
    pub discord: f64,
    /// The true effect Δ = P(arm right) − P(baseline right).
    pub delta: f64,
}

impl Cell {
    /// (p11, p10, p01, p00) with p10 = P(arm right, baseline wrong). Panics on an impossible
    /// cell (a design error, not a data error).
    pub fn joint(&self) -> (f64, f64, f64, f64) {
        let p10 = (self.discord + self.delta) / 2.0;
        let p01 = (self.discord - self.delta) / 2.0;
        let p11 = self.p_base - p01;
        let p00 = 1.0 - p11 - p10 - p01;
        assert!(
            [p11, p10, p01, p00].iter().all(|p| *p >= -1e-12),
            "impossible cell {self:?}: (p11, p10, p01, p00) = ({p11}, {p10}, {p01}, {p00})"
        );
        (p11, p10, p01, p00)
    }

    /// Var(arm − baseline) per row: ψ − Δ².
    pub fn diff_variance(&self) -> f64 {
        self.discord - self.delta * self.delta
    }

    /// One (arm, baseline) pair.
    fn draw<R: Rng>(&self, rng: &mut R) -> (bool, bool) {
        let (p11, p10, p01, _) = self.joint();
        let u = rng.random::<f64>();
        if u < p11 {
            (true, true)
        } else if u < p11 + p10 {
            (true, false)
        } else if u < p11 + p10 + p01 {
            (false, true)
        } else {
            (false, false)
        }
    }
}

/// One simulated design: its slices (equal sizes), the truth on each, clustering and the
/// registered rules.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignSpec {
    /// Rows in the data set (split train/dev/test by `split`).
    pub rows: usize,
    /// Train, dev, test shares.
    pub split: (f64, f64, f64),
    /// Slices (equal sizes: row i belongs to slice i mod k) and their truth.
    pub slices: Vec<(String, Cell)>,
    /// Cluster size m (rows grouped per part and slice), or `None`.
    pub cluster_size: Option<usize>,
    /// Intra-cluster correlation ρ.
    pub icc: f64,
    /// T in percentage points.
    pub threshold_pp: f64,
    /// F in percentage points (≤ 0).
    pub floor_pp: f64,
    /// The frame seed (fixes the split).
    pub frame_seed: u64,
}

/// A design with its split worked out once: which rows are test rows, and their clusters.
#[derive(Debug, Clone)]
pub struct Design {
    /// The specification.
    pub spec: DesignSpec,
    /// Rows, with slices and clusters, in id order.
    pub rows: Vec<Row>,
    /// Per row: its slice index.
    pub slice_of: Vec<usize>,
    /// Per row: its cluster index, if clustered.
    pub cluster_of: Vec<Option<usize>>,
    /// Test rows per slice.
    pub test_per_slice: Vec<usize>,
    /// Test rows.
    pub n_test: usize,
}

fn frame(spec: &DesignSpec, rule: ThresholdRule) -> Result<Frame, String> {
    Frame::builder(
        "validity",
        "Does the replayed candidate beat the replayed baseline?",
        "The candidate's simulated scores carry a known true effect.",
    )
    .baseline("base", "simulation: replayed baseline scores")
    .arm(
        "cand",
        "base",
        "replays simulated candidate scores with a known true effect",
    )
    .metric("accuracy", "exact")
    .threshold_pp(spec.threshold_pp)
    .slice_loss_floor_pp(spec.floor_pp)
    .rule(rule)
    .trials(1)
    .deterministic(true)
    .alpha(ALPHA)
    .power(POWER)
    .split(spec.split.0, spec.split.1, spec.split.2)
    .seed(spec.frame_seed)
    .build()
    .map_err(|e| e.to_string())
}

fn base_row(i: usize, slice: &str) -> Row {
    Row::new(format!("r{i:05}"), serde_json::json!({ "i": i }))
        .expected("right")
        .slice(slice)
}

impl Design {
    /// Splits the rows once (through the real split) and assigns clusters of m rows within each
    /// (part, slice).
    pub fn new(spec: DesignSpec) -> Result<Design, String> {
        let k = spec.slices.len();
        let slice_of: Vec<usize> = (0..spec.rows).map(|i| i % k).collect();
        let plain: Vec<Row> = (0..spec.rows)
            .map(|i| base_row(i, &spec.slices[slice_of[i]].0))
            .collect();
        let exp = Experiment::new(frame(&spec, ThresholdRule::Point)?)
            .map_err(|e| e.to_string())?
            .register(Store::in_memory())
            .map_err(|r| r.error.to_string())?
            .split_rows(plain)
            .map_err(|r| r.error.to_string())?;
        let dev: BTreeSet<String> = exp.dev_ids().iter().map(|r| r.to_string()).collect();
        let train: BTreeSet<String> = exp.train_rows().iter().map(|r| r.id.to_string()).collect();
        // part: 0 train, 1 dev, 2 test
        let part_of: Vec<usize> = (0..spec.rows)
            .map(|i| {
                let id = format!("r{i:05}");
                if train.contains(&id) {
                    0
                } else if dev.contains(&id) {
                    1
                } else {
                    2
                }
            })
            .collect();
        let mut test_per_slice = vec![0; k];
        for i in 0..spec.rows {
            if part_of[i] == 2 {
                test_per_slice[slice_of[i]] += 1;
            }
        }
        let mut cluster_of = vec![None; spec.rows];
        if let Some(m) = spec.cluster_size {
            let mut next = 0usize;
            let mut open: BTreeMap<(usize, usize), (usize, usize)> = BTreeMap::new();
            for i in 0..spec.rows {
                let key = (part_of[i], slice_of[i]);
                let entry = open.entry(key).or_insert((usize::MAX, m));
                if entry.1 == m {
                    *entry = (next, 0);
                    next += 1;
                }
                entry.1 += 1;
                cluster_of[i] = Some(entry.0);
            }
        }
        let rows = (0..spec.rows)
            .map(|i| {
                let row = base_row(i, &spec.slices[slice_of[i]].0);
                match cluster_of[i] {
                    Some(c) => row.cluster(format!("c{c:04}")),
                    None => row,
                }
            })
            .collect();
        Ok(Design {
            n_test: test_per_slice.iter().sum(),
            spec,
            rows,
            slice_of,
            cluster_of,
            test_per_slice,
        })
    }

    /// The true aggregate effect over the test set's slice mix.
    pub fn true_effect(&self) -> f64 {
        let n = self.n_test as f64;
        self.spec
            .slices
            .iter()
            .zip(&self.test_per_slice)
            .map(|((_, c), &t)| c.delta * t as f64 / n)
            .sum()
    }

    /// Draws one experiment's truth: per row, (arm right, baseline right).
    pub fn draw<R: Rng>(&self, rng: &mut R) -> Vec<(bool, bool)> {
        let lambda = self.spec.icc.max(0.0).sqrt();
        let mut shared: BTreeMap<usize, (bool, bool)> = BTreeMap::new();
        (0..self.spec.rows)
            .map(|i| {
                let cell = &self.spec.slices[self.slice_of[i]].1;
                match self.cluster_of[i] {
                    Some(c) if lambda > 0.0 => {
                        let common = *shared.entry(c).or_insert_with(|| cell.draw(rng));
                        if rng.random::<f64>() < lambda {
                            common
                        } else {
                            cell.draw(rng)
                        }
                    }
                    _ => cell.draw(rng),
                }
            })
            .collect()
    }
}

/// A replay arm: answers `"right"` on the rows where its simulated score is 1.
pub struct Replay {
    id: &'static str,
    spec: &'static str,
    scores: Arc<Vec<bool>>,
}

#[async_trait]
impl Arm for Replay {
    fn id(&self) -> &str {
        self.id
    }
    fn spec(&self) -> String {
        self.spec.to_string()
    }
    async fn call(&self, input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let i = input["i"].as_u64().unwrap_or(u64::MAX) as usize;
        let right = self.scores.get(i).copied().unwrap_or(false);
        Ok(ArmOutput::text(if right { "right" } else { "wrong" }))
    }
}

/// What one simulated experiment concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The verdict's decision.
    pub decision: Decision,
    /// The candidate's aggregate test effect (from `data.json`'s `effect_sizes`).
    pub aggregate: Option<EffectSize>,
    /// Per slice.
    pub per_slice: BTreeMap<String, EffectSize>,
}

impl Outcome {
    /// Ship or ship narrowly.
    pub fn shipped(&self) -> bool {
        matches!(self.decision, Decision::Ship | Decision::ShipNarrowly)
    }
}

/// Runs one simulated experiment through the whole pipeline on an in-memory store.
pub async fn run_one(
    design: &Design,
    rule: ThresholdRule,
    truth: &[(bool, bool)],
) -> Result<Outcome, String> {
    let arm_scores: Arc<Vec<bool>> = Arc::new(truth.iter().map(|p| p.0).collect());
    let base_scores: Arc<Vec<bool>> = Arc::new(truth.iter().map(|p| p.1).collect());
    let arms: Vec<Box<dyn Arm>> = vec![
        Box::new(Replay {
            id: "base",
            spec: "replayed baseline scores",
            scores: base_scores,
        }),
        Box::new(Replay {
            id: "cand",
            spec: "replayed candidate scores",
            scores: arm_scores,
        }),
    ];
    let c = conclude(frame(&design.spec, rule)?, design.rows.clone(), arms).await?;
    let effects = c.report.effect_sizes.get("cand");
    Ok(Outcome {
        decision: c.verdict.decision,
        aggregate: effects.map(|e| e.aggregate),
        per_slice: effects.map(|e| e.per_slice.clone()).unwrap_or_default(),
    })
}

// The expected rates (normal theory) and the scenario grid: validity_scenarios.rs.
#[path = "validity_scenarios.rs"]
mod scenarios;
pub use scenarios::*;

/// A measured rate with its binomial standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Successes / trials.
    pub rate: f64,
    /// √(rate·(1 − rate)/trials).
    pub se: f64,
    /// Trials.
    pub trials: usize,
}

impl Rate {
    pub(crate) fn of(hits: usize, trials: usize) -> Rate {
        let rate = if trials == 0 {
            f64::NAN
        } else {
            hits as f64 / trials as f64
        };
        Rate {
            rate,
            se: (rate * (1.0 - rate) / trials.max(1) as f64).sqrt(),
            trials,
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The scenario.
    pub scenario: Scenario,
    /// Runs.
    pub runs: usize,
    /// The rate the scenario measures (for coverage: the aggregate coverage).
    pub rate: Rate,
    /// Slice coverage (coverage scenarios).
    pub slice_rate: Option<Rate>,
    /// Decisions: ship, ship-narrowly, inconclusive, kill.
    pub decisions: BTreeMap<&'static str, usize>,
    /// Runs whose pipeline failed (counted as not shipping / not covering).
    pub errors: usize,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Measured {
    /// The JSON key of the measured rate.
    pub fn key(&self) -> &'static str {
        match self.scenario.measure {
            Measure::FalseShip => "false_ship_rate",
            Measure::SubthresholdShip => "subthreshold_ship_rate",
            Measure::Power => "power",
            Measure::SliceProtection => "slice_protection_rate",
            Measure::Coverage => "coverage_aggregate",
        }
    }

    /// The one-line JSON record.
    pub fn json(&self) -> Value {
        let mut v = serde_json::json!({
            "scenario": self.scenario.name,
            "rule": if self.scenario.measure == Measure::Coverage { "any" } else { rule_name(self.scenario.rule) },
            "runs": self.runs,
            "true_effect": self.scenario.design.true_effect(),
            "threshold": self.scenario.design.spec.threshold_pp / 100.0,
            "n_test": self.scenario.design.n_test,
            "expected": self.scenario.expected,
            "decisions": self.decisions,
            "errors": self.errors,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
            "ms_per_experiment": (self.seconds * 1e6 / self.runs.max(1) as f64).round() / 1000.0,
            "note": self.scenario.note,
        });
        v[self.key()] = serde_json::json!(self.rate.rate);
        v[format!("{}_se", self.key())] = serde_json::json!(self.rate.se);
        if let Some(s) = self.slice_rate {
            v["coverage_slice"] = serde_json::json!(s.rate);
            v["coverage_slice_se"] = serde_json::json!(s.se);
            v["slice_intervals"] = serde_json::json!(s.trials);
        }
        v
    }
}

fn covers(e: &EffectSize, truth: f64) -> bool {
    e.ci_low <= truth && truth <= e.ci_high
}

/// The whole method on one simulated experiment, in memory: register → split → pilot →
/// score dev → gate (no iterations) → seal → the test pass. Shared by every scenario.
pub(crate) async fn conclude(
    frame: Frame,
    rows: Vec<Row>,
    arms: Vec<Box<dyn Arm>>,
) -> Result<Conclusion, String> {
    let opts = RunOptions {
        arm_concurrency: 64,
        judge_concurrency: 64,
        // The harness measures the rules' error rates at every design, underpowered ones
        // included (that is where "inconclusive" and false-kill rates live); the pre-test power
        // refusal (G20) guards a user's design, not the rules, so it is accepted here.
        accept_underpowered: Some(
            "validity harness: measures the verdict rules at powered and underpowered designs"
                .into(),
        ),
        ..RunOptions::default()
    };
    let lineup = Lineup::new(ExactMatch).arms(arms).options(opts);
    let run = async {
        let sealed = Experiment::new(frame)?
            .register(Store::in_memory())?
            .split_rows(rows)?
            .pilot(lineup)
            .await?
            .score_dev()
            .await?
            .gate_unchanged()?
            .seal()?;
        Ok::<_, itera_core::Error>(sealed.verdict(None).await?)
    };
    run.await.map_err(|e| e.to_string())
}

/// Runs `runs` simulated experiments on `threads` OS threads (each with a current-thread tokio
/// runtime): run r gets ChaCha8(seed, `stream`, word r), so the results, returned in run order,
/// do not depend on the thread count. Shared by [`measure`] and the extended scenarios.
pub(crate) fn run_parallel<T: Send>(
    runs: usize,
    threads: usize,
    seed: u64,
    stream: u64,
    one: impl Fn(&tokio::runtime::Runtime, &mut ChaCha8Rng) -> Result<T, String> + Sync,
) -> Vec<Result<T, String>> {
    let threads = threads.clamp(1, runs.max(1));
    let one = &one;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                s.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string());
                    let mut mine = Vec::new();
                    for r in (w..runs).step_by(threads) {
                        let outcome = match &rt {
                            Ok(rt) => {
                                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                                rng.set_stream(stream);
                                rng.set_word_pos(u128::from(r as u64) << 32);
                                one(rt, &mut rng)
                            }
                            Err(e) => Err(e.clone()),
                        };
                        mine.push((r, outcome));
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, Result<T, String>)> = handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![(usize::MAX, Err("worker panicked".to_string()))])
            })
            .collect();
        all.sort_by_key(|(r, _)| *r);
        all.into_iter().map(|(_, o)| o).collect()
    })
}

/// Runs `runs` simulated experiments of one scenario on `threads` OS threads (each with a
/// current-thread tokio runtime); run r draws its truth from ChaCha8(seed, stream = scenario
/// index · 2 + rule, word r), so results do not depend on the thread count.
pub fn measure(
    scenario: &Scenario,
    index: u64,
    runs: usize,
    seed: u64,
    threads: usize,
) -> Measured {
    let start = std::time::Instant::now();
    let threads = threads.clamp(1, runs.max(1));
    let stream = index * 2 + u64::from(scenario.rule == ThresholdRule::CiLower);
    let results = run_parallel(runs, threads, seed, stream, |rt, rng| {
        let truth = scenario.design.draw(rng);
        rt.block_on(run_one(&scenario.design, scenario.rule, &truth))
    });
    let mut hits = 0;
    let mut slice_hits = 0;
    let mut slice_trials = 0;
    let mut errors = 0;
    let mut first_error = None;
    let mut decisions: BTreeMap<&'static str, usize> = BTreeMap::new();
    let truth = scenario.design.true_effect();
    for o in &results {
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.clone());
                if scenario.measure == Measure::Coverage {
                    slice_trials += scenario.design.spec.slices.len();
                }
                continue;
            }
        };
        *decisions.entry(o.decision.as_str()).or_insert(0) += 1;
        let hit = match scenario.measure {
            Measure::FalseShip | Measure::SubthresholdShip | Measure::Power => o.shipped(),
            Measure::SliceProtection => {
                matches!(o.decision, Decision::ShipNarrowly | Decision::Kill)
            }
            Measure::Coverage => {
                for (name, cell) in &scenario.design.spec.slices {
                    slice_trials += 1;
                    if o.per_slice.get(name).is_some_and(|e| covers(e, cell.delta)) {
                        slice_hits += 1;
                    }
                }
                o.aggregate.as_ref().is_some_and(|e| covers(e, truth))
            }
        };
        hits += usize::from(hit);
    }
    Measured {
        scenario: scenario.clone(),
        runs,
        rate: Rate::of(hits, runs),
        slice_rate: (scenario.measure == Measure::Coverage)
            .then(|| Rate::of(slice_hits, slice_trials)),
        decisions,
        errors,
        first_error,
        seconds: start.elapsed().as_secs_f64(),
    }
}

//! The score cube of one part: `[arm version, row, trial]` in an ndarray, from which per-row means,
//! per-trial aggregates, paired differences and per-arm summaries are cut. There is deliberately
//! no accessor for the best trial (G25): views give means, SDs and per-row means only.

use crate::data::row::RowId;
use crate::frame::FailurePolicy;
use crate::journal::event::{CallOutcome, CallRecord};
pub use crate::journal::record::ArmKey;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

#[path = "cube_cell.rs"]
mod cell;
use cell::Cell;

/// Per-arm summary of a part: mean ± SD across trials, never a best trial (G25), with usage,
/// steady-state cost (G28) and latency (G24).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// Arm id.
    pub arm: String,
    /// Version.
    pub version: u32,
    /// Mean over rows of per-row mean scores.
    pub mean: f64,
    /// SD of the aggregate across trials (0 with one trial).
    pub sd_across_trials: f64,
    /// Rows that count (not excluded).
    pub rows: usize,
    /// Rows excluded under the `exclude` failure policy.
    pub rows_excluded: usize,
    /// Calls that failed after retries.
    pub failed_calls: usize,
    /// Total input tokens (known ones).
    pub input_tokens: u64,
    /// Total output tokens (known ones).
    pub output_tokens: u64,
    /// Total known cost in USD.
    pub cost_usd: f64,
    /// Mean cost per call × 1,000 at steady state (G28): over the warm calls when some calls were
    /// cold (wrote the prompt cache, read none of it), else over every priced call.
    pub cost_per_1k_rows_usd: Option<f64>,
    /// Cold calls (wrote the prompt cache and read none of it), shown apart from the
    /// steady-state cost (G28).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cold_calls: usize,
    /// The known cost of the cold calls, USD (included in `cost_usd`, not in the steady state).
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub cold_cost_usd: f64,
    /// Mean latency per call in ms: send → reply (network and queueing inside the endpoint
    /// included, itera's own queue excluded).
    pub latency_ms_mean: f64,
    /// Mean wait in itera's own queue (rate limits, adaptive slot) per call that measured it, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms_mean: Option<f64>,
    /// Mean processing time the endpoint reported, over the calls that reported one, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms_mean: Option<f64>,
}

/// Scores of one part.
#[derive(Debug, Clone)]
pub struct ScoreCube {
    arms: Vec<ArmKey>,
    rows: Vec<RowId>,
    slices: Vec<String>,
    clusters: Vec<Option<String>>,
    modes: Vec<String>,
    policy: FailurePolicy,
    cells: Array3<Cell>,
}

/// Per-row paired scores of an arm and the baseline, over rows both count.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    /// Row indices into [`ScoreCube::rows`].
    pub rows: Vec<usize>,
    /// The arm's per-row mean scores.
    pub arm: Vec<f64>,
    /// The baseline's per-row mean scores.
    pub baseline: Vec<f64>,
}

impl Paired {
    /// Per-row differences, arm minus baseline.
    pub fn diffs(&self) -> Vec<f64> {
        self.arm
            .iter()
            .zip(&self.baseline)
            .map(|(a, b)| a - b)
            .collect()
    }
}

impl ScoreCube {
    pub(crate) fn new(
        arms: Vec<ArmKey>,
        rows: Vec<(RowId, String, Option<String>)>,
        trials: usize,
        modes: Vec<String>,
        policy: FailurePolicy,
    ) -> ScoreCube {
        let cells = Array3::from_elem((arms.len(), rows.len(), trials), Cell::default());
        let (mut ids, mut slices, mut clusters) = (Vec::new(), Vec::new(), Vec::new());
        for (id, slice, cluster) in rows {
            ids.push(id);
            slices.push(slice);
            clusters.push(cluster);
        }
        ScoreCube {
            arms,
            rows: ids,
            slices,
            clusters,
            modes,
            policy,
            cells,
        }
    }

    /// A cube of the given arm versions over `rows`, filled from journaled calls of `part`.
    pub(crate) fn from_entries(
        frame: &crate::frame::Frame,
        rows: &[crate::data::row::Row],
        keys: Vec<ArmKey>,
        entries: &[crate::journal::event::Entry],
        part: crate::data::split::Part,
    ) -> ScoreCube {
        // An explicit revert is a later version with an earlier version's spec: both columns
        // hold the calls journaled for that spec.
        let mut index: std::collections::BTreeMap<(&str, &str), Vec<usize>> =
            std::collections::BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            index
                .entry((k.arm.as_str(), k.spec_hash.as_str()))
                .or_default()
                .push(i);
        }
        let rows_at: std::collections::BTreeMap<&RowId, usize> =
            rows.iter().enumerate().map(|(i, r)| (&r.id, i)).collect();
        let mut cube = ScoreCube::new(
            keys.clone(),
            rows.iter()
                .map(|r| (r.id.clone(), r.slice.clone(), r.cluster.clone()))
                .collect(),
            frame.trials as usize,
            frame.failure_modes.iter().map(|m| m.id.clone()).collect(),
            frame.failure_policy,
        );
        for e in entries {
            let crate::journal::event::Event::Call(rec) = &e.event else {
                continue;
            };
            if rec.part != part || rec.trial >= frame.trials {
                continue;
            }
            if let (Some(at), Some(&r)) = (
                index.get(&(rec.arm.as_str(), rec.spec_hash.as_str())),
                rows_at.get(&rec.row),
            ) {
                for &a in at {
                    cube.record(a, r, rec);
                }
            }
        }
        cube
    }

    /// Fills a cell from a journaled call.
    pub(crate) fn record(&mut self, arm: usize, row: usize, rec: &CallRecord) {
        let Some(cell) = self.cells.get_mut((arm, row, rec.trial as usize)) else {
            return;
        };
        let modes = &self.modes;
        *cell = match &rec.outcome {
            CallOutcome::Scored {
                score,
                failure_modes,
                usage,
                cost_usd,
                ..
            } => Cell::scored(
                *score,
                failure_modes
                    .iter()
                    .filter_map(|m| modes.iter().position(|k| k == m))
                    .fold(0u8, |acc, i| acc | (1 << i)),
                *cost_usd,
                usage.input_tokens,
                usage.output_tokens,
                rec.latency_ms,
                rec.queue_ms,
                rec.server_ms,
                usage.cache_write_tokens.unwrap_or(0) > 0
                    && usage.cache_read_tokens.unwrap_or(0) == 0,
            ),
            CallOutcome::Failed { .. } => Cell::failed_call(rec.latency_ms, rec.queue_ms),
        };
    }

    /// The arm versions, baseline first.
    pub fn arms(&self) -> &[ArmKey] {
        &self.arms
    }

    /// Index of an arm's latest version in this cube.
    pub fn arm_index(&self, arm: &str) -> Option<usize> {
        self.arms.iter().rposition(|k| k.arm == arm)
    }

    /// Row ids, in id order.
    pub fn rows(&self) -> &[RowId] {
        &self.rows
    }

    /// Each row's slice.
    pub fn slices(&self) -> &[String] {
        &self.slices
    }

    /// Each row's cluster.
    pub fn clusters(&self) -> &[Option<String>] {
        &self.clusters
    }

    /// Trials per row.
    pub fn trials(&self) -> usize {
        self.cells.shape()[2]
    }

    /// Whether every call is filled (scored or failed, G31).
    pub fn complete(&self) -> bool {
        self.cells.iter().all(|c| c.filled())
    }

    /// Number of cells not filled yet.
    pub fn missing(&self) -> usize {
        self.cells.iter().filter(|c| !c.filled()).count()
    }

    /// Whether a cell holds a call that need not be made again: filled, and not a failure. A
    /// failed call is re-attempted by a resume (its new outcome is journaled after it).
    pub(crate) fn is_settled(&self, arm: usize, row: usize, trial: usize) -> bool {
        self.cells
            .get((arm, row, trial))
            .is_some_and(|c| c.filled() && !c.failed())
    }

    /// The score that counts for a call: its score; 0 for a failed call under `score-zero`;
    /// `None` for a failed call under `exclude` or an unfilled cell.
    fn effective(&self, cell: &Cell) -> Option<f64> {
        if !cell.filled() {
            return None;
        }
        match (cell.score(), self.policy) {
            (Some(s), _) => Some(s),
            (None, FailurePolicy::ScoreZero) => Some(0.0),
            (None, FailurePolicy::Exclude) => None,
        }
    }

    /// Per-row mean over trials; `None` where a trial does not count.
    pub fn row_means(&self, arm: usize) -> Vec<Option<f64>> {
        let k = self.trials() as f64;
        (0..self.rows.len())
            .map(|r| {
                let mut sum = 0.0;
                for t in 0..self.trials() {
                    sum += self.effective(&self.cells[(arm, r, t)])?;
                }
                Some(sum / k)
            })
            .collect()
    }

    /// Rows × trials scores of the rows that count, row-major (for itera-stats' trial functions).
    pub(crate) fn row_trial_matrix(&self, arm: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.rows.len() * self.trials());
        for r in 0..self.rows.len() {
            let row: Option<Vec<f64>> = (0..self.trials())
                .map(|t| self.effective(&self.cells[(arm, r, t)]))
                .collect();
            if let Some(row) = row {
                out.extend(row);
            }
        }
        out
    }

    /// Paired per-row means of `arm` and `baseline` over the rows both count.
    pub fn paired(&self, arm: usize, baseline: usize) -> Paired {
        let (a, b) = (self.row_means(arm), self.row_means(baseline));
        let mut p = Paired {
            rows: Vec::new(),
            arm: Vec::new(),
            baseline: Vec::new(),
        };
        for (i, (x, y)) in a.into_iter().zip(b).enumerate() {
            if let (Some(x), Some(y)) = (x, y) {
                p.rows.push(i);
                p.arm.push(x);
                p.baseline.push(y);
            }
        }
        p
    }

    /// Whether a row's calls for an arm were tagged with failure mode `mode` in any trial.
    pub(crate) fn has_mode(&self, arm: usize, row: usize, mode: &str) -> bool {
        let Some(i) = self.modes.iter().position(|m| m == mode) else {
            return false;
        };
        (0..self.trials()).any(|t| self.cells[(arm, row, t)].modes & (1 << i) != 0)
    }

    /// Summary of one arm version.
    pub fn summary(&self, arm: usize) -> ArmSummary {
        let key = &self.arms[arm];
        let means = self.row_means(arm);
        let counted: Vec<f64> = means.iter().flatten().copied().collect();
        let mean = if counted.is_empty() {
            0.0
        } else {
            counted.iter().sum::<f64>() / counted.len() as f64
        };
        let per_trial = self.per_trial_aggregates(arm);
        let sd = sample_sd(&per_trial);
        let mut s = ArmSummary {
            arm: key.arm.clone(),
            version: key.version,
            mean,
            sd_across_trials: sd,
            rows: counted.len(),
            rows_excluded: means.len() - counted.len(),
            failed_calls: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            cost_per_1k_rows_usd: None,
            cold_calls: 0,
            cold_cost_usd: 0.0,
            latency_ms_mean: 0.0,
            queue_ms_mean: None,
            server_ms_mean: None,
        };
        let (mut calls, mut priced, mut latency) = (0usize, 0usize, 0.0);
        let (mut queued, mut served) = (Mean::default(), Mean::default());
        let (mut warm_priced, mut warm_cost) = (0usize, 0.0);
        for cell in self.cells.index_axis(ndarray::Axis(0), arm).iter() {
            if !cell.filled() {
                continue;
            }
            calls += 1;
            latency += cell.latency_ms;
            queued.add(cell.queue_ms());
            served.add(cell.server_ms());
            s.failed_calls += usize::from(cell.failed());
            s.input_tokens += cell.input_tokens().unwrap_or(0);
            s.output_tokens += cell.output_tokens().unwrap_or(0);
            s.cold_calls += usize::from(cell.cold());
            if let Some(c) = cell.cost_usd() {
                s.cost_usd += c;
                priced += 1;
                if cell.cold() {
                    s.cold_cost_usd += c;
                } else {
                    warm_cost += c;
                    warm_priced += 1;
                }
            }
        }
        if calls > 0 {
            s.latency_ms_mean = latency / calls as f64;
        }
        s.queue_ms_mean = queued.get();
        s.server_ms_mean = served.get();
        // Steady state (G28): the cold calls that paid for writing the cache are shown apart;
        // with no warm call at all (the cache never hit) every call is the steady state. Test:
        // anthropic_cache_tokens_are_priced_at_cache_rates_in_data_json.
        if warm_priced > 0 {
            s.cost_per_1k_rows_usd = Some(1000.0 * warm_cost / warm_priced as f64);
        } else if priced > 0 {
            s.cost_per_1k_rows_usd = Some(1000.0 * s.cost_usd / priced as f64);
        }
        s
    }

    /// The aggregate (mean over counted rows) of each trial index.
    pub(crate) fn per_trial_aggregates(&self, arm: usize) -> Vec<f64> {
        let k = self.trials();
        let m = self.row_trial_matrix(arm);
        let rows = m.len() / k.max(1);
        (0..k)
            .map(|t| {
                if rows == 0 {
                    0.0
                } else {
                    (0..rows).map(|r| m[r * k + t]).sum::<f64>() / rows as f64
                }
            })
            .collect()
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_zero_f(x: &f64) -> bool {
    *x == 0.0
}

fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// A mean over the values present.
#[derive(Default)]
struct Mean {
    sum: f64,
    n: usize,
}

impl Mean {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.n += 1;
        }
    }

    fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::Cell;

    /// Memory while scoring grows by one cell per call (issue #17: +110 MB at 1M calls with the
    /// 112-byte cell of `Option`s): a cell is at most 64 bytes, and every optional value still
    /// reads back as absent or as given, zero included.
    #[test]
    fn a_cell_is_packed_and_keeps_absent_apart_from_zero() {
        assert!(
            std::mem::size_of::<Cell>() <= 64,
            "{}",
            std::mem::size_of::<Cell>()
        );
        let full = Cell::scored(
            0.5,
            3,
            Some(0.0),
            Some(0),
            Some(7),
            12.5,
            Some(0.0),
            None,
            true,
        );
        assert!(full.filled() && !full.failed() && full.cold());
        assert_eq!(
            (
                full.score(),
                full.cost_usd(),
                full.queue_ms(),
                full.server_ms()
            ),
            (Some(0.5), Some(0.0), Some(0.0), None)
        );
        assert_eq!(
            (full.input_tokens(), full.output_tokens()),
            (Some(0), Some(7))
        );
        let failed = Cell::failed_call(3.0, None);
        assert!(failed.filled() && failed.failed() && !failed.cold());
        assert_eq!(
            (failed.score(), failed.cost_usd(), failed.queue_ms()),
            (None, None, None)
        );
        assert!(!Cell::default().filled());
    }
}

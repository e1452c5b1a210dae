//! `itera plan`: how many rows (and trials) a threshold needs, before or after a pilot.
//!
//! - From a baseline rate (binary scores, one trial): the paired-proportions sample size of
//!   Connor (1987) through [`itera_stats::power::paired_proportions_sample_size`]. The discordance
//!   ψ = P(the arms disagree on a row) is an assumption: by default the arms' errors are taken as
//!   independent, ψ = p₀(1 − p₁) + p₁(1 − p₀) with p₁ = p₀ + T (conservative for arms that share
//!   most of their answers); `--discordance` states another.
//! - From a scored experiment (`--pilot DIR`): the dev variance components per candidate —
//!   ω² (variance across rows of the per-row mean difference) and the within-row trial variances
//!   σ² — through [`itera_stats::power::paired_sample_size`] and [`itera_stats::power::paired_mde`]
//!   (Miller 2024, Eq. 9), with the trials K the experiment ran.
//!
//! Rows needed are test rows; the total is that divided by the test share (default 0.2).
//!
//! Unified with the pre-test power check (G20, #13 hole 12, #15 item 2): from a pilot, whether the
//! current test set is powered for T, the MDE, the test rows needed and the rows each major
//! slice needs at the loss floor come from [`itera_core::decide::power::plan`] — the same
//! paired, clustered computation (per-row variance of the trial-averaged difference × the dev
//! design effect) that refuses an underpowered verdict; the ω²/σ² split is shown beside it.
//! Before, the pilot plan was unclustered and per arm only.

use crate::error::CliError;
use itera_core::{CallOutcome, Event, Part};
use itera_stats::power::{
    PairedDesign, paired_mde, paired_proportions_sample_size, paired_sample_size,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Inputs of a plan from a baseline rate.
#[derive(Debug, Clone, Copy)]
pub struct RatePlan {
    /// Baseline success rate in (0, 1).
    pub baseline_rate: f64,
    /// Threshold in pp.
    pub threshold_pp: f64,
    /// P(discordant pair); default: independent errors.
    pub discordance: Option<f64>,
    /// α.
    pub alpha: f64,
    /// Power.
    pub power: f64,
    /// Test share of the split.
    pub test_share: f64,
}

/// The plan from a baseline rate, as JSON.
pub fn from_rate(p: &RatePlan) -> Result<Value, CliError> {
    let p0 = p.baseline_rate;
    let t = p.threshold_pp / 100.0;
    if !(p0 > 0.0 && p0 < 1.0) {
        return Err(CliError::bad(format!(
            "--baseline-rate {p0}: give the baseline's success rate as a fraction in (0, 1), e.g. 0.7"
        )));
    }
    if !(t > 0.0 && p0 + t <= 1.0) {
        return Err(CliError::bad(format!(
            "--threshold-pp {}: give a gain > 0 that keeps baseline + threshold <= 100%",
            p.threshold_pp
        )));
    }
    if !(p.test_share > 0.0 && p.test_share < 1.0) {
        return Err(CliError::bad("--test-share must lie in (0, 1)"));
    }
    let p1 = p0 + t;
    let (psi, assumption) = match p.discordance {
        Some(d) => (d, format!("stated discordance ψ = {d}")),
        None => (
            p0 * (1.0 - p1) + p1 * (1.0 - p0),
            "independent errors: ψ = p0(1 − p1) + p1(1 − p0); arms that share most answers disagree less and need fewer rows".to_string(),
        ),
    };
    if !(psi > t && psi <= 1.0) {
        return Err(CliError::bad(format!(
            "--discordance {psi}: must exceed the threshold ({t}) and be at most 1 — the arms must disagree on at least T of the rows"
        )));
    }
    let p10 = (psi + t) / 2.0;
    let p01 = (psi - t) / 2.0;
    let n = paired_proportions_sample_size(p10, p01, p.alpha, p.power)
        .map_err(|e| CliError::bad(e.to_string()))?;
    let test_rows = n.ceil() as u64;
    let total = (n / p.test_share).ceil() as u64;
    Ok(json!({
        "method": "paired proportions (Connor 1987), McNemar",
        "baseline_rate": p0,
        "threshold_pp": p.threshold_pp,
        "alpha": p.alpha,
        "power": p.power,
        "discordance": psi,
        "p10": p10,
        "p01": p01,
        "assumption": assumption,
        "test_rows": test_rows,
        "test_share": p.test_share,
        "total_rows": total,
        "trials": "1 for deterministic arms; >= 3 otherwise (more trials reduce within-row noise, not the rows needed for binary scores)",
    }))
}

/// The plan from a scored experiment's dev variance, as JSON.
pub async fn from_pilot(
    dir: &Path,
    threshold_pp: Option<f64>,
    test_share: f64,
) -> Result<Value, CliError> {
    let store = crate::pipeline::open_read_only(dir)?;
    let reg = store.registration()?.ok_or_else(|| {
        CliError::bad(format!(
            "{} is not registered yet: run it first",
            dir.display()
        ))
    })?;
    let frame = reg.frame;
    let entries = store.entries()?;
    let test_n = entries.iter().find_map(|e| match &e.event {
        Event::Split { test_n, .. } => Some(*test_n),
        _ => None,
    });
    // scores[arm][row] = trial scores (version 0, dev).
    let mut scores: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for e in &entries {
        if let Event::Call(rec) = &e.event
            && rec.part == Part::Dev
            && rec.version == 0
        {
            let s = match &rec.outcome {
                CallOutcome::Scored { score, .. } => *score,
                CallOutcome::Failed { .. } => 0.0,
            };
            scores
                .entry(rec.arm.clone())
                .or_default()
                .entry(rec.row.as_str().to_string())
                .or_default()
                .push(s);
        }
    }
    let base = &frame.baseline.id;
    let Some(base_rows) = scores.get(base) else {
        return Err(CliError::bad(format!(
            "{}: dev is not scored yet (no dev calls of the baseline '{base}' in the journal): run `itera run FILE --out {} --stop-after dev` first",
            dir.display(),
            dir.display()
        )));
    };
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let within = |rows: &BTreeMap<String, Vec<f64>>| -> f64 {
        let v: Vec<f64> = rows
            .values()
            .filter(|t| t.len() > 1)
            .map(|t| {
                let m = mean(t);
                t.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (t.len() - 1) as f64
            })
            .collect();
        if v.is_empty() { 0.0 } else { mean(&v) }
    };
    let k = frame.trials.max(1);
    let t = threshold_pp.unwrap_or_else(|| match frame.threshold.effect {
        itera_core::Effect::AbsolutePp(pp) => pp,
        itera_core::Effect::RelativePct(pct) => {
            let b: Vec<f64> = base_rows.values().map(|t| mean(t)).collect();
            mean(&b) * pct
        }
    }) / 100.0;
    let info = RowInfo::read(dir, &entries).await;
    let mut arms = Vec::new();
    for cand in frame.arms.iter().map(|a| &a.id) {
        let Some(rows) = scores.get(cand) else {
            continue;
        };
        let diffs: Vec<f64> = rows
            .iter()
            .filter_map(|(r, s)| base_rows.get(r).map(|b| mean(s) - mean(b)))
            .collect();
        if diffs.len() < 2 {
            continue;
        }
        let m = mean(&diffs);
        let omega = diffs.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (diffs.len() - 1) as f64;
        // ω² above already contains the within-row noise of K-trial means; remove it so the
        // design adds it back once (Miller 2024 §4).
        let (sa, sb) = (within(rows), within(base_rows));
        let omega_sq = (omega - sa / f64::from(k) - sb / f64::from(k)).max(0.0);
        let design = PairedDesign {
            omega_sq,
            sigma_a_sq: sa,
            sigma_b_sq: sb,
            trials_a: k,
            trials_b: k,
        };
        let n = paired_sample_size(t, &design, frame.alpha, frame.power)
            .map_err(|e| CliError::run(e.to_string()))?;
        let mde = test_n
            .filter(|n| *n > 0)
            .map(|n| paired_mde(n, &design, frame.alpha, frame.power))
            .transpose()
            .map_err(|e| CliError::run(e.to_string()))?;
        // The ONE planner (itera_core::decide::power::plan), the same the pre-test power check
        // enforces (G20): aggregate power for T and the rows each major slice needs at F.
        let unified = unified_plan(&frame, (cand, rows), base_rows, &info, t, test_n);
        let ua = unified.as_ref().and_then(|p| p.arms.first());
        arms.push(json!({
            "arm": cand,
            "dev_rows": diffs.len(),
            "dev_delta": m,
            "omega_sq": omega_sq,
            "sigma_arm_sq": sa,
            "sigma_baseline_sq": sb,
            "trials": k,
            "test_rows_needed": ua.and_then(|a| a.test_rows_needed).unwrap_or(n.ceil() as usize),
            "total_rows_needed": (n / test_share).ceil() as u64,
            "test_n": test_n,
            "mde_at_test_n_pp": ua.and_then(|a| a.mde).map(|x| x * 100.0).or(mde.map(|x| x * 100.0)),
            "powered": ua.map(|a| a.powered).or(mde.map(|x| x <= t)),
            "slices": ua.map(|a| a.slices.clone()).unwrap_or_default(),
            "slices_note": info.note,
        }));
    }
    Ok(json!({
        "method": "paired difference (Miller 2024, Eq. 9) from dev variance",
        "directory": dir.display().to_string(),
        "threshold_pp": t * 100.0,
        "alpha": frame.alpha,
        "power": frame.power,
        "arms": arms,
    }))
}

/// The plan as text.
pub fn text(v: &Value) -> String {
    let mut s = String::new();
    if let Some(arms) = v.get("arms").and_then(Value::as_array) {
        s.push_str(&format!(
            "{} — threshold {:.2}pp, α {}, power {}\n",
            v["method"].as_str().unwrap_or(""),
            v["threshold_pp"].as_f64().unwrap_or(0.0),
            v["alpha"],
            v["power"]
        ));
        for a in arms {
            s.push_str(&format!(
                "  {}: dev Δ {:+.2}pp over {} rows; ω² {:.4}, σ² {:.4}/{:.4}, K = {} → {} test rows ({} in all)",
                a["arm"].as_str().unwrap_or(""),
                a["dev_delta"].as_f64().unwrap_or(0.0) * 100.0,
                a["dev_rows"],
                a["omega_sq"].as_f64().unwrap_or(0.0),
                a["sigma_arm_sq"].as_f64().unwrap_or(0.0),
                a["sigma_baseline_sq"].as_f64().unwrap_or(0.0),
                a["trials"],
                a["test_rows_needed"],
                a["total_rows_needed"],
            ));
            if let Some(m) = a["mde_at_test_n_pp"].as_f64() {
                s.push_str(&format!(
                    "; the current {} test rows detect {:.2}pp ({})",
                    a["test_n"],
                    m,
                    if a["powered"].as_bool() == Some(true) {
                        "powered"
                    } else {
                        "underpowered"
                    }
                ));
            }
            s.push('\n');
            for sl in a["slices"].as_array().into_iter().flatten() {
                s.push_str(&format!(
                    "    slice {}: {} test rows, needs ≈ {} to show CI low ≥ F at a gain of T ({}{})\n",
                    sl["slice"].as_str().unwrap_or(""),
                    sl["test_rows"],
                    sl["rows_needed"],
                    if sl["powered"].as_bool() == Some(true) { "powered" } else { "underpowered" },
                    if sl["pooled"].as_bool() == Some(true) {
                        "; < 2 dev rows: the arm's pooled dev variance"
                    } else {
                        ""
                    }
                ));
            }
            if let Some(n) = a["slices_note"].as_str() {
                s.push_str(&format!("    {n}\n"));
            }
        }
    } else {
        s.push_str(&format!(
            "{}\n  baseline {} → +{}pp at α {} and power {}: {} test rows, {} rows in all at a {} test share\n  discordance ψ = {:.4} ({})\n  trials: {}\n",
            v["method"].as_str().unwrap_or(""),
            v["baseline_rate"],
            v["threshold_pp"],
            v["alpha"],
            v["power"],
            v["test_rows"],
            v["total_rows"],
            v["test_share"],
            v["discordance"].as_f64().unwrap_or(0.0),
            v["assumption"].as_str().unwrap_or(""),
            v["trials"].as_str().unwrap_or(""),
        ));
    }
    s
}

/// What the plan needs about the dev rows beyond the journal: each row's slice and cluster (from
/// the experiment's data file) and the split's test rows per slice (journaled).
struct RowInfo {
    /// Row id → (slice, cluster).
    rows: BTreeMap<String, (String, Option<String>)>,
    /// Slice → test rows.
    test_slices: BTreeMap<String, usize>,
    /// Why slices are missing, when they are.
    note: Option<String>,
}

impl RowInfo {
    async fn read(dir: &Path, entries: &[itera_core::Entry]) -> RowInfo {
        let test_slices = entries
            .iter()
            .find_map(|e| match &e.event {
                Event::Split { audit, .. } => Some(
                    audit
                        .slices
                        .iter()
                        .map(|s| (s.slice.clone(), s.test))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default();
        let file = crate::pipeline::read_meta(dir)
            .ok()
            .map(|m| m.source)
            .filter(|p| p.is_file())
            .unwrap_or_else(|| dir.join(crate::pipeline::COPY_FILE));
        let ds = crate::config::Loaded::read(&file).ok().and_then(|l| {
            let path = l.resolve(&l.file.data.path);
            itera_core::data::load::load_path(&path, l.columns()).ok()
        });
        let rows = match ds {
            Some(ds) => ds.rows().await.ok(),
            None => None,
        };
        match rows {
            Some(rows) => RowInfo {
                rows: rows
                    .into_iter()
                    .map(|r| {
                        (
                            r.id.as_str().to_string(),
                            (r.slice.clone(), r.cluster.clone()),
                        )
                    })
                    .collect(),
                test_slices,
                note: None,
            },
            None => RowInfo {
                rows: BTreeMap::new(),
                test_slices,
                note: Some(format!(
                    "per-slice rows not planned: the data file of {} could not be read",
                    file.display()
                )),
            },
        }
    }
}

/// The unified plan for one candidate: its dev per-row differences (trial means), pooled and
/// per major slice, clustered by the dev design effect when every row declares a cluster.
fn unified_plan(
    frame: &itera_core::Frame,
    (arm, cand): (&str, &BTreeMap<String, Vec<f64>>),
    base: &BTreeMap<String, Vec<f64>>,
    info: &RowInfo,
    t: f64,
    test_n: Option<usize>,
) -> Option<itera_core::decide::power::PowerPlan> {
    use itera_core::decide::power::{ArmVariance, PlanRules, SliceVariance, plan};
    let n_test = test_n?;
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let var = |d: &[f64]| {
        (d.len() >= 2).then(|| {
            let m = mean(d);
            d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64
        })
    };
    let paired: Vec<(&str, f64)> = cand
        .iter()
        .filter_map(|(r, s)| base.get(r).map(|b| (r.as_str(), mean(s) - mean(b))))
        .collect();
    let d: Vec<f64> = paired.iter().map(|p| p.1).collect();
    let clusters: Vec<&str> = paired
        .iter()
        .filter_map(|(r, _)| info.rows.get(*r).and_then(|x| x.1.as_deref()))
        .collect();
    let deff = if clusters.len() == d.len() && d.len() >= 2 {
        itera_stats::power::design_effect_from_dev(&d, &clusters)
            .unwrap_or(1.0)
            .max(1.0)
    } else {
        1.0
    };
    let majors: Vec<String> = if !frame.major_slices.is_empty() {
        frame.major_slices.clone()
    } else if info.rows.is_empty() {
        Vec::new()
    } else {
        let all: std::collections::BTreeSet<&String> = info.rows.values().map(|x| &x.0).collect();
        all.into_iter().cloned().collect()
    };
    let slices = majors
        .iter()
        .map(|s| {
            let on: Vec<f64> = paired
                .iter()
                .filter(|(r, _)| info.rows.get(*r).is_some_and(|x| &x.0 == s))
                .map(|p| p.1)
                .collect();
            SliceVariance {
                slice: s.clone(),
                dev_rows: on.len(),
                // Zero dev variance on a slice gives nothing to plan with: pooled, stated
                // (as in the pre-test check, itera-core experiment/evidence.rs).
                row_variance: var(&on).filter(|v| *v > 0.0).map(|v| v * deff),
                test_rows: info.test_slices.get(s).copied().unwrap_or(0),
            }
        })
        .collect();
    let rules = PlanRules {
        threshold: t,
        floor: frame.threshold.slice_loss_floor_pp / 100.0,
        alpha: frame.alpha,
        power: frame.power,
    };
    Some(plan(
        rules,
        n_test,
        &[ArmVariance {
            arm: arm.to_string(),
            row_variance: var(&d).map(|v| v * deff),
            slices,
        }],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connor_reference_value() {
        // p10 = .10, p01 = .05 ⇒ ψ = .15, δ = .05: n = 468.6 (RUST-NOTES reference).
        let v = from_rate(&RatePlan {
            baseline_rate: 0.7,
            threshold_pp: 5.0,
            discordance: Some(0.15),
            alpha: 0.05,
            power: 0.8,
            test_share: 0.2,
        })
        .expect("plan");
        assert_eq!(v["test_rows"], 469);
        assert_eq!(v["total_rows"], 2343);
    }
}

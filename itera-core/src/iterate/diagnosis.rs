//! Diagnosis of a scored part (G32): per-row paired differences of each arm's current version
//! against the baseline (per-row means over trials), wins / losses / ties by slice, failure mode
//! and cluster, and the automatic flags — mixed regime, shared failures, small uniform win, wins
//! concentrated on seen rows. Shows ids, scores and diffs; never a dev row's raw input (G17).

use crate::data::row::{Row, RowId};
use crate::run::cube::ScoreCube;
use crate::run::effect::{PairedEffect, paired_effect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Wins, losses and ties of an arm against the baseline in one group of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupTally {
    /// The group (a slice, failure mode or cluster).
    pub group: String,
    /// Rows where the arm's per-row mean beats the baseline's.
    pub wins: usize,
    /// Rows where it is worse.
    pub losses: usize,
    /// Rows where they are equal.
    pub ties: usize,
    /// Mean difference with its interval, when defined (≥ 2 rows).
    pub effect: Option<PairedEffect>,
}

/// One row's paired scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowDiff {
    /// The row.
    pub id: RowId,
    /// Its slice.
    pub slice: String,
    /// Baseline per-row mean.
    pub baseline: f64,
    /// Arm per-row mean.
    pub arm: f64,
    /// Arm minus baseline.
    pub diff: f64,
    /// Revealed (in the seen set, G17).
    pub seen: bool,
}

/// The diagnosis of one arm version against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmDiagnosis {
    /// Arm id.
    pub arm: String,
    /// The version diagnosed (the current one).
    pub version: u32,
    /// Effect over every row both count.
    pub overall: Option<PairedEffect>,
    /// Per slice.
    pub by_slice: Vec<GroupTally>,
    /// Per failure-mode tag of the rows.
    pub by_failure_mode: Vec<GroupTally>,
    /// Per cluster (empty when no clusters are declared).
    pub by_cluster: Vec<GroupTally>,
    /// Every row's paired scores, in id order.
    pub rows: Vec<RowDiff>,
}

/// An automatic pattern flag (G32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "kebab-case")]
pub enum Flag {
    /// Significant wins in some slices and significant losses in others.
    MixedRegime {
        /// The arm.
        arm: String,
        /// Slices whose CI lies above 0.
        winning: Vec<String>,
        /// Slices whose CI lies below 0.
        losing: Vec<String>,
    },
    /// Rows every arm (and the baseline) fails: hard rows or label noise.
    SharedFailures {
        /// How many.
        count: usize,
        /// Up to 20 of their ids.
        rows: Vec<RowId>,
    },
    /// A positive effect below 2× the noise floor: likely noise (G27).
    SmallUniformWin {
        /// The arm.
        arm: String,
        /// Mean difference.
        effect: f64,
        /// The noise SD σ.
        noise_sd: f64,
    },
    /// The arm's wins fall disproportionately on revealed rows: overfitting to what was seen.
    WinsOnSeenRows {
        /// The arm.
        arm: String,
        /// Mean difference on seen rows.
        seen_gain: f64,
        /// Mean difference on unseen rows.
        unseen_gain: f64,
        /// Seen rows.
        seen_rows: usize,
    },
}

/// The diagnosis of a scored part: per arm, and the flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Per arm (current versions), in registration order.
    pub arms: Vec<ArmDiagnosis>,
    /// The flags raised.
    pub flags: Vec<Flag>,
}

/// What a diagnosis needs besides the cube.
pub(crate) struct DiagnosisInput<'a> {
    pub cube: &'a ScoreCube,
    /// Rows of the part, in cube order (for failure-mode tags).
    pub rows: &'a [Row],
    /// Cube index of each arm's current version (baseline excluded).
    pub current: Vec<usize>,
    /// σ per cube arm index.
    pub noise_sd: Vec<f64>,
    pub seen: &'a BTreeSet<RowId>,
    pub level: f64,
}

fn tally(
    cube: &ScoreCube,
    arm: usize,
    groups: &BTreeMap<String, Vec<usize>>,
    level: f64,
) -> Vec<GroupTally> {
    let means_a = cube.row_means(arm);
    let means_b = cube.row_means(0);
    groups
        .iter()
        .map(|(group, members)| {
            let (mut wins, mut losses, mut ties) = (0, 0, 0);
            for &r in members {
                if let (Some(a), Some(b)) = (means_a[r], means_b[r]) {
                    let d = a - b;
                    if d > 1e-12 {
                        wins += 1;
                    } else if d < -1e-12 {
                        losses += 1;
                    } else {
                        ties += 1;
                    }
                }
            }
            let set: BTreeSet<usize> = members.iter().copied().collect();
            GroupTally {
                group: group.clone(),
                wins,
                losses,
                ties,
                effect: paired_effect(cube, arm, 0, &|r| set.contains(&r), level),
            }
        })
        .collect()
}

pub(crate) fn diagnose(input: &DiagnosisInput<'_>) -> Diagnosis {
    let cube = input.cube;
    let mut by_slice: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_mode: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_cluster: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, row) in input.rows.iter().enumerate() {
        by_slice.entry(row.slice.clone()).or_default().push(i);
        for m in &row.failure_modes {
            by_mode.entry(m.clone()).or_default().push(i);
        }
        if let Some(c) = &row.cluster {
            by_cluster.entry(c.clone()).or_default().push(i);
        }
    }
    let base = cube.row_means(0);
    let mut flags = Vec::new();
    let mut arms = Vec::new();
    for &a in &input.current {
        let key = &cube.arms()[a];
        let means = cube.row_means(a);
        let rows: Vec<RowDiff> = input
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| {
                let (x, y) = (means[i]?, base[i]?);
                Some(RowDiff {
                    id: row.id.clone(),
                    slice: row.slice.clone(),
                    baseline: y,
                    arm: x,
                    diff: x - y,
                    seen: input.seen.contains(&row.id),
                })
            })
            .collect();
        let d = ArmDiagnosis {
            arm: key.arm.clone(),
            version: key.version,
            overall: paired_effect(cube, a, 0, &|_| true, input.level),
            by_slice: tally(cube, a, &by_slice, input.level),
            by_failure_mode: tally(cube, a, &by_mode, input.level),
            by_cluster: tally(cube, a, &by_cluster, input.level),
            rows,
        };
        flags.extend(arm_flags(&d, input.noise_sd.get(a).copied().unwrap_or(0.0)));
        arms.push(d);
    }
    // Shared failures: every version in play (baseline and current arms) scores 0 on the row.
    let in_play: Vec<Vec<Option<f64>>> = std::iter::once(0)
        .chain(input.current.iter().copied())
        .map(|a| cube.row_means(a))
        .collect();
    let mut shared: Vec<RowId> = Vec::new();
    for (i, row) in input.rows.iter().enumerate() {
        let all_fail = in_play.iter().all(|m| m[i] == Some(0.0));
        if all_fail {
            shared.push(row.id.clone());
        }
    }
    if !shared.is_empty() {
        flags.push(Flag::SharedFailures {
            count: shared.len(),
            rows: shared.into_iter().take(20).collect(),
        });
    }
    Diagnosis { arms, flags }
}

fn arm_flags(d: &ArmDiagnosis, noise_sd: f64) -> Vec<Flag> {
    let mut flags = Vec::new();
    let significant = |t: &GroupTally, above: bool| {
        t.effect.as_ref().is_some_and(|e| {
            if above {
                e.estimate.ci.lower > 0.0
            } else {
                e.estimate.ci.upper < 0.0
            }
        })
    };
    let winning: Vec<String> = d
        .by_slice
        .iter()
        .filter(|t| significant(t, true))
        .map(|t| t.group.clone())
        .collect();
    let losing: Vec<String> = d
        .by_slice
        .iter()
        .filter(|t| significant(t, false))
        .map(|t| t.group.clone())
        .collect();
    if !winning.is_empty() && !losing.is_empty() {
        flags.push(Flag::MixedRegime {
            arm: d.arm.clone(),
            winning,
            losing,
        });
    }
    if let Some(e) = &d.overall {
        let effect = e.estimate.point;
        if effect > 0.0 && effect < 2.0 * noise_sd {
            flags.push(Flag::SmallUniformWin {
                arm: d.arm.clone(),
                effect,
                noise_sd,
            });
        }
    }
    let seen: Vec<f64> = d.rows.iter().filter(|r| r.seen).map(|r| r.diff).collect();
    let unseen: Vec<f64> = d.rows.iter().filter(|r| !r.seen).map(|r| r.diff).collect();
    if !seen.is_empty() && !unseen.is_empty() {
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let (sg, ug) = (mean(&seen), mean(&unseen));
        let seen_wins = seen.iter().filter(|d| **d > 0.0).count();
        let all_wins = seen_wins + unseen.iter().filter(|d| **d > 0.0).count();
        let seen_share = seen.len() as f64 / (seen.len() + unseen.len()) as f64;
        if sg > 0.0
            && sg > 2.0 * ug.max(0.0)
            && seen_wins >= 2
            && (seen_wins as f64) > 2.0 * seen_share * all_wins as f64
        {
            flags.push(Flag::WinsOnSeenRows {
                arm: d.arm.clone(),
                seen_gain: sg,
                unseen_gain: ug,
                seen_rows: seen.len(),
            });
        }
    }
    flags
}

/// Formats a fraction as signed percentage points: `+8.9pp`, `−3.3pp` (a real minus sign).
///
/// ```
/// assert_eq!(itera_core::iterate::diagnosis::pp(-0.0333), "−3.3pp");
/// assert_eq!(itera_core::iterate::diagnosis::pp(0.089), "+8.9pp");
/// assert_eq!(itera_core::iterate::diagnosis::pp(0.0), "0.0pp");
/// ```
pub fn pp(fraction: f64) -> String {
    let v = fraction * 100.0;
    let r = (v * 10.0).round() / 10.0;
    if r > 0.0 {
        format!("+{r:.1}pp")
    } else if r < 0.0 {
        format!("−{:.1}pp", -r)
    } else {
        "0.0pp".to_string()
    }
}

fn effect_text(e: &Option<PairedEffect>) -> String {
    match e {
        Some(e) => format!(
            "{} [{}, {}]",
            pp(e.estimate.point),
            pp(e.estimate.ci.lower),
            pp(e.estimate.ci.upper)
        ),
        None => "n/a".to_string(),
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.arms {
            writeln!(
                f,
                "{} v{} vs baseline: {} over {} rows",
                d.arm,
                d.version,
                effect_text(&d.overall),
                d.rows.len()
            )?;
            for (title, groups) in [
                ("slice", &d.by_slice),
                ("failure mode", &d.by_failure_mode),
                ("cluster", &d.by_cluster),
            ] {
                if groups.is_empty() || (title == "cluster" && groups.len() > 30) {
                    continue;
                }
                for t in groups.iter() {
                    writeln!(
                        f,
                        "  {title} {:<20} wins {:>4}  losses {:>4}  ties {:>4}  {}",
                        t.group,
                        t.wins,
                        t.losses,
                        t.ties,
                        effect_text(&t.effect)
                    )?;
                }
            }
        }
        if self.flags.is_empty() {
            writeln!(f, "flags: none")?;
        }
        for flag in &self.flags {
            match flag {
                Flag::MixedRegime {
                    arm,
                    winning,
                    losing,
                } => writeln!(
                    f,
                    "flag mixed-regime: {arm} wins on [{}] and loses on [{}]",
                    winning.join(", "),
                    losing.join(", ")
                )?,
                Flag::SharedFailures { count, rows } => writeln!(
                    f,
                    "flag shared-failures: {count} row(s) every arm fails (hard rows or label noise): {}",
                    rows.iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?,
                Flag::SmallUniformWin {
                    arm,
                    effect,
                    noise_sd,
                } => writeln!(
                    f,
                    "flag small-uniform-win: {arm} gains {} but 2σ = {} (likely noise)",
                    pp(*effect),
                    pp(2.0 * noise_sd)
                )?,
                Flag::WinsOnSeenRows {
                    arm,
                    seen_gain,
                    unseen_gain,
                    seen_rows,
                } => writeln!(
                    f,
                    "flag wins-on-seen-rows: {arm} gains {} on {seen_rows} revealed rows but {} on the rest (overfit?)",
                    pp(*seen_gain),
                    pp(*unseen_gain)
                )?,
            }
        }
        Ok(())
    }
}

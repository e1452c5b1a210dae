//! `forest-plot`: for every candidate arm that ran on test, one row with its aggregate effect
//! (`effect_sizes[arm].aggregate`) and, indented under it, one row per slice
//! (`effect_sizes[arm].per_slice`, in `slices` order, named by `slices[].name`): Δ vs the baseline
//! in pp with its CI. A vertical line marks 0, dashed lines the registered threshold
//! (`experiment.threshold_pp`) and the slice loss floor (`experiment.slice_loss_floor_pp`). A slice
//! whose CI lower bound is below the floor (R3: at the floor passes) is drawn in red with a bold red
//! label, and its marker says which of R3's states it is in: a cross when the slice is *harmed*
//! (its CI upper bound is below 0: "regressed"), an open ring when it is *unknown* (not shown safe,
//! not shown harmed: too few rows to tell). Safe slices use the arm's colour and a dot.
//!
//! Each row is labelled in two columns, the name (`SMB`) and the effect (`−3.3pp [−8.8, +2.2]`).
//! The x range always contains every interval, 0, T and F, with a margin; the height grows with
//! the number of rows (34 px each). Arms killed by the gate never ran on test: they are named in
//! a footnote. Minor slices (not checked by R3) carry a dagger.

use crate::style::{
    Bbox, Canvas, LEGEND_ROW, Scale, Swatch, Txt, arm_color, arm_label, decimals_for, finite,
    legend, nice_ticks, palette, pp, pp_ci, signed_tick,
};
use crate::{Chart, ChartError};
use itera_core::decide::slices::{SliceState, slice_state};
use itera_core::report::{EffectSize, ReportData};
use plotters::prelude::{DrawingBackend, RGBColor};

const W: u32 = 1500;
const ROW_H: i32 = 34;
const GROUP_GAP: i32 = 16;
// Room for three legend rows (the marks wrap on a 1500-px canvas) and the T and F tags.
const PLOT_TOP: i32 = 256;
const FOOT_H: i32 = 28;

#[derive(Debug, Clone)]
struct Row {
    name: String,
    effect: EffectSize,
    color: RGBColor,
    aggregate: bool,
    failing: bool,
    /// Harmed (cross) rather than unknown (ring), when failing.
    harmed: bool,
}

/// The validated forest plot.
#[derive(Debug, Clone)]
pub(crate) struct Forest {
    title: String,
    subtitle: Vec<String>,
    groups: Vec<Vec<Row>>,
    threshold: f64,
    floor: f64,
    ci_text: String,
    footnotes: Vec<String>,
}

fn check(field: impl Fn() -> String, e: &EffectSize) -> Result<(), ChartError> {
    finite(|| format!("{}.delta", field()), e.delta)?;
    finite(|| format!("{}.ci_low", field()), e.ci_low)?;
    finite(|| format!("{}.ci_high", field()), e.ci_high)?;
    if e.ci_low > e.ci_high {
        return Err(ChartError::Invalid {
            field: field(),
            reason: format!(
                "CI lower bound {} above upper bound {}",
                e.ci_low, e.ci_high
            ),
        });
    }
    Ok(())
}

impl Forest {
    /// Checks the data and collects the rows.
    pub(crate) fn prepare(data: &ReportData) -> Result<Self, ChartError> {
        let e = &data.experiment;
        let baseline = data
            .baseline()
            .ok_or_else(|| ChartError::MissingData("no arm is marked as the baseline".into()))?;
        let threshold = finite(|| "experiment.threshold_pp".into(), e.threshold_pp)? / 100.0;
        let floor = finite(
            || "experiment.slice_loss_floor_pp".into(),
            e.slice_loss_floor_pp,
        )? / 100.0;
        let mut groups = Vec::new();
        let mut killed = Vec::new();
        let mut any_minor = false;
        for a in data.arms.iter().filter(|a| !a.baseline) {
            let Some(fx) = data.effect_sizes.get(&a.id) else {
                if a.killed {
                    killed.push(a.id.clone());
                    continue;
                }
                return Err(ChartError::MissingData(format!(
                    "effect_sizes has no entry for candidate arm {:?}",
                    a.id
                )));
            };
            let color = arm_color(data, &a.id);
            check(
                || format!("effect_sizes[{:?}].aggregate", a.id),
                &fx.aggregate,
            )?;
            let mut rows = vec![Row {
                name: format!("{} (all rows)", arm_label(a)),
                effect: fx.aggregate,
                color,
                aggregate: true,
                failing: false,
                harmed: false,
            }];
            // Slices in registration order, then any the model does not list (by id).
            let mut ids: Vec<(&str, String, bool)> = data
                .slices
                .iter()
                .filter(|s| fx.per_slice.contains_key(&s.id))
                .map(|s| (s.id.as_str(), s.name.clone(), s.major))
                .collect();
            for id in fx.per_slice.keys() {
                if !data.slices.iter().any(|s| &s.id == id) {
                    ids.push((id.as_str(), id.clone(), true));
                }
            }
            for (id, name, major) in ids {
                let eff = fx.per_slice[id];
                check(
                    || format!("effect_sizes[{:?}].per_slice[{id:?}]", a.id),
                    &eff,
                )?;
                any_minor |= !major;
                rows.push(Row {
                    name: if major { name } else { format!("{name}†") },
                    effect: eff,
                    color,
                    aggregate: false,
                    failing: eff.ci_low < floor,
                    harmed: slice_state(Some(&eff), floor) == SliceState::Harmed,
                });
            }
            groups.push(rows);
        }
        if groups.is_empty() {
            return Err(ChartError::MissingData(
                "no candidate arm has effect sizes".into(),
            ));
        }
        let level = finite(|| "experiment.ci_level".into(), e.ci_level)?;
        let level_txt = format!("{}%", (level * 1000.0).round() / 10.0);
        let mut footnotes = Vec::new();
        if any_minor {
            footnotes
                .push("† minor slice: shown, but not checked by the slice rule (R3)".to_string());
        }
        if let Some(agg) = e.aggregate_ci_level {
            footnotes.push(format!(
                "Overall rows: {}% CIs, the Bonferroni level over the arms that the decision used; slices: {level_txt}",
                (agg * 1000.0).round() / 10.0
            ));
        }
        if !killed.is_empty() {
            footnotes.push(format!(
                "Killed by the gate, never run on test: {}",
                killed.join(", ")
            ));
        }
        Ok(Forest {
            title: format!(
                "Effect vs baseline on test — Δ with {level_txt} CI, overall and per slice"
            ),
            subtitle: vec![format!(
                "{} · baseline: {} · metric: {} · {} test rows · CI: {}",
                e.name,
                arm_label(baseline),
                e.metric,
                e.test_n,
                e.ci_method
            )],
            groups,
            threshold,
            floor,
            ci_text: format!(
                "Δ vs baseline on test (pp), {level_txt} CI ({})",
                e.ci_method
            ),
            footnotes,
        })
    }

    fn rows_height(&self) -> i32 {
        let n: i32 = self.groups.iter().map(|g| g.len() as i32).sum();
        n * ROW_H + (self.groups.len() as i32 - 1).max(0) * GROUP_GAP + 12
    }

    fn plot_bottom(&self) -> i32 {
        PLOT_TOP + self.rows_height()
    }
}

/// The two legends: the marks, then the reference lines at `threshold` and `floor`.
#[allow(clippy::type_complexity)]
fn legend_items(threshold: f64, floor: f64) -> (Vec<(Swatch, String)>, Vec<(Swatch, String)>) {
    {
        let marks = vec![
            (
                Swatch::Diamond(palette::CANDIDATES[0]),
                "arm, all test rows".to_string(),
            ),
            (
                Swatch::Dot(palette::CANDIDATES[0]),
                "slice (in the arm's colour)".to_string(),
            ),
            (
                Swatch::Cross(palette::RED),
                "slice harmed: CI entirely below 0".to_string(),
            ),
            (
                Swatch::Ring(palette::RED),
                "slice not shown safe: CI low below the floor, CI reaches 0".to_string(),
            ),
        ];
        let lines = vec![
            (
                Swatch::Dashed(palette::INK),
                format!("threshold T = {}", pp(threshold)),
            ),
            (
                Swatch::Dashed(palette::RED),
                format!("slice loss floor F = {}", pp(floor)),
            ),
            (Swatch::Line(palette::INK), "no effect (0)".to_string()),
        ];
        (marks, lines)
    }
}

/// The row of the second legend: one row below the first legend's last row, however many rows
/// the first took (`y`, the header's bottom, is where the first began).
fn second_legend_y(y: i32, first_last_row: i32) -> i32 {
    first_last_row.max(y + 6) + LEGEND_ROW
}

impl Chart for Forest {
    fn size(&self) -> (u32, u32) {
        let h = self.plot_bottom() + 90 + FOOT_H * self.footnotes.len() as i32 + 10;
        (W, h.max(600) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, cv: &Canvas<DB>) -> Result<(), ChartError> {
        let w = W as i32;
        let y = cv.header(&self.title, &self.subtitle, w)?;
        let (first, second) = legend_items(self.threshold, self.floor);
        let last = legend(cv, &first, 40, y + 6, w - 40)?;
        legend(cv, &second, 40, second_legend_y(y, last), w - 40)?;

        // Label columns: names (slices indented), then effects right-aligned.
        let name_t = |agg: bool| {
            if agg {
                Txt::new(21.0).bold()
            } else {
                Txt::new(20.0)
            }
        };
        let indent = 30;
        let mut name_w = 0;
        let mut num_w = 0;
        for r in self.groups.iter().flatten() {
            let nt = name_t(r.aggregate || r.failing);
            name_w = name_w.max(cv.measure(&r.name, nt)?.0 + if r.aggregate { 24 } else { indent });
            let e = r.effect;
            num_w = num_w.max(cv.measure(&pp_ci(e.delta, e.ci_low, e.ci_high), nt)?.0);
        }
        let max_name = (w * 44 / 100 - num_w - 24).max(120);
        let name_w = name_w.min(max_name);
        let num_right = 40 + name_w + 24 + num_w;
        let (left, right) = (num_right + 36, w - 50);
        let (top, bottom) = (PLOT_TOP, self.plot_bottom());

        // X range: every interval, 0, T and F, plus a margin.
        let all = self
            .groups
            .iter()
            .flatten()
            .flat_map(|r| [r.effect.ci_low, r.effect.ci_high]);
        let (mut lo, mut hi) = (
            0.0f64.min(self.threshold).min(self.floor),
            0.0f64.max(self.threshold).max(self.floor),
        );
        for v in all {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let pad = (hi - lo).max(0.01) * 0.06;
        let xs = Scale {
            lo: lo - pad,
            hi: hi + pad,
            p0: left,
            p1: right,
        };

        // Row positions.
        let mut ys = Vec::new();
        let mut yy = top + 6 + ROW_H / 2;
        for (g, rows) in self.groups.iter().enumerate() {
            if g > 0 {
                yy += GROUP_GAP;
            }
            let mut v = Vec::new();
            for _ in rows {
                v.push(yy);
                yy += ROW_H;
            }
            ys.push(v);
        }

        // Aggregate rows shaded; groups separated.
        for (g, rows) in self.groups.iter().enumerate() {
            let y0 = ys[g][0];
            cv.rect(
                Bbox {
                    x0: 30,
                    y0: y0 - ROW_H / 2,
                    x1: right,
                    y1: y0 + ROW_H / 2,
                },
                palette::SHADE,
                true,
                1,
            )?;
            if g > 0 && !rows.is_empty() {
                let sep = y0 - ROW_H / 2 - GROUP_GAP / 2;
                cv.line(&[(30, sep), (right, sep)], palette::GREY, 1)?;
            }
        }

        // Grid and x axis.
        let (step, ticks) = nice_ticks(xs.lo * 100.0, xs.hi * 100.0, 8);
        let dec = decimals_for(step, 0);
        for t in &ticks {
            let px = xs.px(t / 100.0);
            cv.line(&[(px, top), (px, bottom)], palette::GRID, 1)?;
            cv.line(&[(px, bottom), (px, bottom + 6)], palette::INK, 2)?;
            cv.text(
                &signed_tick(*t, dec),
                px,
                bottom + 22,
                Txt::new(20.0).center(),
            )?;
        }
        cv.line(&[(left, bottom), (right, bottom)], palette::INK, 2)?;
        cv.text(
            &self.ci_text,
            (left + right) / 2,
            bottom + 56,
            Txt::new(22.0).center(),
        )?;

        // Reference lines and their tags (T on the upper line, F on the lower: never overlapping).
        let x0 = xs.px(0.0);
        cv.line(&[(x0, top), (x0, bottom)], palette::INK, 2)?;
        let xt = xs.px(self.threshold);
        cv.dashed((xt, top), (xt, bottom), palette::INK, 3, 12.0, 7.0)?;
        let xf = xs.px(self.floor);
        cv.dashed((xf, top), (xf, bottom), palette::RED, 3, 12.0, 7.0)?;
        let tag = |s: &str, x: i32, y: i32, c: RGBColor| -> Result<(), ChartError> {
            let t = Txt::new(19.0).bold().color(c);
            let (tw, _) = cv.measure(s, t)?;
            cv.line(&[(x, y + 8), (x, top)], c, 1)?;
            if x + 6 + tw <= right {
                cv.text(s, x + 6, y, t)
            } else {
                cv.text(s, x - 6, y, t.right())
            }
        };
        tag(
            &format!("T {}", pp(self.threshold)),
            xt,
            top - 40,
            palette::INK,
        )?;
        tag(&format!("F {}", pp(self.floor)), xf, top - 16, palette::RED)?;

        // Rows.
        for (g, rows) in self.groups.iter().enumerate() {
            for (r, y) in rows.iter().zip(&ys[g]) {
                let y = *y;
                let e = r.effect;
                let c = if r.failing { palette::RED } else { r.color };
                let (xl, xh, xd) = (xs.px(e.ci_low), xs.px(e.ci_high), xs.px(e.delta));
                let (lw, cap) = if r.aggregate { (4, 9) } else { (3, 7) };
                cv.line(&[(xl, y), (xh, y)], c, lw)?;
                cv.line(&[(xl, y - cap), (xl, y + cap)], c, lw)?;
                cv.line(&[(xh, y - cap), (xh, y + cap)], c, lw)?;
                if r.aggregate {
                    cv.diamond((xd, y), 12, c)?;
                } else if r.failing && r.harmed {
                    cv.circle((xd, y), 9, palette::WHITE, true)?;
                    cv.cross((xd, y), 7, c, 4)?;
                } else if r.failing {
                    // Unknown: an open ring, distinct from the harmed cross.
                    cv.circle((xd, y), 9, palette::WHITE, true)?;
                    cv.circle((xd, y), 8, c, false)?;
                } else {
                    cv.circle((xd, y), 7, c, true)?;
                }

                let bold = r.aggregate || r.failing;
                let text_c = if r.failing {
                    palette::RED
                } else {
                    palette::INK
                };
                let nt = name_t(bold).color(text_c);
                let (nx, avail) = if r.aggregate {
                    cv.rect(
                        Bbox {
                            x0: 40,
                            y0: y - 8,
                            x1: 56,
                            y1: y + 8,
                        },
                        r.color,
                        true,
                        1,
                    )?;
                    (64, name_w - 24)
                } else {
                    (40 + indent, name_w - indent)
                };
                let name = cv.fit(&r.name, avail, nt)?;
                cv.text(&name, nx, y, nt)?;
                cv.text(
                    &pp_ci(e.delta, e.ci_low, e.ci_high),
                    num_right,
                    y,
                    nt.right(),
                )?;
            }
        }

        let mut fy = bottom + 90;
        for f in &self.footnotes {
            cv.text(f, 40, fy, Txt::new(19.0).color(palette::MUTED))?;
            fy += FOOT_H;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::legend_layout;
    use std::collections::BTreeSet;

    /// The forest plot's legends once overlapped (seen on the order-numbers example's chart):
    /// the first wrapped its long "not shown safe" entry onto the row the second was drawn on.
    /// Widths are ~11 px per character, the 20-px sans font's mean advance, so the first legend
    /// wraps here as it does on the real canvas.
    #[test]
    fn the_two_legends_never_share_a_row_and_stay_above_the_plot() {
        let widths = |items: &[(Swatch, String)]| {
            items
                .iter()
                .map(|(_, l)| 11 * l.chars().count() as i32)
                .collect::<Vec<_>>()
        };
        let (marks, lines) = legend_items(0.10, -0.03);
        // The header's bottom with one subtitle line (Canvas::header).
        let y = 110;
        let right = W as i32 - 40;
        let first = legend_layout(&widths(&marks), 40, y + 6, right);
        let last = first.last().map_or(y, |p| p.1);
        assert!(
            last > y + 6,
            "the first legend wraps at this width: {first:?}"
        );
        let second = legend_layout(&widths(&lines), 40, second_legend_y(y, last), right);
        let rows: BTreeSet<i32> = first.iter().map(|p| p.1).collect();
        for p in &second {
            assert!(
                !rows.contains(&p.1),
                "the second legend's row {} is one of the first's {rows:?}",
                p.1
            );
        }
        let bottom = second.iter().map(|p| p.1).max().unwrap_or(y) + LEGEND_ROW / 2;
        assert!(
            bottom <= PLOT_TOP - 52,
            "the legend ends at {bottom}, into the T and F tags above the plot ({})",
            PLOT_TOP - 40
        );
    }
}

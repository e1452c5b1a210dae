//! `cost-vs-accuracy`: one labelled point per arm that ran on test, at its steady-state cost per
//! 1,000 rows (`arms[].cost_per_1k_usd`, x, from $0) and its test score
//! (`test_aggregate[arm].mean`, y), with the Pareto frontier — the arms no other arm beats on
//! both cost and score — drawn as a step line (the best score reachable at or below each cost).
//! Dominated arms are grey and say so in their label.
//!
//! **The y interval** is a Wilson score interval at the registered CI level
//! (`experiment.ci_level`) over the arm's `test_aggregate[arm].n` test rows, computed here from
//! the mean. Per-row scores in [0, 1] have variance at most p(1 − p), with equality for binary
//! scores, so the interval is exact in form for binary metrics and conservative for per-row means
//! of several trials or graded scores. It is the uncertainty of the arm's own score; the paired
//! effect CI (forest plot) is the uncertainty of a *difference* and would be wrong here (the
//! baseline would get none). Scores outside [0, 1] get no interval, and a footnote says so.
//!
//! **Unknown costs** are not placed at $0: such arms are drawn at their true score in a separate
//! "cost unknown" strip to the right of the axes and are left out of the frontier and the
//! dominance check. Arms killed by the gate never ran on test and are named in a footnote.

use crate::style::{
    Bbox, Canvas, Scale, Swatch, Txt, arm_color, arm_label, decimals_for, finite, legend,
    nice_ticks, palette, pct, plain_tick, usd,
};
use crate::{Chart, ChartError};
use itera_core::report::ReportData;
use plotters::prelude::{DrawingBackend, RGBColor};
use plotters::style::text_anchor::HPos;

const W: u32 = 1500;
const H: u32 = 900;

#[derive(Debug, Clone)]
struct Point {
    label: String,
    cost: Option<f64>,
    score: f64,
    ci: Option<(f64, f64)>,
    color: RGBColor,
    baseline: bool,
    dominated: bool,
}

/// The validated cost chart.
#[derive(Debug, Clone)]
pub(crate) struct Cost {
    title: String,
    subtitle: Vec<String>,
    points: Vec<Point>,
    /// Indices into `points`, by increasing cost.
    frontier: Vec<usize>,
    metric: String,
    ci_legend: String,
    footnotes: Vec<String>,
}

// The Wilson interval drawn around each arm: interval.rs.
use crate::interval::wilson;

/// Indices of the arms on the Pareto frontier (known cost; no other arm at most as expensive and
/// at least as good, strictly better in one), by increasing cost; and the dominated flags.
fn pareto(points: &[(Option<f64>, f64)]) -> (Vec<usize>, Vec<bool>) {
    let dominated: Vec<bool> = points
        .iter()
        .map(|&(c, s)| match c {
            None => false,
            Some(c) => points.iter().any(|&(c2, s2)| match c2 {
                Some(c2) => c2 <= c && s2 >= s && (c2 < c || s2 > s),
                None => false,
            }),
        })
        .collect();
    let mut frontier: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_some() && !dominated[i])
        .collect();
    frontier.sort_by(|&a, &b| {
        let (ca, cb) = (points[a].0.unwrap_or(0.0), points[b].0.unwrap_or(0.0));
        ca.total_cmp(&cb)
            .then(points[b].1.total_cmp(&points[a].1))
            .then(a.cmp(&b))
    });
    (frontier, dominated)
}

impl Cost {
    /// Checks the data and computes intervals and the frontier.
    pub(crate) fn prepare(data: &ReportData) -> Result<Self, ChartError> {
        let e = &data.experiment;
        data.baseline()
            .ok_or_else(|| ChartError::MissingData("no arm is marked as the baseline".into()))?;
        let level = finite(|| "experiment.ci_level".into(), e.ci_level)?;
        if !(level > 0.0 && level < 1.0) {
            return Err(ChartError::Invalid {
                field: "experiment.ci_level".into(),
                reason: format!("{level} is not in (0, 1)"),
            });
        }
        let mut points = Vec::new();
        let mut killed = Vec::new();
        let mut no_ci = Vec::new();
        let mut order: Vec<_> = data.arms.iter().filter(|a| a.baseline).collect();
        order.extend(data.arms.iter().filter(|a| !a.baseline));
        for a in order {
            let Some(g) = data.test_aggregate.get(&a.id) else {
                if a.killed {
                    killed.push(a.id.clone());
                    continue;
                }
                return Err(ChartError::MissingData(format!(
                    "test_aggregate has no entry for arm {:?}",
                    a.id
                )));
            };
            let score = finite(|| format!("test_aggregate[{:?}].mean", a.id), g.mean)?;
            let cost = match a.cost_per_1k_usd {
                Some(c) => {
                    let c = finite(|| format!("arms[{:?}].cost_per_1k_usd", a.id), c)?;
                    if c < 0.0 {
                        return Err(ChartError::Invalid {
                            field: format!("arms[{:?}].cost_per_1k_usd", a.id),
                            reason: format!("negative cost {c}"),
                        });
                    }
                    Some(c)
                }
                None => None,
            };
            let ci = if (0.0..=1.0).contains(&score) && g.n > 0 {
                Some(wilson(score, g.n, level))
            } else {
                no_ci.push(a.id.clone());
                None
            };
            points.push(Point {
                label: arm_label(a),
                cost,
                score,
                ci,
                color: arm_color(data, &a.id),
                baseline: a.baseline,
                dominated: false,
            });
        }
        let (frontier, dominated) =
            pareto(&points.iter().map(|p| (p.cost, p.score)).collect::<Vec<_>>());
        for (p, d) in points.iter_mut().zip(dominated) {
            p.dominated = d;
        }
        let level_txt = format!("{}%", (level * 1000.0).round() / 10.0);
        let mut footnotes = Vec::new();
        if points.iter().any(|p| p.cost.is_none()) {
            footnotes.push(
                "Cost unknown: drawn at its score in the right-hand strip, left out of the frontier."
                    .to_string(),
            );
        }
        if !no_ci.is_empty() {
            footnotes.push(format!(
                "No interval (score outside [0, 1] or no rows): {}",
                no_ci.join(", ")
            ));
        }
        if !killed.is_empty() {
            footnotes.push(format!(
                "Killed by the gate, never run on test: {}",
                killed.join(", ")
            ));
        }
        Ok(Cost {
            title: "Cost vs test score — Pareto frontier".to_string(),
            subtitle: vec![format!(
                "{} · metric: {} · {} test rows · cost: steady-state USD per 1,000 rows on test",
                e.name, e.metric, e.test_n
            )],
            points,
            frontier,
            metric: e.metric.clone(),
            ci_legend: format!("{level_txt} Wilson interval over the arm's test rows"),
            footnotes,
        })
    }
}

/// Picks the first label position that overlaps nothing (or the least-bad one).
fn place(boxes: &[Bbox], bounds: &Bbox, obstacles: &[(Bbox, u32)]) -> usize {
    let mut best = (u32::MAX, 0);
    for (i, b) in boxes.iter().enumerate() {
        let mut cost = if b.inside(bounds) { 0 } else { 1000 };
        for (o, w) in obstacles {
            if b.overlaps(o) {
                cost += w;
            }
        }
        if cost == 0 {
            return i;
        }
        if cost < best.0 {
            best = (cost, i);
        }
    }
    best.1
}

impl Chart for Cost {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, cv: &Canvas<DB>) -> Result<(), ChartError> {
        let (w, h) = (W as i32, H as i32);
        let y = cv.header(&self.title, &self.subtitle, w)?;
        let mut items = vec![
            (
                Swatch::Line(palette::INK),
                "Pareto frontier (best score at or below each cost)".to_string(),
            ),
            (Swatch::ErrorBar(palette::INK), self.ci_legend.clone()),
            (
                Swatch::Dot(palette::GREY),
                "dominated: another arm is as cheap and as good or better".to_string(),
            ),
            (Swatch::Square(palette::BASELINE), "baseline".to_string()),
        ];
        if !self.points.iter().any(|p| p.dominated) {
            items.remove(2);
        }
        if self.frontier.is_empty() {
            items.remove(0);
        }
        let ly = legend(cv, &items, 40, y + 6, w - 40)?;

        let unknown: Vec<usize> = (0..self.points.len())
            .filter(|&i| self.points[i].cost.is_none())
            .collect();
        let strip_w = if unknown.is_empty() { 0 } else { 250 };
        let foot_h = 26 * self.footnotes.len() as i32;
        let (left, top, bottom) = (150, ly + 56, h - 100 - foot_h);
        let right = w - 50 - if strip_w > 0 { strip_w + 30 } else { 0 };

        // Ranges: cost from $0; score fitted to every interval with a margin.
        let max_cost = self
            .points
            .iter()
            .filter_map(|p| p.cost)
            .fold(0.0f64, f64::max);
        let xhi = if max_cost > 0.0 { max_cost * 1.32 } else { 1.0 };
        let xs = Scale {
            lo: 0.0,
            hi: xhi,
            p0: left,
            p1: right,
        };
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for p in &self.points {
            let (a, b) = p.ci.unwrap_or((p.score, p.score));
            lo = lo.min(a.min(p.score));
            hi = hi.max(b.max(p.score));
        }
        let span = (hi - lo).max(0.02);
        let ys = Scale {
            lo: lo - span * 0.12,
            hi: hi + span * 0.12,
            p0: bottom,
            p1: top,
        };

        // Grid and axes.
        let (ystep, yticks) = nice_ticks(ys.lo * 100.0, ys.hi * 100.0, 6);
        let ydec = decimals_for(ystep, 0);
        for t in &yticks {
            let py = ys.px(t / 100.0);
            cv.line(&[(left, py), (right, py)], palette::GRID, 1)?;
            cv.line(&[(left - 6, py), (left, py)], palette::INK, 2)?;
            cv.text(
                &format!("{}%", plain_tick(*t, ydec)),
                left - 12,
                py,
                Txt::new(20.0).right(),
            )?;
        }
        let (xstep, xticks) = nice_ticks(0.0, xhi, 7);
        let xdec = decimals_for(xstep, 2);
        for t in &xticks {
            let px = xs.px(*t);
            cv.line(&[(px, top), (px, bottom)], palette::GRID, 1)?;
            cv.line(&[(px, bottom), (px, bottom + 6)], palette::INK, 2)?;
            cv.text(&usd(*t, xdec), px, bottom + 22, Txt::new(20.0).center())?;
        }
        cv.line(
            &[(left, top), (left, bottom), (right, bottom)],
            palette::INK,
            2,
        )?;
        cv.text(
            "cost per 1,000 rows (USD, steady state on test)",
            (left + right) / 2,
            bottom + 56,
            Txt::new(22.0).center(),
        )?;
        cv.text(
            &format!("test {}", self.metric),
            52,
            (top + bottom) / 2,
            Txt::new(22.0).center().vertical(),
        )?;
        if max_cost == 0.0 && unknown.len() == self.points.len() {
            cv.text(
                "no arm has a known cost",
                (left + right) / 2,
                (top + bottom) / 2,
                Txt::new(22.0).center().color(palette::MUTED),
            )?;
        }

        // Pixel positions: known costs on the axes, unknown ones spread across the strip.
        let strip = Bbox {
            x0: right + 30,
            y0: top,
            x1: w - 50,
            y1: bottom,
        };
        let pos: Vec<(i32, i32)> = self
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let py = ys.px(p.score);
                match p.cost {
                    Some(c) => (xs.px(c), py),
                    None => {
                        let k = unknown.iter().position(|&u| u == i).unwrap_or(0) as i32;
                        let n = unknown.len() as i32;
                        (strip.x0 + (strip.x1 - strip.x0) * (2 * k + 1) / (2 * n), py)
                    }
                }
            })
            .collect();
        if strip_w > 0 {
            cv.rect(strip, palette::SHADE, true, 1)?;
            cv.rect(strip, palette::GREY, false, 1)?;
            cv.text(
                "cost unknown",
                (strip.x0 + strip.x1) / 2,
                top + 18,
                Txt::new(20.0).bold().center().color(palette::MUTED),
            )?;
            cv.text(
                "(not in the frontier)",
                (strip.x0 + strip.x1) / 2,
                top + 44,
                Txt::new(18.0).center().color(palette::MUTED),
            )?;
        }

        // Obstacles for labels: markers, interval bars, the frontier.
        let mut obstacles: Vec<(Bbox, u32)> = Vec::new();
        let ci_px: Vec<Option<(i32, i32)>> = self
            .points
            .iter()
            .map(|p| p.ci.map(|(a, b)| (ys.px(a), ys.px(b))))
            .collect();
        for (i, &(px, py)) in pos.iter().enumerate() {
            obstacles.push((
                Bbox {
                    x0: px - 13,
                    y0: py - 13,
                    x1: px + 13,
                    y1: py + 13,
                },
                20,
            ));
            if let Some((yl, yh)) = ci_px[i] {
                obstacles.push((
                    Bbox {
                        x0: px - 10,
                        y0: yh - 2,
                        x1: px + 10,
                        y1: yl + 2,
                    },
                    10,
                ));
            }
        }
        if strip_w > 0 {
            obstacles.push((
                Bbox {
                    x0: strip.x0,
                    y0: top,
                    x1: strip.x1,
                    y1: top + 58,
                },
                20,
            ));
        }

        // The frontier: a step line through the frontier arms, continued to the right edge.
        if !self.frontier.is_empty() {
            let mut path = Vec::new();
            for (k, &i) in self.frontier.iter().enumerate() {
                let (px, py) = pos[i];
                if k > 0 {
                    let prev_y = path.last().map(|&(_, y)| y).unwrap_or(py);
                    path.push((px, prev_y));
                }
                path.push((px, py));
            }
            if let Some(&(_, ly)) = path.last() {
                path.push((right, ly));
            }
            for seg in path.windows(2) {
                let (a, b) = (seg[0], seg[1]);
                obstacles.push((
                    Bbox {
                        x0: a.0.min(b.0) - 2,
                        y0: a.1.min(b.1) - 2,
                        x1: a.0.max(b.0) + 2,
                        y1: a.1.max(b.1) + 2,
                    },
                    1,
                ));
            }
            cv.line(&path, palette::INK, 3)?;
        }

        // Points: intervals, then markers (dominated ones first, so frontier arms sit on top).
        let mut draw_order: Vec<usize> = (0..self.points.len()).collect();
        draw_order.sort_by_key(|&i| !self.points[i].dominated);
        for &i in &draw_order {
            let p = &self.points[i];
            let c = if p.dominated { palette::GREY } else { p.color };
            let (px, py) = pos[i];
            if let Some((yl, yh)) = ci_px[i] {
                cv.line(&[(px, yl), (px, yh)], c, 3)?;
                cv.line(&[(px - 8, yl), (px + 8, yl)], c, 3)?;
                cv.line(&[(px - 8, yh), (px + 8, yh)], c, 3)?;
            }
            if p.baseline {
                cv.rect(
                    Bbox {
                        x0: px - 10,
                        y0: py - 10,
                        x1: px + 10,
                        y1: py + 10,
                    },
                    c,
                    true,
                    1,
                )?;
                cv.rect(
                    Bbox {
                        x0: px - 10,
                        y0: py - 10,
                        x1: px + 10,
                        y1: py + 10,
                    },
                    palette::WHITE,
                    false,
                    2,
                )?;
            } else {
                cv.circle((px, py), 11, c, true)?;
                cv.circle((px, py), 11, palette::WHITE, false)?;
            }
        }

        // Labels, greedily placed around each point.
        let t = Txt::new(20.0);
        for (i, p) in self.points.iter().enumerate() {
            let (px, py) = pos[i];
            let mut text = match p.cost {
                Some(c) => format!("{} · {} · {}/1k", p.label, pct(p.score), cost_label(c)),
                None => format!("{} · {}", p.label, pct(p.score)),
            };
            if p.dominated {
                text.push_str(" (dominated)");
            }
            let tt = if p.dominated {
                t.color(palette::MUTED)
            } else {
                t.bold()
            };
            // Just beyond the ends of the point's own interval bar.
            let (bar_top, bar_bottom) = ci_px[i].map(|(yl, yh)| (yh, yl)).unwrap_or((py, py));
            let (above, below) = (bar_top - 22, bar_bottom + 22);
            let (bounds, cands): (Bbox, Vec<(i32, i32, HPos)>) = if p.cost.is_some() {
                (
                    Bbox {
                        x0: left + 4,
                        y0: top,
                        x1: right,
                        y1: bottom,
                    },
                    vec![
                        (px + 20, py, HPos::Left),
                        (px - 20, py, HPos::Right),
                        (px + 18, py - 26, HPos::Left),
                        (px + 18, py + 26, HPos::Left),
                        (px - 18, py - 26, HPos::Right),
                        (px - 18, py + 26, HPos::Right),
                        (px, py - 34, HPos::Center),
                        (px, py + 34, HPos::Center),
                        (px + 20, py - 52, HPos::Left),
                        (px + 20, py + 52, HPos::Left),
                        (px - 20, py - 52, HPos::Right),
                        (px - 20, py + 52, HPos::Right),
                        (px, below, HPos::Center),
                        (px + 14, below, HPos::Right),
                        (px - 14, below, HPos::Left),
                        (px, above, HPos::Center),
                        (px + 14, above, HPos::Right),
                        (px - 14, above, HPos::Left),
                    ],
                )
            } else {
                (
                    strip.grow(-4),
                    vec![
                        (px, py - 30, HPos::Center),
                        (px, py + 30, HPos::Center),
                        (px, py - 56, HPos::Center),
                        (px, py + 56, HPos::Center),
                    ],
                )
            };
            let fits = |tx: Txt| -> Result<String, ChartError> {
                if p.cost.is_some() {
                    Ok(text.clone())
                } else {
                    cv.fit(&text, strip.x1 - strip.x0 - 12, tx)
                }
            };
            let text = fits(tt)?;
            let boxes = cands
                .iter()
                .map(|&(x, y, a)| {
                    cv.text_box(&text, x, y, Txt { anchor: a, ..tt })
                        .map(|b| b.grow(3))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let k = place(&boxes, &bounds, &obstacles);
            let (x, y, a) = cands[k];
            cv.text_on_white(&text, x, y, Txt { anchor: a, ..tt })?;
            obstacles.push((boxes[k], 50));
        }

        let mut fy = h - 20 - foot_h + 26;
        for f in &self.footnotes {
            cv.text(f, 40, fy, Txt::new(19.0).color(palette::MUTED))?;
            fy += 26;
        }
        Ok(())
    }
}

/// A cost per 1k rows for a point's label: cents from a dollar up, two significant digits below
/// (a live run's $0.0020 once printed as "$0.00").
fn cost_label(c: f64) -> String {
    if !(c.is_finite() && c > 0.0) || c >= 1.0 {
        return usd(c, 2);
    }
    let decimals = (1 - c.log10().floor() as i32).clamp(2, 8) as usize;
    usd(c, decimals)
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;

//! `arm-bar`: the **dev** score of every arm (`dev_aggregate[arm].mean`, the mean across trials)
//! with ±1 SD error bars (`dev_aggregate[arm].sd`, the SD of the aggregate across trials), the
//! value printed above each bar, and the registered threshold as a dashed line at the baseline's
//! dev mean + `experiment.threshold_pp`. The baseline comes first, in grey; candidates follow in
//! `arms` order in Okabe–Ito colours. Test numbers never appear here.
//!
//! Arms killed by the gate are shown, not hidden: their dev score is drawn as a pale bar with an
//! outline and the caption "killed by the gate" (a killed arm without a dev aggregate gets an
//! empty slot saying so). The title names the number of trials from
//! `experiment.trials_per_arm`.

use crate::style::{
    Bbox, Canvas, Scale, Swatch, Txt, arm_color, arm_label, decimals_for, finite, legend,
    nice_ticks, palette, pct, plain_tick, pp,
};
use crate::{Chart, ChartError};
use itera_core::report::ReportData;
use plotters::prelude::{DrawingBackend, RGBColor};

const W: u32 = 1500;
const H: u32 = 900;

/// One bar.
#[derive(Debug, Clone)]
struct Bar {
    label: String,
    caption: String,
    color: RGBColor,
    baseline: bool,
    killed: bool,
    /// Mean and SD, absent for a killed arm that has no dev aggregate.
    value: Option<(f64, f64)>,
}

/// The validated arm-bar chart.
#[derive(Debug, Clone)]
pub(crate) struct ArmBar {
    title: String,
    subtitle: Vec<String>,
    bars: Vec<Bar>,
    threshold: f64,
    threshold_pp: f64,
    trials: u32,
    metric: String,
}

impl ArmBar {
    /// Checks the data and collects what the chart draws.
    pub(crate) fn prepare(data: &ReportData) -> Result<Self, ChartError> {
        let e = &data.experiment;
        let baseline = data
            .baseline()
            .ok_or_else(|| ChartError::MissingData("no arm is marked as the baseline".into()))?;
        let mut order = vec![baseline];
        order.extend(data.arms.iter().filter(|a| !a.baseline));
        let mut bars = Vec::new();
        for a in order {
            let value = match data.dev_aggregate.get(&a.id) {
                Some(g) => {
                    let mean = finite(|| format!("dev_aggregate[{:?}].mean", a.id), g.mean)?;
                    let sd = finite(|| format!("dev_aggregate[{:?}].sd", a.id), g.sd)?;
                    if sd < 0.0 {
                        return Err(ChartError::Invalid {
                            field: format!("dev_aggregate[{:?}].sd", a.id),
                            reason: format!("negative SD {sd}"),
                        });
                    }
                    Some((mean, sd))
                }
                None if a.killed => None,
                None => {
                    return Err(ChartError::MissingData(format!(
                        "dev_aggregate has no entry for arm {:?}",
                        a.id
                    )));
                }
            };
            let caption = if a.baseline {
                "baseline".to_string()
            } else if a.killed {
                "killed by the gate".to_string()
            } else {
                a.change.clone().unwrap_or_default()
            };
            bars.push(Bar {
                label: arm_label(a),
                caption,
                color: arm_color(data, &a.id),
                baseline: a.baseline,
                killed: a.killed,
                value,
            });
        }
        let base_mean = bars[0].value.map(|v| v.0).ok_or_else(|| {
            ChartError::MissingData(format!(
                "dev_aggregate has no entry for the baseline {:?}",
                baseline.id
            ))
        })?;
        let threshold_pp = finite(|| "experiment.threshold_pp".into(), e.threshold_pp)?;
        let trials = e.trials_per_arm;
        let plural = if trials == 1 { "" } else { "s" };
        Ok(ArmBar {
            title: format!("Dev score per arm — mean ± 1 SD across {trials} trial{plural}"),
            subtitle: vec![format!(
                "{} · metric: {} · {} dev rows · dashed line: the registered threshold, baseline {}",
                e.name,
                e.metric,
                e.dev_n,
                pp(threshold_pp / 100.0)
            )],
            bars,
            threshold: base_mean + threshold_pp / 100.0,
            threshold_pp,
            trials,
            metric: e.metric.clone(),
        })
    }
}

fn pale(c: RGBColor) -> RGBColor {
    let m = |v: u8| (v as f64 * 0.3 + 255.0 * 0.7).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

impl Chart for ArmBar {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, cv: &Canvas<DB>) -> Result<(), ChartError> {
        let (w, h) = (W as i32, H as i32);
        let y = cv.header(&self.title, &self.subtitle, w)?;

        let plural = if self.trials == 1 { "" } else { "s" };
        let mut items = vec![
            (
                Swatch::Dashed(palette::INK),
                format!(
                    "threshold: baseline dev mean {} = {}",
                    pp(self.threshold_pp / 100.0),
                    pct(self.threshold)
                ),
            ),
            (
                Swatch::ErrorBar(palette::INK),
                format!(
                    "±1 SD of the dev score across {} trial{plural}",
                    self.trials
                ),
            ),
        ];
        if self.bars.iter().any(|b| b.killed) {
            items.push((
                Swatch::Outline(palette::GREY),
                "killed by the gate (dev only)".into(),
            ));
        }
        let ly = legend(cv, &items, 40, y + 6, w - 40)?;

        let (left, right, top, bottom) = (150, w - 170, ly + 50, h - 110);
        // Y range: zero-based bars; room above the tallest error bar for two label lines.
        let values: Vec<(f64, f64)> = self.bars.iter().filter_map(|b| b.value).collect();
        let lo = values.iter().map(|(m, s)| m - s).fold(0.0f64, f64::min);
        let hi_data = values
            .iter()
            .map(|(m, s)| m + s)
            .fold(self.threshold, f64::max);
        let hi_data = if hi_data <= lo { lo + 1.0 } else { hi_data };
        let room = 78.0;
        let hi = hi_data + (hi_data - lo) * room / ((bottom - top) as f64 - room);
        let ys = Scale {
            lo,
            hi,
            p0: bottom,
            p1: top,
        };

        // Grid and y axis.
        let (step, ticks) = nice_ticks(lo, hi, 6);
        let dec = decimals_for(step * 100.0, 0);
        for t in &ticks {
            let py = ys.px(*t);
            cv.line(&[(left, py), (right, py)], palette::GRID, 1)?;
            cv.line(&[(left - 6, py), (left, py)], palette::INK, 2)?;
            cv.text(
                &format!("{}%", plain_tick(t * 100.0, dec)),
                left - 12,
                py,
                Txt::new(20.0).right(),
            )?;
        }
        cv.line(&[(left, top), (left, bottom)], palette::INK, 2)?;
        cv.line(
            &[
                (left, ys.px(0.0f64.max(lo))),
                (right, ys.px(0.0f64.max(lo))),
            ],
            palette::INK,
            2,
        )?;
        cv.text(
            &format!("dev {} (mean across trials)", self.metric),
            52,
            (top + bottom) / 2,
            Txt::new(22.0).center().vertical(),
        )?;

        // Bars.
        let n = self.bars.len().max(1) as i32;
        let slot = (right - left) / n;
        let bw = (slot as f64 * 0.55).min(220.0) as i32;
        let zero = ys.px(0.0f64.max(lo));
        let mut label_boxes = Vec::new();
        for (i, b) in self.bars.iter().enumerate() {
            let cx = left + slot * i as i32 + slot / 2;
            let name = cv.fit(&b.label, slot - 12, Txt::new(22.0).bold())?;
            cv.text(&name, cx, bottom + 30, Txt::new(22.0).bold().center())?;
            let cap_color = if b.killed {
                palette::GREY
            } else {
                palette::MUTED
            };
            let caption = cv.fit(&b.caption, slot - 12, Txt::new(19.0))?;
            cv.text(
                &caption,
                cx,
                bottom + 60,
                Txt::new(19.0).center().color(cap_color),
            )?;
            let Some((mean, sd)) = b.value else {
                cv.text(
                    "no dev score",
                    cx,
                    zero - 20,
                    Txt::new(19.0).center().color(palette::GREY),
                )?;
                continue;
            };
            let bar = Bbox {
                x0: cx - bw / 2,
                y0: ys.px(mean).min(zero),
                x1: cx + bw / 2,
                y1: ys.px(mean).max(zero),
            };
            if b.killed {
                cv.rect(bar, pale(b.color), true, 1)?;
                cv.rect(bar, b.color, false, 2)?;
            } else {
                cv.rect(bar, b.color, true, 1)?;
                if b.baseline {
                    cv.rect(bar, palette::INK, false, 2)?;
                }
            }
            // ±1 SD.
            let (ylo, yhi) = (ys.px(mean - sd), ys.px(mean + sd));
            cv.line(&[(cx, ylo), (cx, yhi)], palette::INK, 3)?;
            cv.line(&[(cx - 14, ylo), (cx + 14, ylo)], palette::INK, 3)?;
            cv.line(&[(cx - 14, yhi), (cx + 14, yhi)], palette::INK, 3)?;
            // Value and SD above the bar; lifted above the threshold line if it would cross them.
            let sd_text = format!("SD ±{:.1}pp", sd * 100.0);
            let ty = ys.px(self.threshold);
            let mut base = yhi - 20;
            if ty > base - 46 && ty < base + 16 {
                base = ty - 22;
            }
            label_boxes.push(cv.text_on_white(
                &sd_text,
                cx,
                base,
                Txt::new(18.0).center().color(palette::MUTED),
            )?);
            label_boxes.push(cv.text_on_white(
                &pct(mean),
                cx,
                base - 28,
                Txt::new(24.0).bold().center(),
            )?);
        }

        // The threshold, drawn last but around the value labels so it never crosses them.
        let ty = ys.px(self.threshold);
        let mut segments = vec![(left, right)];
        for b in &label_boxes {
            if b.y0 <= ty && ty <= b.y1 {
                segments = segments
                    .into_iter()
                    .flat_map(|(a, z)| {
                        let mut out = Vec::new();
                        if b.x0 > a {
                            out.push((a, b.x0.min(z)));
                        }
                        if b.x1 < z {
                            out.push((b.x1.max(a), z));
                        }
                        out
                    })
                    .collect();
            }
        }
        for (a, z) in segments {
            cv.dashed((a, ty), (z, ty), palette::INK, 3, 14.0, 8.0)?;
        }
        cv.text(
            &format!("T = {}", pct(self.threshold)),
            right + 12,
            ty,
            Txt::new(20.0).bold(),
        )?;
        Ok(())
    }
}

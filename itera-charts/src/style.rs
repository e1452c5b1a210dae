//! Fonts, palette, number formatting and a small pixel-space canvas shared by the three charts.
//!
//! The fonts are DejaVu Sans 2.37 (regular and bold), shipped in `fonts/` with their Bitstream
//! Vera licence (`fonts/LICENSE-DejaVu.txt`) and registered once with plotters' ab_glyph
//! `register_font`: no system font is ever looked up, so a chart renders the same, byte for byte,
//! on every machine. The palette is Okabe–Ito (colour-blind safe); red is reserved for "below the
//! loss floor" and is always paired with a second cue (a cross marker, bold text).
//!
//! The charts lay themselves out in pixels (this canvas), using plotters only as the drawing
//! backend, so that label placement is under our control and identical in PNG and SVG.

use crate::{ChartError, Format, error::draw_err};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, register_font};
use std::sync::OnceLock;

/// The family name the fonts are registered under. It is also written verbatim into the SVG
/// `font-family` attribute, so SVG viewers fall back to a generic sans-serif when DejaVu Sans is
/// not installed.
pub(crate) const FAMILY: &str = "DejaVu Sans, sans-serif";

const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

static FONTS: OnceLock<Result<(), String>> = OnceLock::new();

/// Registers the shipped fonts once per process (also under `sans-serif` and `serif`, so no
/// plotters default can reach for a font that is not there).
pub(crate) fn ensure_fonts() -> Result<(), ChartError> {
    FONTS
        .get_or_init(|| {
            for name in [FAMILY, "sans-serif", "serif"] {
                register_font(name, FontStyle::Normal, REGULAR)
                    .map_err(|_| "fonts/DejaVuSans.ttf is not a valid font".to_string())?;
                register_font(name, FontStyle::Bold, BOLD)
                    .map_err(|_| "fonts/DejaVuSans-Bold.ttf is not a valid font".to_string())?;
            }
            Ok(())
        })
        .clone()
        .map_err(ChartError::Font)
}

/// Okabe–Ito colours.
pub(crate) mod palette {
    use plotters::style::RGBColor;
    /// The baseline (dark grey, no hue: visually apart from every candidate).
    pub const BASELINE: RGBColor = RGBColor(0x4D, 0x4D, 0x4D);
    /// Candidate colours, in arm order. Orange is left out: it is too close to the red below
    /// for some colour-vision deficiencies.
    pub const CANDIDATES: [RGBColor; 5] = [
        RGBColor(0x00, 0x72, 0xB2), // blue
        RGBColor(0x00, 0x9E, 0x73), // bluish green
        RGBColor(0xCC, 0x79, 0xA7), // reddish purple
        RGBColor(0x56, 0xB4, 0xE9), // sky blue
        RGBColor(0xE6, 0x9F, 0x00), // orange (only from the 5th candidate on)
    ];
    /// Below the loss floor (Okabe–Ito vermillion).
    pub const RED: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    /// Dominated arms, killed arms' outlines, secondary text.
    pub const GREY: RGBColor = RGBColor(0x9A, 0x9A, 0x9A);
    /// Grid lines.
    pub const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
    /// Row shading.
    pub const SHADE: RGBColor = RGBColor(0xF3, 0xF3, 0xF3);
    /// Text and axes.
    pub const INK: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);
    /// Secondary text.
    pub const MUTED: RGBColor = RGBColor(0x5A, 0x5A, 0x5A);
    /// Background.
    pub const WHITE: RGBColor = RGBColor(0xFF, 0xFF, 0xFF);
}

/// The colour of arm `index` in `arms` order: the baseline is grey, candidates take the palette
/// in order.
pub(crate) fn arm_color(data: &itera_core::report::ReportData, id: &str) -> RGBColor {
    let mut k = 0;
    for a in &data.arms {
        if a.id == id {
            return if a.baseline {
                palette::BASELINE
            } else {
                palette::CANDIDATES[k % palette::CANDIDATES.len()]
            };
        }
        if !a.baseline {
            k += 1;
        }
    }
    palette::BASELINE
}

// Numbers as the charts print them (pp, %, $, ticks): numbers.rs.
pub(crate) use crate::numbers::*;

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Data range.
    pub lo: f64,
    /// Data range.
    pub hi: f64,
    /// Pixel position of `lo`.
    pub p0: i32,
    /// Pixel position of `hi`.
    pub p1: i32,
}

impl Scale {
    /// The pixel of `v`.
    pub fn px(&self, v: f64) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        (self.p0 as f64 + t * (self.p1 - self.p0) as f64).round() as i32
    }
}

/// Text style for [`Canvas::text`].
#[derive(Clone, Copy)]
pub(crate) struct Txt {
    pub size: f64,
    pub bold: bool,
    pub color: RGBColor,
    pub anchor: HPos,
    pub vertical: bool,
}

impl Txt {
    pub fn new(size: f64) -> Self {
        Txt {
            size,
            bold: false,
            color: palette::INK,
            anchor: HPos::Left,
            vertical: false,
        }
    }
    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
    pub fn color(mut self, c: RGBColor) -> Self {
        self.color = c;
        self
    }
    pub fn right(mut self) -> Self {
        self.anchor = HPos::Right;
        self
    }
    pub fn center(mut self) -> Self {
        self.anchor = HPos::Center;
        self
    }
    pub fn vertical(mut self) -> Self {
        self.vertical = true;
        self
    }
    fn style(&self) -> TextStyle<'_> {
        let font = if self.bold {
            (FAMILY, self.size, FontStyle::Bold).into_font()
        } else {
            (FAMILY, self.size).into_font()
        };
        let font = if self.vertical {
            font.transform(FontTransform::Rotate270)
        } else {
            font
        };
        TextStyle::from(font)
            .color(&self.color)
            .pos(Pos::new(self.anchor, VPos::Top))
    }
}

/// A pixel rectangle `[x0, x1] × [y0, y1]`, for label collision checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bbox {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Bbox {
    pub fn overlaps(&self, o: &Bbox) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    pub fn inside(&self, o: &Bbox) -> bool {
        self.x0 >= o.x0 && self.x1 <= o.x1 && self.y0 >= o.y0 && self.y1 <= o.y1
    }
    pub fn grow(&self, d: i32) -> Bbox {
        Bbox {
            x0: self.x0 - d,
            y0: self.y0 - d,
            x1: self.x1 + d,
            y1: self.y1 + d,
        }
    }
}

/// A drawing surface in pixels over any plotters backend.
pub(crate) struct Canvas<DB: DrawingBackend> {
    area: DrawingArea<DB, plotters::coord::Shift>,
    format: Format,
}

fn shape(color: RGBColor, filled: bool, width: u32) -> ShapeStyle {
    ShapeStyle {
        color: color.to_rgba(),
        filled,
        stroke_width: width,
    }
}

impl<DB: DrawingBackend> Canvas<DB> {
    pub fn new(backend: DB, format: Format) -> Self {
        Canvas {
            area: backend.into_drawing_area(),
            format,
        }
    }

    pub fn fill(&self, c: RGBColor) -> Result<(), ChartError> {
        self.area.fill(&c).map_err(draw_err)
    }

    pub fn present(&self) -> Result<(), ChartError> {
        self.area.present().map_err(draw_err)
    }

    /// Width and height in pixels of `s` (as laid out by the shipped font).
    pub fn measure(&self, s: &str, t: Txt) -> Result<(i32, i32), ChartError> {
        let flat = Txt {
            vertical: false,
            ..t
        };
        let style = flat.style();
        let (w, _) = self.area.estimate_text_size(s, &style).map_err(draw_err)?;
        Ok((w as i32, (t.size * 0.75).round() as i32))
    }

    /// The bounding box `s` would take if drawn by [`Canvas::text`] at `(x, y)`.
    pub fn text_box(&self, s: &str, x: i32, y: i32, t: Txt) -> Result<Bbox, ChartError> {
        let (w, h) = self.measure(s, t)?;
        let x0 = match t.anchor {
            HPos::Left => x,
            HPos::Center => x - w / 2,
            HPos::Right => x - w,
        };
        Ok(Bbox {
            x0,
            y0: y - h / 2 - 2,
            x1: x0 + w,
            y1: y + (h + 1) / 2 + 2,
        })
    }

    /// Draws `s` with its capitals vertically centred on `y` (horizontally: `t.anchor` at `x`).
    /// Vertical text reads bottom to top, centred on `y`, its capitals centred on `x`.
    pub fn text(&self, s: &str, x: i32, y: i32, t: Txt) -> Result<(), ChartError> {
        // Where the backends put a top-anchored line: ab_glyph bitmaps put the baseline at
        // top + 0.5·size; the SVG backend writes dy=0.76em with em = size/1.24. DejaVu's capitals
        // are 0.729 em high, with em = size/1.164 in the bitmap and size/1.24 in SVG.
        let shift = match self.format {
            Format::Png => 0.5 - 0.3645 / 1.164,
            Format::Svg => 0.76 / 1.24 - 0.3645 / 1.24,
        } * t.size;
        let pos = if t.vertical {
            (x - shift.round() as i32, y)
        } else {
            (x, y - shift.round() as i32)
        };
        self.area
            .draw(&Text::new(s.to_string(), pos, t.style()))
            .map_err(draw_err)
    }

    /// Text on a white box (so that lines passing behind it stay readable).
    pub fn text_on_white(&self, s: &str, x: i32, y: i32, t: Txt) -> Result<Bbox, ChartError> {
        let b = self.text_box(s, x, y, t)?.grow(3);
        self.rect(b, palette::WHITE, true, 1)?;
        self.text(s, x, y, t)?;
        Ok(b)
    }

    pub fn line(&self, pts: &[(i32, i32)], c: RGBColor, width: u32) -> Result<(), ChartError> {
        self.area
            .draw(&PathElement::new(pts.to_vec(), shape(c, false, width)))
            .map_err(draw_err)
    }

    /// A dashed straight line from `a` to `b`: dashes of `dash` px, gaps of `gap` px.
    pub fn dashed(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        c: RGBColor,
        width: u32,
        dash: f64,
        gap: f64,
    ) -> Result<(), ChartError> {
        let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
        let len = (dx * dx + dy * dy).sqrt();
        if len == 0.0 {
            return Ok(());
        }
        let mut t = 0.0;
        while t < len {
            let e = (t + dash).min(len);
            let p = |s: f64| {
                (
                    (a.0 as f64 + dx * s / len).round() as i32,
                    (a.1 as f64 + dy * s / len).round() as i32,
                )
            };
            self.line(&[p(t), p(e)], c, width)?;
            t = e + gap;
        }
        Ok(())
    }

    pub fn rect(&self, b: Bbox, c: RGBColor, filled: bool, width: u32) -> Result<(), ChartError> {
        self.area
            .draw(&Rectangle::new(
                [(b.x0, b.y0), (b.x1, b.y1)],
                shape(c, filled, width),
            ))
            .map_err(draw_err)
    }

    pub fn circle(
        &self,
        at: (i32, i32),
        r: i32,
        c: RGBColor,
        filled: bool,
    ) -> Result<(), ChartError> {
        self.area
            .draw(&Circle::new(at, r, shape(c, filled, 2)))
            .map_err(draw_err)
    }

    pub fn polygon(&self, pts: &[(i32, i32)], c: RGBColor) -> Result<(), ChartError> {
        self.area
            .draw(&Polygon::new(pts.to_vec(), shape(c, true, 1)))
            .map_err(draw_err)
    }

    /// A filled diamond of half-size `r`.
    pub fn diamond(&self, (x, y): (i32, i32), r: i32, c: RGBColor) -> Result<(), ChartError> {
        self.polygon(&[(x, y - r), (x + r, y), (x, y + r), (x - r, y)], c)
    }

    /// A cross (✕) of half-size `r`: the marker of a failing slice.
    pub fn cross(
        &self,
        (x, y): (i32, i32),
        r: i32,
        c: RGBColor,
        width: u32,
    ) -> Result<(), ChartError> {
        self.line(&[(x - r, y - r), (x + r, y + r)], c, width)?;
        self.line(&[(x - r, y + r), (x + r, y - r)], c, width)
    }

    /// Draws the title and subtitle lines at the top; returns the y below them.
    pub fn header(&self, title: &str, subtitle: &[String], width: i32) -> Result<i32, ChartError> {
        self.text(title, 40, 38, Txt::new(34.0).bold())?;
        let mut y = 80;
        for s in subtitle {
            let s = self.fit(s, width - 80, Txt::new(21.0))?;
            self.text(&s, 40, y, Txt::new(21.0).color(palette::MUTED))?;
            y += 30;
        }
        Ok(y)
    }

    /// `s` shortened with an ellipsis until it fits in `max` pixels.
    pub fn fit(&self, s: &str, max: i32, t: Txt) -> Result<String, ChartError> {
        if self.measure(s, t)?.0 <= max {
            return Ok(s.to_string());
        }
        let mut chars: Vec<char> = s.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let cand: String = chars.iter().collect::<String>().trim_end().to_string() + "…";
            if self.measure(&cand, t)?.0 <= max {
                return Ok(cand);
            }
        }
        Ok("…".to_string())
    }
}

/// One legend entry: a swatch kind and its text.
#[derive(Debug, Clone)]
pub(crate) enum Swatch {
    /// A dashed line.
    Dashed(RGBColor),
    /// A solid line.
    Line(RGBColor),
    /// A vertical error bar.
    ErrorBar(RGBColor),
    /// An outlined box.
    Outline(RGBColor),
    /// A filled circle.
    Dot(RGBColor),
    /// A filled square.
    Square(RGBColor),
    /// A filled diamond.
    Diamond(RGBColor),
    /// A cross.
    Cross(RGBColor),
    /// An open ring.
    Ring(RGBColor),
}

/// Draws legend entries left to right from `x`, wrapping at `right`; returns the y of the last
/// line.
pub(crate) fn legend<DB: DrawingBackend>(
    cv: &Canvas<DB>,
    items: &[(Swatch, String)],
    x: i32,
    y: i32,
    right: i32,
) -> Result<i32, ChartError> {
    let t = Txt::new(20.0);
    let widths = items
        .iter()
        .map(|(_, label)| cv.measure(label, t).map(|(w, _)| w))
        .collect::<Result<Vec<_>, _>>()?;
    let places = legend_layout(&widths, x, y, right);
    for ((sw, label), &(cx, cy)) in items.iter().zip(&places) {
        let mid = (cx + 17, cy);
        match sw {
            Swatch::Dashed(c) => cv.dashed((cx, cy), (cx + 34, cy), *c, 3, 8.0, 5.0)?,
            Swatch::Line(c) => cv.line(&[(cx, cy), (cx + 34, cy)], *c, 3)?,
            Swatch::ErrorBar(c) => {
                cv.line(&[(mid.0, cy - 11), (mid.0, cy + 11)], *c, 2)?;
                cv.line(&[(mid.0 - 7, cy - 11), (mid.0 + 7, cy - 11)], *c, 2)?;
                cv.line(&[(mid.0 - 7, cy + 11), (mid.0 + 7, cy + 11)], *c, 2)?;
            }
            Swatch::Outline(c) => cv.rect(
                Bbox {
                    x0: cx + 5,
                    y0: cy - 10,
                    x1: cx + 29,
                    y1: cy + 10,
                },
                *c,
                false,
                2,
            )?,
            Swatch::Dot(c) => cv.circle(mid, 7, *c, true)?,
            Swatch::Square(c) => cv.rect(
                Bbox {
                    x0: mid.0 - 7,
                    y0: cy - 7,
                    x1: mid.0 + 7,
                    y1: cy + 7,
                },
                *c,
                true,
                1,
            )?,
            Swatch::Diamond(c) => cv.diamond(mid, 10, *c)?,
            Swatch::Cross(c) => cv.cross(mid, 7, *c, 3)?,
            Swatch::Ring(c) => cv.circle(mid, 7, *c, false)?,
        }
        cv.text(label, cx + 44, cy, t)?;
    }
    Ok(places.last().map_or(y, |p| p.1))
}

/// The height of one legend row.
pub(crate) const LEGEND_ROW: i32 = 30;

/// Where each legend entry goes (the swatch's left edge and the row's middle), given its label's
/// measured width: left to right from `(x, y)`, onto a new row when the next entry would pass
/// `right`. An entry takes 44 px of swatch, its label and 34 px of space.
pub(crate) fn legend_layout(widths: &[i32], x: i32, y: i32, right: i32) -> Vec<(i32, i32)> {
    let (mut cx, mut cy) = (x, y);
    let mut places = Vec::with_capacity(widths.len());
    for w in widths {
        let need = 44 + w + 34;
        if cx + need > right && cx > x {
            cx = x;
            cy += LEGEND_ROW;
        }
        places.push((cx, cy));
        cx += need;
    }
    places
}

/// Fails with [`ChartError::NonFinite`] unless `v` is finite.
pub(crate) fn finite(field: impl FnOnce() -> String, v: f64) -> Result<f64, ChartError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ChartError::NonFinite {
            field: field(),
            value: v,
        })
    }
}

/// `"v2"`, or `"v2 (prompt with examples)"`-style names: the id, plus the display name when it
/// differs.
pub(crate) fn arm_label(a: &itera_core::report::ArmInfo) -> String {
    if a.name.is_empty() || a.name == a.id {
        a.id.clone()
    } else {
        format!("{} · {}", a.id, a.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_units() {
        assert_eq!(pp(-0.033), "−3.3pp");
        assert_eq!(pp_ci(-0.033, -0.088, 0.022), "−3.3pp [−8.8, +2.2]");
        assert_eq!(pct(0.7234), "72.3%");
        assert_eq!(signed_tick(-10.0, 0), "−10");
        assert_eq!(signed_tick(0.0, 0), "0");
        assert_eq!(signed_tick(-0.0001, 1), "0.0");
        assert_eq!(signed_tick(5.0, 0), "+5");
        assert_eq!(usd(1.2, 2), "$1.20");
        assert_eq!(decimals_for(0.25, 0), 2);
        assert_eq!(decimals_for(2.5, 0), 1);
        assert_eq!(decimals_for(0.05, 2), 2);
        assert_eq!(decimals_for(5.0, 0), 0);
    }

    #[test]
    fn ticks_are_nice_and_inside() {
        let (step, t) = nice_ticks(-0.12, 0.21, 8);
        assert!((step - 0.05).abs() < 1e-12, "{step}");
        assert_eq!(t.len(), 7);
        assert!(t.iter().all(|v| *v >= -0.12 && *v <= 0.21));
        assert!(t.contains(&0.0));
    }
}

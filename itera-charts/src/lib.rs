//! # itera-charts
//!
//! The three charts of an itera report, drawn from the report model
//! ([`ReportData`], what `data.json` holds) and nothing else:
//!
//! | kind | file | shows |
//! |---|---|---|
//! | [`ChartKind::ArmBar`] | `charts/arm-bar.{png,svg}` | **dev** score per arm, mean ± 1 SD across trials, the registered threshold as a dashed line at baseline + T |
//! | [`ChartKind::ForestPlot`] | `charts/forest-plot.{png,svg}` | Δ vs baseline on test with its CI, per arm and per slice; 0, threshold and slice loss floor lines; slices whose CI lower bound is below the floor in red |
//! | [`ChartKind::CostVsAccuracy`] | `charts/cost-vs-accuracy.{png,svg}` | cost per 1k rows vs test score with a Wilson interval, the Pareto frontier as a step line, dominated arms grey |
//!
//! PNGs are 1500 px wide (10 in at 150 dpi, the pHYs chunk says so); the forest plot grows in
//! height with its rows. Text uses DejaVu Sans shipped in the crate (no system font lookup, no
//! font-kit), so output is byte-identical across runs and machines. A render that fails returns a
//! typed [`ChartError`] and writes nothing: files are rendered to memory, written to a temporary
//! file in the target directory and renamed.
//!
//! ```
//! use itera_charts::{ChartKind, Format, render};
//! let data = itera_charts::sample::seed_example();
//! let svg = render(ChartKind::ForestPlot, &data, Format::Svg)?;
//! let svg = String::from_utf8(svg).unwrap();
//! assert!(svg.contains("−3.3pp [−8.8, +2.2]")); // v3 on the SMB slice, in red
//! # Ok::<(), itera_charts::ChartError>(())
//! ```
//!
//! Modules: `style` (fonts, palette, formatting, pixel canvas), `arm_bar`, `forest`, `cost`
//! (one chart each), `io` (`data.json` in, files out), `error`.

mod arm_bar;
mod cost;
mod error;
mod forest;
mod interval;
mod io;
mod numbers;
#[doc(hidden)]
pub mod sample;
mod style;

pub use error::ChartError;
pub use io::{load_data_json, write_all, write_chart};

use itera_core::report::ReportData;
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use std::path::Path;
use std::str::FromStr;

/// Which chart.
///
/// ```
/// use itera_charts::ChartKind;
/// let k: ChartKind = "forest-plot".parse()?;
/// assert_eq!(k, ChartKind::ForestPlot);
/// assert_eq!(k.file_stem(), "forest-plot");
/// assert_eq!(ChartKind::ALL.len(), 3);
/// # Ok::<(), itera_charts::ChartError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChartKind {
    /// Dev score per arm, mean ± SD across trials, threshold line.
    ArmBar,
    /// Δ vs baseline with CIs, per arm and slice.
    ForestPlot,
    /// Cost per 1k rows vs test score, Pareto frontier.
    CostVsAccuracy,
}

impl ChartKind {
    /// The three charts, in report order.
    ///
    /// ```
    /// let names: Vec<_> = itera_charts::ChartKind::ALL.iter().map(|k| k.file_stem()).collect();
    /// assert_eq!(names, ["arm-bar", "forest-plot", "cost-vs-accuracy"]);
    /// ```
    pub const ALL: [ChartKind; 3] = [
        ChartKind::ArmBar,
        ChartKind::ForestPlot,
        ChartKind::CostVsAccuracy,
    ];

    /// The CLI name and file stem: `arm-bar`, `forest-plot`, `cost-vs-accuracy`.
    ///
    /// ```
    /// assert_eq!(itera_charts::ChartKind::CostVsAccuracy.file_stem(), "cost-vs-accuracy");
    /// ```
    pub fn file_stem(self) -> &'static str {
        match self {
            ChartKind::ArmBar => "arm-bar",
            ChartKind::ForestPlot => "forest-plot",
            ChartKind::CostVsAccuracy => "cost-vs-accuracy",
        }
    }
}

impl std::fmt::Display for ChartKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_stem())
    }
}

impl FromStr for ChartKind {
    type Err = ChartError;

    /// Parses `arm-bar`, `forest-plot` or `cost-vs-accuracy` (also with `_` for `-`).
    fn from_str(s: &str) -> Result<Self, ChartError> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "arm-bar" => Ok(ChartKind::ArmBar),
            "forest-plot" => Ok(ChartKind::ForestPlot),
            "cost-vs-accuracy" => Ok(ChartKind::CostVsAccuracy),
            _ => Err(ChartError::UnknownKind(s.to_string())),
        }
    }
}

/// Output format.
///
/// ```
/// use itera_charts::Format;
/// assert_eq!(Format::from_path("charts/arm-bar.SVG".as_ref())?, Format::Svg);
/// assert!(Format::from_path("chart.jpg".as_ref()).is_err());
/// assert_eq!(Format::Png.extension(), "png");
/// # Ok::<(), itera_charts::ChartError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// PNG, 150 dpi (1500 px for 10 in).
    Png,
    /// SVG with text as `<text>` elements (font-family DejaVu Sans, then sans-serif).
    Svg,
}

impl Format {
    /// The format named by a path's extension (`.png` / `.svg`, any case).
    ///
    /// ```
    /// assert!(itera_charts::Format::from_path("x".as_ref()).is_err());
    /// ```
    pub fn from_path(path: &Path) -> Result<Format, ChartError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
        {
            Some(e) if e == "png" => Ok(Format::Png),
            Some(e) if e == "svg" => Ok(Format::Svg),
            _ => Err(ChartError::UnknownFormat(path.to_path_buf())),
        }
    }

    /// `png` or `svg`.
    ///
    /// ```
    /// assert_eq!(itera_charts::Format::Svg.extension(), "svg");
    /// ```
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// Renders one chart to the bytes of a PNG or SVG file. Validates the data first (every number
/// the chart uses must be finite; a baseline must exist), so a failure costs no drawing.
///
/// ```
/// use itera_charts::{ChartKind, Format, render};
/// let data = itera_charts::sample::seed_example();
/// let png = render(ChartKind::ArmBar, &data, Format::Png)?;
/// assert_eq!(&png[1..4], b"PNG");
///
/// let mut bad = data.clone();
/// bad.dev_aggregate.get_mut("v2").unwrap().sd = f64::NAN;
/// let err = render(ChartKind::ArmBar, &bad, Format::Png).unwrap_err();
/// assert!(err.to_string().contains("dev_aggregate[\"v2\"].sd"));
/// # Ok::<(), itera_charts::ChartError>(())
/// ```
pub fn render(kind: ChartKind, data: &ReportData, format: Format) -> Result<Vec<u8>, ChartError> {
    style::ensure_fonts()?;
    match kind {
        ChartKind::ArmBar => draw_any(&arm_bar::ArmBar::prepare(data)?, format),
        ChartKind::ForestPlot => draw_any(&forest::Forest::prepare(data)?, format),
        ChartKind::CostVsAccuracy => draw_any(&cost::Cost::prepare(data)?, format),
    }
}

/// A chart whose data has been validated, ready to draw on any backend.
pub(crate) trait Chart {
    /// Pixel size.
    fn size(&self) -> (u32, u32);
    /// Draws everything.
    fn draw<DB: DrawingBackend>(&self, cv: &style::Canvas<DB>) -> Result<(), ChartError>;
}

fn draw_any<C: Chart>(chart: &C, format: Format) -> Result<Vec<u8>, ChartError> {
    let (w, h) = chart.size();
    match format {
        Format::Svg => {
            let mut s = String::new();
            {
                let cv = style::Canvas::new(SVGBackend::with_string(&mut s, (w, h)), format);
                cv.fill(style::palette::WHITE)?;
                chart.draw(&cv)?;
                cv.present()?;
            }
            Ok(s.into_bytes())
        }
        Format::Png => {
            let mut buf = vec![255u8; w as usize * h as usize * 3];
            {
                let cv = style::Canvas::new(BitMapBackend::with_buffer(&mut buf, (w, h)), format);
                cv.fill(style::palette::WHITE)?;
                chart.draw(&cv)?;
                cv.present()?;
            }
            io::encode_png(&buf, w, h)
        }
    }
}

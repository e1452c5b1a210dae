//! `data.json` in, chart files out. Every write is atomic: the chart is rendered to memory, written
//! to a hidden temporary file in the target directory and renamed over the target, so a failed
//! render or write never leaves a partial or blank file.

use crate::{ChartError, ChartKind, Format, render};
use itera_core::report::ReportData;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Pixels per metre at 150 dpi (150 / 0.0254), written into the PNG's pHYs chunk.
const PX_PER_METRE_150_DPI: u32 = 5906;

/// Reads a report model from a `data.json` file.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("data.json");
/// let data = itera_charts::sample::seed_example();
/// std::fs::write(&path, serde_json::to_vec(&data).unwrap()).unwrap();
/// assert_eq!(itera_charts::load_data_json(&path)?, data);
/// assert!(itera_charts::load_data_json(&dir.path().join("missing.json")).is_err());
/// # Ok::<(), itera_charts::ChartError>(())
/// ```
pub fn load_data_json(path: &Path) -> Result<ReportData, ChartError> {
    let bytes = fs::read(path).map_err(|source| ChartError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ChartError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders `kind` and writes it to `path`, the format chosen by the extension (`.png` / `.svg`).
/// The parent directory must exist. On any error no file is left at `path` (an existing file
/// there is left untouched).
///
/// ```
/// use itera_charts::{ChartKind, write_chart};
/// let dir = tempfile::tempdir().unwrap();
/// let data = itera_charts::sample::seed_example();
/// let out = dir.path().join("forest.svg");
/// write_chart(ChartKind::ForestPlot, &data, &out)?;
/// assert!(std::fs::read_to_string(&out).unwrap().starts_with("<svg"));
/// assert!(write_chart(ChartKind::ForestPlot, &data, &dir.path().join("forest.gif")).is_err());
/// # Ok::<(), itera_charts::ChartError>(())
/// ```
pub fn write_chart(kind: ChartKind, data: &ReportData, path: &Path) -> Result<(), ChartError> {
    let format = Format::from_path(path)?;
    let bytes = render(kind, data, format)?;
    write_atomic(path, &bytes)
}

/// Renders all three charts as PNG and SVG into `experiment_dir/charts/` (created if needed):
/// `arm-bar`, `forest-plot`, `cost-vs-accuracy`, each `.png` and `.svg`. All six are rendered
/// before the first is written, so invalid data writes nothing. Returns the paths written, in
/// that order.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let data = itera_charts::sample::seed_example();
/// let paths = itera_charts::write_all(&data, dir.path())?;
/// assert_eq!(paths.len(), 6);
/// assert!(paths[0].ends_with("charts/arm-bar.png"));
/// # Ok::<(), itera_charts::ChartError>(())
/// ```
pub fn write_all(data: &ReportData, experiment_dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let mut rendered = Vec::new();
    for kind in ChartKind::ALL {
        for format in [Format::Png, Format::Svg] {
            rendered.push((kind, format, render(kind, data, format)?));
        }
    }
    let dir = experiment_dir.join("charts");
    fs::create_dir_all(&dir).map_err(|source| ChartError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut paths = Vec::new();
    for (kind, format, bytes) in rendered {
        let path = dir.join(format!("{}.{}", kind.file_stem(), format.extension()));
        write_atomic(&path, &bytes)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ChartError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ChartError::Io { path: p, source }
    };
    let name = path
        .file_name()
        .ok_or_else(|| ChartError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_string_lossy()
        .into_owned();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Encodes an RGB8 buffer as PNG with a 150 dpi pHYs chunk. Deterministic: no time chunk.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: PX_PER_METRE_150_DPI,
            yppu: PX_PER_METRE_150_DPI,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc
            .write_header()
            .map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| ChartError::Encode(e.to_string()))?;
    }
    Ok(out)
}

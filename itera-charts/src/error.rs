//! The one error type of the crate: every failure names what went wrong and where, and a chart
//! that fails leaves no file behind.

use std::path::PathBuf;

/// Why a chart could not be rendered or written.
///
/// ```
/// use itera_charts::{ChartError, ChartKind};
/// let err = "pie".parse::<ChartKind>().unwrap_err();
/// assert!(matches!(err, ChartError::UnknownKind(ref k) if k == "pie"));
/// assert!(err.to_string().contains("arm-bar"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// The chart kind is not one of `arm-bar`, `forest-plot`, `cost-vs-accuracy`.
    #[error("unknown chart kind {0:?} (expected arm-bar, forest-plot or cost-vs-accuracy)")]
    UnknownKind(String),
    /// The output file's extension is neither `.png` nor `.svg`.
    #[error("cannot tell the output format of {0}: the file name must end in .png or .svg")]
    UnknownFormat(PathBuf),
    /// A number the chart needs is NaN or infinite.
    #[error("non-finite value in {field}: {value}")]
    NonFinite {
        /// Where in the report model, e.g. `dev_aggregate["v2"].sd`.
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number is finite but impossible (e.g. a negative SD, an interval whose bounds do not
    /// contain its estimate).
    #[error("invalid value in {field}: {reason}")]
    Invalid {
        /// Where in the report model.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The report model lacks something the chart needs (e.g. no baseline, or an arm without a
    /// dev aggregate).
    #[error("missing data: {0}")]
    MissingData(String),
    /// The shipped font could not be registered with plotters.
    #[error("font: {0}")]
    Font(String),
    /// plotters failed while drawing.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `data.json` is not a valid report model.
    #[error("cannot parse {path} as a report (data.json): {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// Maps any plotters error into [`ChartError::Draw`].
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

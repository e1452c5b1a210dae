//! The shared vocabulary of itera-stats: [`Estimate`], [`ConfidenceInterval`] and the one error
//! type, [`StatsError`], plus the input checks every function uses.

use serde::{Deserialize, Serialize};

/// Everything that can be wrong with the input of a statistic. Each message names the problem
/// and what to pass instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// An input slice was empty.
    #[error("{what} is empty: pass at least {min} value(s)")]
    Empty {
        /// Which input.
        what: &'static str,
        /// The fewest values the statistic is defined for.
        min: usize,
    },
    /// Too few values for the statistic to be defined (e.g. a variance of one value).
    #[error("{what} has {got} value(s): the statistic needs at least {min}")]
    TooFew {
        /// Which input.
        what: &'static str,
        /// How many were given.
        got: usize,
        /// How many are needed.
        min: usize,
    },
    /// Two slices that must be paired have different lengths.
    #[error(
        "length mismatch: {left} has {left_len} values but {right} has {right_len}; pass paired slices of equal length"
    )]
    LengthMismatch {
        /// Name of the first slice.
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// Name of the second slice.
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// A value was NaN or infinite.
    #[error("{what}[{index}] is {value}: every value must be finite (drop or score the row first)")]
    NotFinite {
        /// Which input.
        what: &'static str,
        /// Index of the first bad value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A confidence level (or α, or power) outside the open interval (0, 1).
    #[error("{what} = {value} is outside (0, 1): pass e.g. 0.95")]
    BadLevel {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// Any other out-of-domain argument.
    #[error("invalid argument {what}: {why}")]
    Invalid {
        /// Which parameter.
        what: &'static str,
        /// What is wrong and what is expected.
        why: String,
    },
}

/// A two-sided confidence interval at a stated level.
///
/// ```
/// use itera_stats::ConfidenceInterval;
/// let ci = ConfidenceInterval { level: 0.95, lower: -0.1, upper: 0.2 };
/// assert!(ci.contains(0.0) && !ci.excludes_zero());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

impl ConfidenceInterval {
    /// Whether `x` lies within `[lower, upper]`.
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }

    /// Whether the interval lies entirely above or entirely below 0.
    pub fn excludes_zero(&self) -> bool {
        self.lower > 0.0 || self.upper < 0.0
    }

    /// Upper minus lower.
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }
}

/// A point estimate with its confidence interval, standard error (when the method has one) and
/// the name of the method that produced it — the shape of criterion's `Estimate`.
///
/// ```
/// use itera_stats::Estimate;
/// let e = Estimate::new(0.1, 0.95, 0.02, 0.18, Some(0.04), "paired-t");
/// assert_eq!(e.method, "paired-t");
/// assert!(e.ci.excludes_zero());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub point: f64,
    /// The confidence interval.
    pub ci: ConfidenceInterval,
    /// Standard error, where the method defines one.
    pub se: Option<f64>,
    /// Method name, e.g. `"wilson"`, `"paired-t"`, `"cluster-t"`, `"bca-bootstrap"`.
    pub method: String,
}

impl Estimate {
    /// Builds an estimate.
    pub fn new(
        point: f64,
        level: f64,
        lower: f64,
        upper: f64,
        se: Option<f64>,
        method: &str,
    ) -> Self {
        Estimate {
            point,
            ci: ConfidenceInterval {
                level,
                lower,
                upper,
            },
            se,
            method: method.to_string(),
        }
    }
}

/// Rejects NaN and infinities, naming the first bad index.
///
/// ```
/// assert!(itera_stats::check_finite("x", &[1.0, f64::NAN]).is_err());
/// ```
pub fn check_finite(what: &'static str, xs: &[f64]) -> Result<(), StatsError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(StatsError::NotFinite {
            what,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

/// Rejects a level, α or power outside (0, 1).
///
/// ```
/// assert!(itera_stats::check_level("level", 1.0).is_err());
/// assert!(itera_stats::check_level("level", 0.95).is_ok());
/// ```
pub fn check_level(what: &'static str, level: f64) -> Result<(), StatsError> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::BadLevel { what, value: level })
    }
}

//! # itera-stats
//!
//! Pure statistics for paired LLM experiments: no I/O, no async, deterministic given a seed.
//! Every function takes plain slices of numbers, rejects bad input with a typed [`StatsError`]
//! (never a panic), and returns serde result types shaped like criterion's
//! [`Estimate`] `{ point, ci: { level, lower, upper }, se, method }`.
//!
//! Each function's doc comment names its method and source; the tests check it against
//! reference values from scipy / statsmodels or a published table.
//!
//! ```
//! use itera_stats::Estimate;
//! let e = Estimate::new(0.5, 0.95, 0.4, 0.6, Some(0.05), "example");
//! assert!(e.ci.contains(0.5));
//! ```

pub mod agreement;
pub mod binary;
pub mod bootstrap;
mod estimate;
pub mod multiplicity;
pub mod paired;
pub mod power;
pub mod proportions;
pub mod select;
pub mod simulate;
pub mod trials;

pub use estimate::{ConfidenceInterval, Estimate, StatsError, check_finite, check_level};

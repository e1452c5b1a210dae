//! The distribution audit (G19): per split × slice (and failure mode, G21) counts against the
//! source's shares, printed before any scoring so an empty or skewed slice is seen up front.

use crate::data::split::Part;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One slice's row counts in the source and in each part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceAudit {
    /// The slice.
    pub slice: String,
    /// Rows in the source.
    pub source: usize,
    /// Share of the source.
    pub source_share: f64,
    /// Rows in train.
    pub train: usize,
    /// Rows in dev.
    pub dev: usize,
    /// Rows in test.
    pub test: usize,
}

impl SliceAudit {
    pub(crate) fn count(&self, part: Part) -> usize {
        match part {
            Part::Train => self.train,
            Part::Dev => self.dev,
            Part::Test => self.test,
        }
    }
}

/// One failure-mode category's row counts (G21).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeAudit {
    /// The category.
    pub mode: String,
    /// Rows tagged with it in the source.
    pub source: usize,
    /// In train.
    pub train: usize,
    /// In dev.
    pub dev: usize,
    /// In test.
    pub test: usize,
}

/// The distribution audit (G19): per part × slice counts against the source's shares, failure
/// modes per part, and warnings (e.g. fewer rows than the threshold's heuristic floor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionAudit {
    /// Rows in the source.
    pub total: usize,
    /// Rows per part.
    pub parts: BTreeMap<Part, usize>,
    /// One line per slice.
    pub slices: Vec<SliceAudit>,
    /// One line per failure-mode category (empty without a taxonomy).
    pub failure_modes: Vec<ModeAudit>,
    /// Number of dev folds in k-fold mode (below 50 rows), else `None`.
    pub kfold: Option<u32>,
    /// Things a reviewer should know.
    pub warnings: Vec<String>,
}

impl DistributionAudit {
    /// Rows in the source.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Rows of `slice` in `part` (`"train"`, `"dev"`, `"test"`); 0 for an unknown name.
    pub fn count(&self, part: &str, slice: &str) -> usize {
        let Some(p) = Part::ALL.into_iter().find(|p| p.name() == part) else {
            return 0;
        };
        self.slices
            .iter()
            .find(|s| s.slice == slice)
            .map_or(0, |s| s.count(p))
    }
}

impl fmt::Display for DistributionAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .slices
            .iter()
            .map(|s| s.slice.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:<width$}  {:>14}  {:>14}  {:>14}  {:>14}",
            "slice", "source", "train", "dev", "test"
        )?;
        let cell = |n: usize, of: usize| {
            let share = if of == 0 {
                0.0
            } else {
                100.0 * n as f64 / of as f64
            };
            format!("{n} ({share:.1}%)")
        };
        for s in &self.slices {
            writeln!(
                f,
                "{:<width$}  {:>14}  {:>14}  {:>14}  {:>14}",
                s.slice,
                cell(s.source, self.total),
                cell(s.train, self.parts.get(&Part::Train).copied().unwrap_or(0)),
                cell(s.dev, self.parts.get(&Part::Dev).copied().unwrap_or(0)),
                cell(s.test, self.parts.get(&Part::Test).copied().unwrap_or(0)),
            )?;
        }
        let part = |p: Part| self.parts.get(&p).copied().unwrap_or(0);
        writeln!(
            f,
            "{:<width$}  {:>14}  {:>14}  {:>14}  {:>14}",
            "total",
            self.total,
            part(Part::Train),
            part(Part::Dev),
            part(Part::Test)
        )?;
        for m in &self.failure_modes {
            writeln!(
                f,
                "failure mode {}: source {}, train {}, dev {}, test {}",
                m.mode, m.source, m.train, m.dev, m.test
            )?;
        }
        if let Some(k) = self.kfold {
            writeln!(
                f,
                "fewer than 50 rows: dev is used in {k} stratified folds, train is empty; reveals come from the open folds (fold 0 in sprint 1) and generalization is judged on the closed ones; test stays sealed"
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

//! The [`Refiner`] trait: code (an LLM, a search) that proposes the next hypothesis and arm
//! version from a diagnosis. The sprint cap and the gate apply to it exactly as to a person.

use crate::data::row::Row;
use crate::iterate::diagnosis::Diagnosis;
use crate::iterate::gate::ChangeClass;
use crate::run::arm::Arm;
use async_trait::async_trait;

/// A proposed iteration.
pub struct Proposal {
    /// The hypothesis, one sentence, recorded before the re-score (G33).
    pub hypothesis: String,
    /// The new arm version (same id, new spec).
    pub arm: Box<dyn Arm>,
    /// How the refiner classifies its change (G35); `None` counts as a hardcode.
    pub class: Option<ChangeClass>,
}

impl std::fmt::Debug for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposal")
            .field("hypothesis", &self.hypothesis)
            .field("arm", &self.arm.id())
            .field("class", &self.class)
            .finish()
    }
}

/// Proposes the next version of an arm. Sees the diagnosis (ids, scores, diffs — never a dev
/// row's input unless revealed), the arm's current spec and the train rows.
///
/// ```
/// use async_trait::async_trait;
/// use itera_core::iterate::refiner::{Proposal, Refiner};
/// use itera_core::{iterate::diagnosis::Diagnosis, Row};
///
/// struct GiveUp;
/// #[async_trait]
/// impl Refiner for GiveUp {
///     async fn propose(&self, _: &Diagnosis, _: &str, _: &str, _: &[Row]) -> Option<Proposal> { None }
/// }
/// let _object_safe: Box<dyn Refiner> = Box::new(GiveUp);
/// ```
#[async_trait]
pub trait Refiner: Send + Sync {
    /// The next iteration for `arm`, or `None` to stop.
    async fn propose(
        &self,
        diagnosis: &Diagnosis,
        arm: &str,
        current_spec: &str,
        train: &[Row],
    ) -> Option<Proposal>;
}

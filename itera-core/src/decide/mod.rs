//! Phase 5's rules: the verdict as a pure function of the test-set evidence and the
//! registration — R1 (aggregate effect against T), R2 (noise), R3 (per-slice loss floor), R4
//! (highest-severity failure mode), R5 (severity weighting) — with the multi-arm choice, the
//! overfit alarm and a rationale generated from the rule trace.
//!
//! Guards here: G40 (the registered rules decide), G41 (per-slice loss floor), G42, G43 (severity
//! disagreement surfaced), G44 (overfit alarm), G45 (no effect ≠ no power: inconclusive). The test
//! pass that gathers the evidence is [`crate::experiment`]'s; this module never touches I/O.
//!
//! [`slices`] holds R3's three states per major slice (safe / harmed / unknown) and the per-slice
//! planner's "need ≈ N"; [`family`] the scales the rules compare on — Bonferroni-level CIs with
//! several arms (and why not Holm), R2's σ on the test scale, the overfit alarm's SE; [`power`]
//! the one planner (aggregate power for T per arm, rows needed per major slice) that `itera plan`
//! prints and the pre-test check enforces (G20).

pub mod family;
pub mod power;
mod rationale;
pub mod rules;
pub mod slices;

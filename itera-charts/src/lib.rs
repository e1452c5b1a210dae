//! # itera-charts
//!
//! Will own the three charts of an itera report — `arm-bar` (dev score per arm, mean ± SD across
//! trials, threshold line), `forest-plot` (Δ vs baseline with 95% CIs, aggregate and per slice,
//! threshold and loss-floor lines, failing slices in red) and `cost-vs-accuracy` (cost per 1k rows
//! vs test score with the Pareto frontier) — rendered to PNG and SVG from the report model with a
//! font shipped in the crate, never a system font. Empty until the charts issue lands; nothing
//! here is a stub that pretends to draw.

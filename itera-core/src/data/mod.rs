//! Phase 1, source and split: the [`Row`](row::Row) model, the [`Dataset`](dataset::Dataset)
//! trait and in-memory sets, the CSV / JSONL loaders, and the seeded stratified split with its
//! distribution audit and the sealed test set's hash commitment.
//!
//! Guards here: G13 (real data: rows come from a named source), G14 (seeded stratified split,
//! same inputs → same split on every machine), G15 (test rows sealed behind a commitment; no
//! public path returns them), G19 (distribution audit; an empty slice in a split blocks unless
//! overridden), G21 (stratify by failure mode). This layer uses only [`crate::frame`] and the
//! hashing helpers.

pub mod audit;
pub mod dataset;
pub mod load;
pub(crate) mod reread;
pub mod row;
pub mod split;

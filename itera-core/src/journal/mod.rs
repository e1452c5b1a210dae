//! The journal: the hash-chained, append-only record of everything an experiment did, and the
//! [`Store`](store::Store) that keeps it in a directory or in memory.
//!
//! Every [`Event`](event::Event) is written only by the phase methods of this crate: the variants
//! are `#[non_exhaustive]` and appending is crate-private, so a caller can read a journal
//! ([`Store::entries`](store::Store::entries)) but never forge a line. Any edited byte breaks the
//! chain and the store refuses to open (G1, G7): a writable open checks the prefix its
//! checkpoint covers as one digest (`checkpoint.rs`), and any mismatch reads the journal whole.
//! The self-audit is computed from these lines.
//! This layer uses only [`crate::frame`], [`crate::data`] and the hashing helpers; the records
//! later phases journal are defined in [`record`].

pub(crate) mod chain;
mod checkpoint;
mod decode;
pub mod event;
pub mod lock;
pub mod marker;
mod opening;
pub mod record;
pub mod spent;
pub mod store;
pub mod store_error;
mod writer;

#[cfg(test)]
mod writer_tests;

#[cfg(test)]
mod codec_tests;

#[cfg(test)]
mod checkpoint_tests;

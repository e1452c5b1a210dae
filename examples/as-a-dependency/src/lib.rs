//! itera-core as a dependency: this package depends on `itera-core` and `tokio` only, and its
//! test (`tests/as_a_dependency.rs`) writes a custom arm, a custom judge and in-memory data
//! against `itera_core::prelude` and runs the whole method to three verdicts. If the prelude
//! stops carrying something a user needs, this package stops compiling.

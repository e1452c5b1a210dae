//! # itera-cli
//!
//! The `itera` command line as a library (the binary in `main.rs` only calls [`cli::main_with_args`]):
//! TOML experiment files ([`config`]), the walk through the library's typestate on an experiment
//! directory ([`pipeline`]), progress bars ([`progress`]), the subcommands ([`cli`]) and the exit
//! codes a CI job can gate on ([`error`]). The built-in arms ([`replay`], [`command`], [`openai`]),
//! the `recorded` scorer ([`recorded`]) and the LLM judge ([`llm_judge`]) live in
//! [`itera_core::builtin`]; they are re-exported here under their former paths.

pub mod assemble;
pub mod cli;
pub mod config;
pub mod error;
pub mod init;
pub(crate) mod junit;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod status;
pub mod summary;
pub(crate) mod summary_md;

pub use itera_core::builtin::http as openai;
pub use itera_core::builtin::{anthropic, command, llm_judge, recorded, replay};

/// Lowercase hex SHA-256 of some bytes (the hash the journal uses).
pub fn hex_sha256(bytes: &[u8]) -> String {
    itera_core::hash::sha256_hex(bytes)
}

//! # itera-cli
//!
//! The `itera` command line as a library (the binary in `main.rs` only calls [`cli::main_with_args`]):
//! TOML experiment files ([`config`]), the built-in arms ([`replay`], [`command`], [`openai`]),
//! the `recorded` scorer ([`recorded`]) and the LLM judge ([`llm_judge`]), the walk through the
//! library's typestate on an experiment directory ([`pipeline`]), progress bars ([`progress`]),
//! the subcommands ([`cli`]) and the exit codes a CI job can gate on ([`error`]).

pub mod cli;
pub mod command;
pub mod config;
pub mod error;
pub mod init;
pub mod llm_judge;
pub mod openai;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod recorded;
pub mod replay;
pub mod status;
pub mod summary;

/// Lowercase hex SHA-256 of some bytes (the hash the journal uses).
pub fn hex_sha256(bytes: &[u8]) -> String {
    itera_core::hash::sha256_hex(bytes)
}

//! # itera (the command line)
//!
//! Will own the thin `itera` binary: TOML experiment files, the built-in arms (replay, command,
//! OpenAI-compatible HTTP) and judges, progress bars and exit codes a CI job can gate on. Every
//! number it prints comes from `itera-core`. Until the CLI issue lands it only says so.

fn main() {
    eprintln!(
        "itera: the command line is not built yet; run `cargo run -p itera-examples --example quickstart` \
         for the library's registration, split and distribution audit"
    );
    std::process::exit(2);
}

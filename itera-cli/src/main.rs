//! # itera (the command line)
//!
//! The thin `itera` binary: see the `itera_cli` library for the commands, the experiment file and
//! the exit codes. Every number it prints comes from `itera-core`.

fn main() {
    std::process::exit(itera_cli::cli::main_with_args(std::env::args_os()));
}

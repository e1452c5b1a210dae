//! Cross-judge agreement on real data: gpt-3.5-turbo-0301's AlpacaEval outputs, scored against
//! the `gpt4_1106_preview` reference by every annotator that did so, compared pairwise —
//! direction agreement and Cohen's κ (see `itera_examples::cross_judge`).
//!
//! ```text
//! cargo run -p itera-examples --example cross_judge_real [-- MODEL [REFERENCE]]
//! ```
//!
//! Reads `alpaca_eval_annotations.csv` from `$ITERA_SHARED_DATA` (default `../shared/data`
//! beside the repository); prints one "skipped" line when the data is absent.

use itera_examples::cross_judge::{pairwise, read_preferences, table};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .unwrap_or_else(|| "gpt-3.5-turbo-0301".to_string());
    let reference = args
        .next()
        .unwrap_or_else(|| "gpt4_1106_preview".to_string());
    let dir = std::env::var_os("ITERA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let file = dir.join("alpaca_eval_annotations.csv");
    if !file.is_file() {
        println!(
            "skipped: shared data not found at {} (set ITERA_SHARED_DATA)",
            dir.display()
        );
        return ExitCode::SUCCESS;
    }
    let prefs = match read_preferences(&file, &model, &reference) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cross_judge_real: {e}");
            return ExitCode::FAILURE;
        }
    };
    if prefs.len() < 2 {
        eprintln!(
            "cross_judge_real: {} annotator(s) scored {model} against {reference}; need at least 2",
            prefs.len()
        );
        return ExitCode::FAILURE;
    }
    match pairwise(&prefs) {
        Ok(pairs) => {
            println!(
                "{model} vs reference {reference}: {} annotators ({})\n",
                prefs.len(),
                prefs.keys().cloned().collect::<Vec<_>>().join(", ")
            );
            print!("{}", table(&pairs));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cross_judge_real: {e}");
            ExitCode::FAILURE
        }
    }
}

//! The subcommands, their arguments (clap) and their exit codes.
//!
//! | command | does | exit |
//! |---|---|---|
//! | `run FILE [--out DIR] [--json] [--stop-after dev] [--accept-underpowered REASON] [--junit FILE] [--summary-md FILE] [--spent-ledger FILE]` | the whole pipeline, resumable; test rows another experiment opened are refused at the split (exit 2, G15); an underpowered design is refused before the test set opens (exit 1) unless accepted | decision code |
//! | `init [PATH]` | writes a commented experiment file | 0 |
//! | `plan --baseline-rate P --threshold-pp T` / `plan --pilot DIR` | rows and trials needed | 0 |
//! | `status DIR` | phases done, calls, sprint, gate, verdict | 0 |
//! | `diagnose DIR` | per-row diagnosis of dev (G32) | 0 |
//! | `reveal DIR ROW_ID` | a dev row's raw input, journaled (G17) | 0 |
//! | `label-audit DIR [--record agree=K,total=N]` | synthetic source: the label-audit sample of the baseline's failing dev rows (journaled, G17), or records the reviewer's agreement (G18) | 0 |
//! | `iterate DIR --arm ID --hypothesis TEXT [--class C]` | records the edited arm as a new version and re-scores dev | 0 |
//! | `gate DIR [--classify ARM:VERSION:CLASS]` | the generalization gate (G35) | 0 |
//! | `verdict DIR [--accept-underpowered REASON] [--junit FILE] [--summary-md FILE]` | gate, seal, the power check (G20: an underpowered design exits 1 unless accepted), the one test pass | decision code |
//! | `report DIR [--summary-md FILE]` | re-renders the three charts from `data.json` | 0 |
//! | `chart KIND --data data.json --out FILE` | one chart | 0 |
//! | `verify DIR` | re-checks every hash | 0, or 2 on tampering |
//!
//! Decision codes: 0 ship, 10 ship narrowly, 11 kill, 12 inconclusive. Errors: 1 while running,
//! 2 bad input or usage (see [`crate::error`]).

/// `println!` to stdout that never panics: a closed stdout (`itera reveal … | head -1`) once
/// ended the command with a panic (exit 101, item 6). Output is a courtesy copy — everything is
/// already in the directory — so a write error is dropped and the command ends normally (test:
/// a_closed_stdout_ends_quietly in tests/bad_input.rs).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `print!` to stdout that never panics (see `outln!`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

mod iterate;
mod run;

use crate::error::{BAD_INPUT, CliError, RUN_ERROR};
use crate::pipeline;
use clap::{Parser, Subcommand};
use itera_core::RowId;
use iterate::{gate, iterate, scored_from_dir};
use run::{init, report, run};
use std::ffi::OsString;
use std::path::PathBuf;

/// itera: pre-registered LLM experiments that end in ship, ship narrowly, kill or inconclusive.
#[derive(Debug, Parser)]
#[command(name = "itera", version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment file end to end (resumable: re-running continues from the journal).
    Run {
        /// The experiment file (TOML).
        file: PathBuf,
        /// The experiment directory (default: `experiments/YYYY-MM-DD-<name>/`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the verdict summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Stop after a phase (`dev`: score dev and stop, to diagnose and iterate by hand).
        #[arg(long, value_parser = ["dev"])]
        stop_after: Option<String>,
        /// Go ahead although the design is underpowered for T or a major slice (G20), for this
        /// reason (journaled and shown; the self-audit's power item fails). Without it (or
        /// `accept_underpowered` under `[run]`) an underpowered design is refused with exit 1
        /// before the test set opens.
        #[arg(long, value_name = "REASON")]
        accept_underpowered: Option<String>,
        /// Also write the verdict as JUnit XML (one test case per candidate arm) to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write a Markdown summary (for a PR comment or $GITHUB_STEP_SUMMARY) to FILE.
        #[arg(long, value_name = "FILE")]
        summary_md: Option<PathBuf>,
        /// The spent-test ledger (G15) checked at the split and appended to when the test set
        /// opens (default: .itera-spent-tests.jsonl beside the experiment directory).
        #[arg(long, value_name = "FILE")]
        spent_ledger: Option<PathBuf>,
    },
    /// Write a commented experiment file documenting every key.
    Init {
        /// Where (default: experiment.toml); an existing file is not overwritten.
        path: Option<PathBuf>,
    },
    /// How many rows (and trials) a threshold needs.
    Plan {
        /// The baseline's success rate (binary scores), e.g. 0.7.
        #[arg(long)]
        baseline_rate: Option<f64>,
        /// The threshold in pp (default with --pilot: the registered one).
        #[arg(long)]
        threshold_pp: Option<f64>,
        /// Assumed P(the arms disagree on a row) (default: independent errors).
        #[arg(long)]
        discordance: Option<f64>,
        /// A scored experiment directory: plan from its dev variance.
        #[arg(long)]
        pilot: Option<PathBuf>,
        /// Significance level.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Target power.
        #[arg(long, default_value_t = 0.8)]
        power: f64,
        /// The test share of the split.
        #[arg(long, default_value_t = 0.2)]
        test_share: f64,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Where an experiment stands (from its journal; no calls).
    Status {
        /// The experiment directory.
        dir: PathBuf,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The per-row diagnosis of dev (wins/losses by slice, failure mode, cluster; flags).
    Diagnose {
        /// The experiment directory.
        dir: PathBuf,
        /// The experiment file (default: the copy kept in the directory).
        #[arg(long)]
        experiment: Option<PathBuf>,
    },
    /// Reveal a dev row's raw input (journaled: it joins the seen set the gate checks).
    Reveal {
        /// The experiment directory.
        dir: PathBuf,
        /// The row id.
        row_id: String,
        /// The experiment file (default: the copy kept in the directory).
        #[arg(long)]
        experiment: Option<PathBuf>,
    },
    /// Synthetic source (G18): show the label-audit sample — a seeded sample of at most 30 dev
    /// rows the baseline fails, with input, label and slice (journaled: they join the seen set)
    /// — or, with `--record agree=K,total=N`, record how many labels the reviewer confirmed.
    /// Sealing a synthetic source is refused until it is recorded.
    LabelAudit {
        /// The experiment directory.
        dir: PathBuf,
        /// `agree=K,total=N`: K of the N shown rows have a correct label.
        #[arg(long)]
        record: Option<String>,
        /// The experiment file (default: the copy kept in the directory).
        #[arg(long)]
        experiment: Option<PathBuf>,
    },
    /// Record the arm as edited in the experiment file as a new version, and re-score it on dev.
    Iterate {
        /// The experiment directory.
        dir: PathBuf,
        /// The arm.
        #[arg(long)]
        arm: String,
        /// The hypothesis, written before the re-score.
        #[arg(long)]
        hypothesis: String,
        /// How the change generalizes.
        #[arg(long, value_parser = ["universal", "lifted-out", "deleted", "hardcode"])]
        class: Option<String>,
        /// The edited experiment file (default: the file the run started from).
        #[arg(long)]
        experiment: Option<PathBuf>,
    },
    /// Run the generalization gate over this sprint's changes.
    Gate {
        /// The experiment directory.
        dir: PathBuf,
        /// Classify a change: ARM:VERSION:CLASS (universal, lifted-out, deleted, hardcode).
        #[arg(long)]
        classify: Vec<String>,
        /// The experiment file (default: the copy kept in the directory).
        #[arg(long)]
        experiment: Option<PathBuf>,
    },
    /// The gate, the seal and the one test pass.
    Verdict {
        /// The experiment directory.
        dir: PathBuf,
        /// The experiment file (default: the file the run started from, else the kept copy).
        #[arg(long)]
        experiment: Option<PathBuf>,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Go ahead although the design is underpowered for T or a major slice (G20), for this
        /// reason (journaled and shown; the self-audit's power item fails). Without it (or
        /// `accept_underpowered` under `[run]`) an underpowered design is refused with exit 1
        /// before the test set opens.
        #[arg(long, value_name = "REASON")]
        accept_underpowered: Option<String>,
        /// Also write the verdict as JUnit XML (one test case per candidate arm) to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write a Markdown summary (for a PR comment or $GITHUB_STEP_SUMMARY) to FILE.
        #[arg(long, value_name = "FILE")]
        summary_md: Option<PathBuf>,
    },
    /// Re-render the three charts and conclusion.md from data.json, verdict.json and the journal.
    Report {
        /// The experiment directory.
        dir: PathBuf,
        /// Also write a Markdown summary (for a PR comment or $GITHUB_STEP_SUMMARY) to FILE.
        #[arg(long, value_name = "FILE")]
        summary_md: Option<PathBuf>,
    },
    /// Render one chart from a data.json.
    Chart {
        /// arm-bar, forest-plot or cost-vs-accuracy.
        kind: String,
        /// The data.json.
        #[arg(long)]
        data: PathBuf,
        /// The output file (.png or .svg).
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-check every hash in an experiment directory (exit 2 on tampering).
    Verify {
        /// The experiment directory.
        dir: PathBuf,
    },
}

/// Parses arguments, runs the command, prints errors; returns the exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => BAD_INPUT,
            };
        }
    };
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("itera: cannot start the async runtime: {e}");
            return RUN_ERROR;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr().lock(), "itera: {}", e.message);
            e.code
        }
    }
}

async fn dispatch(cli: Cli) -> Result<i32, CliError> {
    let bars = !cli.quiet;
    match cli.command {
        Command::Run {
            file,
            out,
            json,
            stop_after,
            accept_underpowered,
            junit,
            summary_md,
            spent_ledger,
        } => {
            let ci = run::CiOutputs {
                junit,
                summary_md,
                accept_underpowered,
            };
            run(
                &file,
                out,
                json,
                stop_after.as_deref(),
                bars,
                &ci,
                spent_ledger,
            )
            .await
        }
        Command::Init { path } => init(path),
        Command::Plan {
            baseline_rate,
            threshold_pp,
            discordance,
            pilot,
            alpha,
            power,
            test_share,
            json,
        } => {
            let v = match (pilot, baseline_rate) {
                (Some(dir), _) => crate::plan::from_pilot(&dir, threshold_pp, test_share).await?,
                (None, Some(rate)) => {
                    let t = threshold_pp.ok_or_else(|| {
                        CliError::bad("--threshold-pp is required with --baseline-rate, e.g. --threshold-pp 5")
                    })?;
                    crate::plan::from_rate(&crate::plan::RatePlan {
                        baseline_rate: rate,
                        threshold_pp: t,
                        discordance,
                        alpha,
                        power,
                        test_share,
                    })?
                }
                (None, None) => {
                    return Err(CliError::bad(
                        "give --baseline-rate P --threshold-pp T, or --pilot DIR (a scored experiment)",
                    ));
                }
            };
            print_value(&v, json, crate::plan::text);
            Ok(0)
        }
        Command::Status { dir, json } => {
            let v = crate::status::status(&dir)?;
            print_value(&v, json, crate::status::status_text);
            Ok(0)
        }
        Command::Diagnose { dir, experiment } => {
            let _hold = pipeline::hold_existing(&dir)?;
            let (exp, _setup) = scored_from_dir(&dir, experiment.as_deref(), bars, false).await?;
            let d = exp.diagnose()?;
            outln!("{d}");
            Ok(0)
        }
        Command::Reveal {
            dir,
            row_id,
            experiment,
        } => {
            let _hold = pipeline::hold_existing(&dir)?;
            let (exp, _setup) = scored_from_dir(&dir, experiment.as_deref(), bars, true).await?;
            let (row, calls) = exp.reveal_with_calls(&RowId::from(row_id.as_str()))?;
            let v = serde_json::to_string_pretty(&row).map_err(|e| CliError::run(e.to_string()))?;
            outln!("{v}");
            // Each dev call on the row: the extracted answer, and the model's raw reply where the
            // arm kept one (#19: empty answers a live arm gave could not be explained).
            for line in iterate::call_lines(&calls) {
                outln!("{line}");
            }
            Ok(0)
        }
        Command::LabelAudit {
            dir,
            record,
            experiment,
        } => {
            let _hold = pipeline::hold_existing(&dir)?;
            let (exp, _setup) = scored_from_dir(&dir, experiment.as_deref(), bars, true).await?;
            iterate::label_audit(&exp, record.as_deref())
        }
        Command::Iterate {
            dir,
            arm,
            hypothesis,
            class,
            experiment,
        } => {
            let _hold = pipeline::hold_existing(&dir)?;
            iterate(&dir, &arm, &hypothesis, class.as_deref(), experiment, bars).await
        }
        Command::Gate {
            dir,
            classify,
            experiment,
        } => {
            let _hold = pipeline::hold_existing(&dir)?;
            gate(&dir, &classify, experiment.as_deref(), bars).await
        }
        Command::Verdict {
            dir,
            experiment,
            json,
            accept_underpowered,
            junit,
            summary_md,
        } => {
            let ci = run::CiOutputs {
                junit,
                summary_md,
                accept_underpowered,
            };
            let file = match experiment {
                Some(f) => f,
                None => {
                    let meta = pipeline::read_meta(&dir)?;
                    if meta.source.is_file() {
                        meta.source
                    } else {
                        dir.join(pipeline::COPY_FILE)
                    }
                }
            };
            run(&file, Some(dir), json, None, bars, &ci, None).await
        }
        Command::Report { dir, summary_md } => {
            let _hold = pipeline::hold_existing(&dir)?;
            report(&dir, summary_md.as_deref())
        }
        Command::Chart { kind, data, out } => {
            let kind: itera_charts::ChartKind = kind
                .parse()
                .map_err(|e: itera_charts::ChartError| CliError::bad(e.to_string()))?;
            let report =
                itera_charts::load_data_json(&data).map_err(|e| CliError::bad(e.to_string()))?;
            itera_charts::write_chart(kind, &report, &out)
                .map_err(|e| CliError::run(e.to_string()))?;
            outln!("{}", out.display());
            Ok(0)
        }
        Command::Verify { dir } => {
            for line in crate::status::verify(&dir)? {
                outln!("ok: {line}");
            }
            Ok(0)
        }
    }
}

fn print_value(v: &serde_json::Value, json: bool, text: fn(&serde_json::Value) -> String) {
    if json {
        outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        out!("{}", text(v));
    }
}

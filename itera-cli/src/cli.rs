//! The subcommands, their arguments (clap) and their exit codes.
//!
//! | command | does | exit |
//! |---|---|---|
//! | `run FILE [--out DIR] [--json] [--stop-after dev]` | the whole pipeline, resumable | decision code |
//! | `init [PATH]` | writes a commented experiment file | 0 |
//! | `plan --baseline-rate P --threshold-pp T` / `plan --pilot DIR` | rows and trials needed | 0 |
//! | `status DIR` | phases done, calls, sprint, gate, verdict | 0 |
//! | `diagnose DIR` | per-row diagnosis of dev (G32) | 0 |
//! | `reveal DIR ROW_ID` | a dev row's raw input, journaled (G17) | 0 |
//! | `iterate DIR --arm ID --hypothesis TEXT [--class C]` | records the edited arm as a new version and re-scores dev | 0 |
//! | `gate DIR [--classify ARM:VERSION:CLASS]` | the generalization gate (G35) | 0 |
//! | `verdict DIR` | gate, seal, the one test pass | decision code |
//! | `report DIR` | re-renders the three charts from `data.json` | 0 |
//! | `chart KIND --data data.json --out FILE` | one chart | 0 |
//! | `verify DIR` | re-checks every hash | 0, or 2 on tampering |
//!
//! Decision codes: 0 ship, 10 ship narrowly, 11 kill, 12 inconclusive. Errors: 1 while running,
//! 2 bad input or usage (see [`crate::error`]).

use crate::config::Loaded;
use crate::error::{BAD_INPUT, CliError, RUN_ERROR, decision_str_code};
use crate::pipeline::{self, Setup};
use clap::{Parser, Subcommand};
use itera_core::iterate::gate::ChangeClass;
use itera_core::report::ReportData;
use itera_core::{Event, RowId};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
        /// The experiment directory (default: experiments/YYYY-MM-DD-<name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the verdict summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Stop after a phase (`dev`: score dev and stop, to diagnose and iterate by hand).
        #[arg(long, value_parser = ["dev"])]
        stop_after: Option<String>,
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
    },
    /// Re-render the three charts and conclusion.md from data.json, verdict.json and the journal.
    Report {
        /// The experiment directory.
        dir: PathBuf,
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
            eprintln!("itera: {}", e.message);
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
        } => run(&file, out, json, stop_after.as_deref(), bars).await,
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
                (Some(dir), _) => crate::plan::from_pilot(&dir, threshold_pp, test_share)?,
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
            let (exp, _setup, _pool) =
                scored_from_dir(&dir, experiment.as_deref(), bars, false).await?;
            let d = exp.diagnose()?;
            println!("{d}");
            Ok(0)
        }
        Command::Reveal {
            dir,
            row_id,
            experiment,
        } => {
            let (exp, _setup, _pool) =
                scored_from_dir(&dir, experiment.as_deref(), bars, true).await?;
            let row = exp.reveal(&RowId::from(row_id.as_str()))?;
            let v = serde_json::to_string_pretty(&row).map_err(|e| CliError::run(e.to_string()))?;
            println!("{v}");
            Ok(0)
        }
        Command::Iterate {
            dir,
            arm,
            hypothesis,
            class,
            experiment,
        } => iterate(&dir, &arm, &hypothesis, class.as_deref(), experiment, bars).await,
        Command::Gate {
            dir,
            classify,
            experiment,
        } => gate(&dir, &classify, experiment.as_deref(), bars).await,
        Command::Verdict {
            dir,
            experiment,
            json,
        } => {
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
            run(&file, Some(dir), json, None, bars).await
        }
        Command::Report { dir } => report(&dir),
        Command::Chart { kind, data, out } => {
            let kind: itera_charts::ChartKind = kind
                .parse()
                .map_err(|e: itera_charts::ChartError| CliError::bad(e.to_string()))?;
            let report =
                itera_charts::load_data_json(&data).map_err(|e| CliError::bad(e.to_string()))?;
            itera_charts::write_chart(kind, &report, &out)
                .map_err(|e| CliError::run(e.to_string()))?;
            println!("{}", out.display());
            Ok(0)
        }
        Command::Verify { dir } => {
            for line in crate::status::verify(&dir)? {
                println!("ok: {line}");
            }
            Ok(0)
        }
    }
}

fn print_value(v: &serde_json::Value, json: bool, text: fn(&serde_json::Value) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        print!("{}", text(v));
    }
}

fn init(path: Option<PathBuf>) -> Result<i32, CliError> {
    let path = path.unwrap_or_else(|| PathBuf::from("experiment.toml"));
    if path.exists() {
        return Err(CliError::bad(format!(
            "{} exists: choose another path (init never overwrites)",
            path.display()
        )));
    }
    std::fs::write(&path, crate::init::TEMPLATE)
        .map_err(|e| CliError::run(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "wrote {}: fill it in, then `itera run {}`",
        path.display(),
        path.display()
    );
    Ok(0)
}

/// Today's date as YYYY-MM-DD (UTC).
fn today() -> String {
    itera_core::time::now_rfc3339()[..10].to_string()
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
}

/// The default directory: an existing `experiments/*-<name>` registered with this frame (so a
/// re-run on another day resumes), else `experiments/<today>-<name>`.
fn default_dir(frame: &itera_core::Frame) -> PathBuf {
    let name = slug(&frame.name);
    let root = Path::new("experiments");
    if let Ok(hash) = itera_core::hash::hash_value(frame)
        && let Ok(rd) = std::fs::read_dir(root)
    {
        let mut candidates: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.len() > 11 && n[11..] == name)
            })
            .collect();
        candidates.sort();
        for c in candidates.into_iter().rev() {
            let reg = std::fs::read(c.join(itera_core::journal::store::REGISTRATION_FILE))
                .ok()
                .and_then(|b| serde_json::from_slice::<itera_core::Registration>(&b).ok());
            if reg.is_some_and(|r| r.frame_hash == hash) {
                return c;
            }
        }
    }
    root.join(format!("{}-{name}", today()))
}

/// Prints a finished experiment's summary and returns its exit code.
fn finish(dir: &Path, json: bool) -> Result<i32, CliError> {
    let report = ReportData::load(dir).map_err(|e| CliError::bad(e.to_string()))?;
    if json {
        let v = crate::summary::json(&report, dir);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::run(e.to_string()))?
        );
    } else {
        print!("{}", crate::summary::text(&report, dir));
    }
    Ok(decision_str_code(&report.verdict.decision))
}

/// Writes the three charts (PNG and SVG) for a finished directory.
fn render_report(dir: &Path, report: &ReportData) -> Result<Vec<PathBuf>, CliError> {
    itera_charts::write_all(report, dir).map_err(|e| {
        CliError::run(format!(
            "charts: {e}; the verdict stands — fix the cause and run `itera report {}`",
            dir.display()
        ))
    })
}

fn report(dir: &Path) -> Result<i32, CliError> {
    let report = ReportData::load(dir).map_err(|e| CliError::bad(e.to_string()))?;
    for p in render_report(dir, &report)? {
        println!("{}", p.display());
    }
    // The conclusion, with its self-audit recomputed from the journal.
    itera_core::rewrite_conclusion(dir).map_err(|e| CliError::bad(e.to_string()))?;
    println!(
        "{}",
        dir.join(itera_core::report::CONCLUSION_FILE).display()
    );
    Ok(0)
}

/// `itera run` (and `itera verdict`).
async fn run(
    file: &Path,
    out: Option<PathBuf>,
    json: bool,
    stop_after: Option<&str>,
    bars: bool,
) -> Result<i32, CliError> {
    let loaded = Loaded::read(file)?;
    let frame = pipeline::registered_frame(&loaded)?;
    let dir = out.unwrap_or_else(|| default_dir(&frame));
    if pipeline::is_experiment_dir(&dir) {
        let store = pipeline::open_existing(&dir)?;
        pipeline::check_frame(&store, &frame, file)?;
        if pipeline::has_verdict(&store)? {
            tracing::info!(
                "{}: concluded; printing the recorded verdict",
                dir.display()
            );
            drop(store);
            if !dir.join("charts").is_dir()
                && let Ok(report) = ReportData::load(&dir)
                && let Err(e) = render_report(&dir, &report)
            {
                eprintln!("itera: warning: {}", e.message);
            }
            return finish(&dir, json);
        }
    }
    let mut setup = pipeline::setup(loaded).await?;
    setup.opts.progress = crate::progress::bars(bars);
    let pool = pipeline::pool(&dir, &setup)?;
    if pipeline::is_experiment_dir(&dir) {
        let store = pipeline::open_existing(&dir)?;
        pipeline::check_current_arms(&store, &setup, &pool)?;
    }
    pipeline::save_copy(&dir, &setup.loaded)?;
    let exp = pipeline::to_scored(&dir, &setup, &pool).await?;
    if stop_after == Some("dev") {
        let v = crate::status::status(&dir)?;
        eprint!("{}", crate::status::status_text(&v));
        return Ok(0);
    }
    let conclusion = pipeline::conclude(exp, &setup, pool).await?;
    if let Err(e) = render_report(&dir, &conclusion.report) {
        eprintln!("itera: warning: {}", e.message);
    }
    finish(&dir, json)
}

async fn scored_from_dir(
    dir: &Path,
    experiment: Option<&Path>,
    bars: bool,
    mutates: bool,
) -> Result<
    (
        itera_core::Experiment<itera_core::Scored>,
        Setup,
        pipeline::Pool,
    ),
    CliError,
> {
    let store = pipeline::open_existing(dir)?;
    let mut dev_scored = false;
    store.scan(|e| dev_scored |= matches!(e.event, Event::DevScored { .. }))?;
    if !dev_scored {
        return Err(CliError::bad(format!(
            "{}: dev is not scored yet: run `itera run FILE --out {} --stop-after dev` first",
            dir.display(),
            dir.display()
        )));
    }
    if mutates && pipeline::has_verdict(&store)? {
        return Err(CliError::bad(format!(
            "{}: the experiment has its verdict (G46): nothing follows it; a follow-up is a new experiment with fresh rows",
            dir.display()
        )));
    }
    drop(store);
    let loaded = pipeline::load_for_dir(dir, experiment)?;
    let mut setup = pipeline::setup(loaded).await?;
    setup.opts.progress = crate::progress::bars(bars);
    let pool = pipeline::pool(dir, &setup)?;
    let exp = pipeline::to_scored(dir, &setup, &pool).await?;
    Ok((exp, setup, pool))
}

fn parse_class(s: &str) -> Result<ChangeClass, CliError> {
    match s {
        "universal" => Ok(ChangeClass::Universal),
        "lifted-out" => Ok(ChangeClass::LiftedOut),
        "deleted" => Ok(ChangeClass::Deleted),
        "hardcode" => Ok(ChangeClass::Hardcode),
        other => Err(CliError::bad(format!(
            "class '{other}': use universal, lifted-out, deleted or hardcode"
        ))),
    }
}

async fn iterate(
    dir: &Path,
    arm: &str,
    hypothesis: &str,
    class: Option<&str>,
    experiment: Option<PathBuf>,
    bars: bool,
) -> Result<i32, CliError> {
    let class = class.map(parse_class).transpose()?;
    // The edited file: --experiment, else the file the run started from.
    let edited = match experiment {
        Some(p) => p,
        None => {
            let meta = pipeline::read_meta(dir)?;
            if !meta.source.is_file() {
                return Err(CliError::bad(format!(
                    "{} (the file the run started from) is gone: pass the edited file with --experiment FILE",
                    meta.source.display()
                )));
            }
            meta.source
        }
    };
    let edited_loaded = Loaded::read(&edited)?;
    let (index, section) = edited_loaded
        .file
        .arms
        .iter()
        .enumerate()
        .find(|(_, a)| a.id == arm)
        .ok_or_else(|| {
            CliError::bad(format!(
                "{}: no arm '{arm}' in [[arms]]: give the id of a candidate arm",
                edited.display()
            ))
        })?;
    let (exp, setup, _pool) = scored_from_dir(dir, None, bars, true).await?;
    let store = pipeline::open_existing(dir)?;
    pipeline::check_frame(
        &store,
        &pipeline::registered_frame(&edited_loaded)?,
        &edited,
    )?;
    let ids: Vec<RowId> = setup.rows.iter().map(|r| r.id.clone()).collect();
    let new_arm = pipeline::build_arm(&edited_loaded, index, section, &ids, setup.frame.trials)?;
    let spec_hash = crate::hex_sha256(new_arm.spec().as_bytes());
    let ledger = exp.ledger()?;
    if ledger
        .versions
        .iter()
        .any(|v| v.key.arm == arm && v.key.spec_hash == spec_hash && v.key.version == 0)
    {
        return Err(CliError::bad(format!(
            "{}: arm '{arm}' is unchanged (its definition is the registered version): edit the arm in the file, then iterate (G33)",
            edited.display()
        )));
    }
    if let Some(raw) = edited_loaded.raw_arms.get(index) {
        pipeline::save_version(dir, arm, &spec_hash, raw)?;
    }
    let exp = exp
        .iterate(
            new_arm.as_ref(),
            hypothesis,
            class,
            setup.judge.as_ref(),
            &setup.opts,
        )
        .await?;
    let ledger = exp.ledger()?;
    let entries = pipeline::entries(exp.store())?;
    let outcome = entries.iter().rev().find_map(|e| match &e.event {
        Event::IterationOutcome {
            arm: a,
            version,
            outcome,
            delta,
            lower,
            upper,
            closes_sprint,
            reason,
            ..
        } if a == arm => Some(format!(
            "{arm} v{version}: {outcome:?}, Δ vs previous {:+.2}pp [{:+.2}, {:+.2}]{}: {reason}",
            delta * 100.0,
            lower * 100.0,
            upper * 100.0,
            if *closes_sprint {
                " — closes the sprint"
            } else {
                ""
            }
        )),
        _ => None,
    });
    println!(
        "{}",
        outcome.unwrap_or_else(|| format!("{arm}: recorded (sprint {})", ledger.sprint))
    );
    Ok(0)
}

async fn gate(
    dir: &Path,
    classify: &[String],
    experiment: Option<&Path>,
    bars: bool,
) -> Result<i32, CliError> {
    let mut parsed: Vec<(String, u32, ChangeClass)> = Vec::new();
    for c in classify {
        let parts: Vec<&str> = c.split(':').collect();
        let [a, v, k] = parts.as_slice() else {
            return Err(CliError::bad(format!(
                "--classify {c}: use ARM:VERSION:CLASS, e.g. v2:1:universal"
            )));
        };
        let v: u32 = v
            .parse()
            .map_err(|_| CliError::bad(format!("--classify {c}: VERSION must be a number")))?;
        parsed.push((a.to_string(), v, parse_class(k)?));
    }
    let (exp, _setup, _pool) = scored_from_dir(dir, experiment, bars, true).await?;
    let classes: Vec<(&str, u32, ChangeClass)> = parsed
        .iter()
        .map(|(a, v, k)| (a.as_str(), *v, *k))
        .collect();
    let gated = exp.gate(&classes)?;
    let report = gated.gate_report();
    println!("gate, sprint {}:", report.sprint);
    for a in &report.arms {
        println!("  {} v{}: {:?} — {}", a.arm, a.version, a.outcome, a.reason);
        for c in &a.changes {
            println!(
                "    v{}: counted as {:?}{}{}",
                c.version,
                c.class,
                if c.leaks.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; leaks: {}",
                        c.leaks
                            .iter()
                            .map(|l| l.literal.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                c.seen_unseen
                    .as_ref()
                    .map(|s| format!(
                        "; seen gain {:+.2}pp vs unseen {:+.2}pp (p = {:.3})",
                        s.seen_gain * 100.0,
                        s.unseen_gain * 100.0,
                        s.p_value
                    ))
                    .unwrap_or_default()
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_date() {
        let t = super::today();
        assert_eq!(t.len(), 10);
        assert!(t.starts_with("20"));
    }

    #[test]
    fn slug_keeps_names_readable() {
        assert_eq!(super::slug("bbh-direct-vs-cot"), "bbh-direct-vs-cot");
        assert_eq!(super::slug("My Test!"), "my-test");
    }
}

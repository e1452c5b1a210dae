//! The subcommands that start and finish an experiment: `init` (the commented file), `run` and
//! `verdict` (the whole walk, resumable from the journal, into the default
//! `experiments/<date>-<name>/` directory of the registered frame), the summary that ends them
//! with the decision's exit code, and `report` (charts and the conclusion recomputed from the
//! journal).

use crate::config::Loaded;
use crate::error::{CliError, decision_str_code};
use crate::pipeline;
use itera_core::report::ReportData;
use itera_core::run::adaptive::ArmConcurrency;
use std::path::{Path, PathBuf};

pub(super) fn init(path: Option<PathBuf>) -> Result<i32, CliError> {
    let path = path.unwrap_or_else(|| PathBuf::from("experiment.toml"));
    if path.exists() {
        return Err(CliError::bad(format!(
            "{} exists: choose another path (init never overwrites)",
            path.display()
        )));
    }
    std::fs::write(&path, crate::init::TEMPLATE)
        .map_err(|e| CliError::run(format!("cannot write {}: {e}", path.display())))?;
    outln!(
        "wrote {}: fill it in, then `itera run {}`",
        path.display(),
        path.display()
    );
    Ok(0)
}

/// Today's date as YYYY-MM-DD (UTC).
fn today() -> String {
    let now = itera_core::time::now_rfc3339();
    now.get(..10).unwrap_or(&now).to_string()
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
                    // `get`, not `[11..]`: a non-ASCII folder name once panicked here (item 6;
                    // test: a_non_ascii_folder_in_experiments_does_not_panic).
                    .is_some_and(|n| n.get(11..).is_some_and(|rest| rest == name))
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

/// The files a CI job asks for beside the printed summary (`--junit`, `--summary-md`), and the
/// explicit acceptance of an underpowered design (`--accept-underpowered`, G20).
#[derive(Debug, Default)]
pub(super) struct CiOutputs {
    pub(super) junit: Option<PathBuf>,
    pub(super) summary_md: Option<PathBuf>,
    /// Overrides `[run] accept_underpowered` of the file.
    pub(super) accept_underpowered: Option<String>,
}

/// Writes the requested CI files from the finished, hash-checked directory (G40: the caller ran
/// `check_files`), each atomically.
fn write_ci(dir: &Path, report: &ReportData, ci: &CiOutputs) -> Result<(), CliError> {
    if ci.junit.is_none() && ci.summary_md.is_none() {
        return Ok(());
    }
    let verdict = crate::junit::load_verdict(dir)?;
    if let Some(path) = &ci.junit {
        let xml = crate::junit::render(report, &verdict);
        crate::junit::write_atomic(path, xml.as_bytes(), "JUnit file")?;
    }
    if let Some(path) = &ci.summary_md {
        let md = crate::summary_md::render(report, &verdict, dir);
        crate::junit::write_atomic(path, md.as_bytes(), "Markdown summary")?;
    }
    Ok(())
}

/// Prints a finished experiment's summary, writes the CI files, and returns its exit code.
fn finish(
    dir: &Path,
    json: bool,
    ci: &CiOutputs,
    concurrency: &[ArmConcurrency],
    store: &itera_core::Store,
) -> Result<i32, CliError> {
    check_store_files(dir, store)?;
    let report = ReportData::load(dir).map_err(|e| CliError::bad(e.to_string()))?;
    if json {
        let mut v = crate::summary::json(&report, dir);
        if !concurrency.is_empty() {
            v["concurrency"] = crate::summary::concurrency_json(concurrency);
        }
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::run(e.to_string()))?
        );
    } else {
        out!("{}", crate::summary::text(&report, dir));
        out!("{}", crate::summary::concurrency_text(concurrency));
    }
    write_ci(dir, &report, ci)?;
    Ok(decision_str_code(report.verdict.decision.as_str()))
}

/// Refuses a report file edited since the verdict wrote it (G40): the decision shown and the
/// exit code come only from files whose hashes the verdict journaled.
fn check_files(dir: &Path) -> Result<(), CliError> {
    check_store_files(dir, &pipeline::open_existing(dir)?)
}

/// [`check_files`] on a store already open (a re-run opens the journal once, #17).
fn check_store_files(dir: &Path, store: &itera_core::Store) -> Result<(), CliError> {
    itera_core::report::check_report_files(store)
        .map(|_| ())
        .map_err(|e| CliError::bad(format!("{}: {e}", dir.display())))
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

pub(super) fn report(dir: &Path, summary_md: Option<&Path>) -> Result<i32, CliError> {
    pipeline::open_existing(dir)?;
    // The conclusion first, with its self-audit recomputed from the journal: it refuses an
    // edited data.json or verdict.json (their hashes are journaled) and re-renders an edited
    // conclusion.md byte-identically to the one the verdict journaled (G40).
    itera_core::rewrite_conclusion(dir)
        .map_err(|e| CliError::bad(format!("{}: {e}", dir.display())))?;
    check_files(dir)?;
    let report = ReportData::load(dir).map_err(|e| CliError::bad(e.to_string()))?;
    for p in render_report(dir, &report)? {
        outln!("{}", p.display());
    }
    let ci = CiOutputs {
        junit: None,
        summary_md: summary_md.map(Path::to_path_buf),
        accept_underpowered: None,
    };
    write_ci(dir, &report, &ci)?;
    outln!(
        "{}",
        dir.join(itera_core::report::CONCLUSION_FILE).display()
    );
    Ok(0)
}

/// `itera run` (and `itera verdict`).
pub(super) async fn run(
    file: &Path,
    out: Option<PathBuf>,
    json: bool,
    stop_after: Option<&str>,
    bars: bool,
    ci: &CiOutputs,
    spent_ledger: Option<PathBuf>,
) -> Result<i32, CliError> {
    let loaded = Loaded::read(file)?;
    let frame = pipeline::registered_frame(&loaded)?;
    let dir = out.unwrap_or_else(|| default_dir(&frame));
    // One writer per directory for the whole command (G1).
    let _hold = pipeline::hold(&dir)?;
    if pipeline::is_experiment_dir(&dir) {
        let store = pipeline::open_existing(&dir)?;
        pipeline::check_frame(&store, &frame, file)?;
        if pipeline::has_verdict(&store)? {
            tracing::info!(
                "{}: concluded; printing the recorded verdict",
                dir.display()
            );
            check_store_files(&dir, &store)?;
            if !dir.join("charts").is_dir()
                && let Ok(report) = ReportData::load(&dir)
                && let Err(e) = render_report(&dir, &report)
            {
                eprintln!("itera: warning: {}", e.message);
            }
            // The journal was read once, by the verified opening pass (#17).
            return finish(&dir, json, ci, &[], &store);
        }
    }
    let mut setup = pipeline::setup(loaded).await?;
    setup.opts.progress = crate::progress::bars(bars);
    setup.spent_ledger = spent_ledger;
    if let Some(reason) = &ci.accept_underpowered {
        if reason.trim().is_empty() {
            return Err(CliError::bad(
                "--accept-underpowered needs a reason, e.g. --accept-underpowered \"pilot-sized on purpose\"",
            ));
        }
        setup.opts.accept_underpowered = Some(reason.trim().to_string());
    }
    if bars
        && !setup.loaded.all_replay()
        && let Some(note) = crate::progress::worst_wait_note(&setup.opts)
    {
        eprintln!("{note}");
    }
    let pool = pipeline::pool(&dir, &setup)?;
    if pipeline::is_experiment_dir(&dir) {
        let store = pipeline::open_existing(&dir)?;
        pipeline::check_current_arms(&store, &setup, &pool)?;
    }
    pipeline::save_copy(&dir, &setup.loaded)?;
    // The rows move into the experiment: nothing after the split reads them here (#17: the run
    // held its rows twice, three times during the verdict's re-read).
    let rows = std::mem::take(&mut setup.rows);
    let exp = pipeline::to_scored(&dir, &setup, pool, rows).await?;
    if stop_after == Some("dev") {
        let v = crate::status::status(&dir)?;
        eprint!("{}", crate::status::status_text(&v));
        if ci.junit.is_some() || ci.summary_md.is_some() {
            eprintln!(
                "itera: warning: --junit / --summary-md not written: no verdict yet (stopped after dev)"
            );
        }
        return Ok(0);
    }
    // The store this run wrote the verdict through: its files are checked against the hashes it
    // journaled without opening and verifying the journal a fifth time (#17: 5% of a 100k-row run).
    let store = exp.store().clone();
    let conclusion = pipeline::conclude(exp, &setup).await?;
    if let Err(e) = render_report(&dir, &conclusion.report) {
        eprintln!("itera: warning: {}", e.message);
    }
    // The adaptive limits' trace and throughput of this invocation (#18 item 3).
    let concurrency = setup
        .opts
        .adaptive
        .as_ref()
        .map(itera_core::run::adaptive::AdaptiveConcurrency::report)
        .unwrap_or_default();
    finish(&dir, json, ci, &concurrency, &store)
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

//! Phase 6, the report: the `data.json` model ([`ReportData`]) that tests and
//! charts read, `conclusion.md`, and the self-audit computed from the journal — every item
//! derived from recorded evidence, never from a flag the caller sets.
//!
//! Guards here: G40 (rationale from the rule trace), G44 (overfit alarm shown with any verdict),
//! and the audit items of METHOD.md §6, each citing the guard it checks. Uses every layer below;
//! nothing below uses it.

pub(crate) mod audit;
pub mod calls;
pub(crate) mod conclusion;
mod data;
pub(crate) mod index;
mod judge;
mod stable;

pub use audit::{AuditItem, AuditStatus};
pub use data::*;
pub(crate) use judge::judge_info;
pub use judge::{CrossJudgeInfo, JudgeCost, JudgeInfo};
pub use stable::StableVerdict;

use crate::decide::rules::Verdict;
use crate::iterate::iteration::Ledger;
use crate::journal::store::{REGISTRATION_FILE, Store, StoreError};
use audit::{Storage, Tables, self_audit};
use conclusion::conclusion_markdown;

/// The file the report model is written to.
pub const DATA_FILE: &str = "data.json";
/// The conclusion document.
pub const CONCLUSION_FILE: &str = "conclusion.md";
/// The verdict with its full rule trace.
pub const VERDICT_FILE: &str = "verdict.json";

/// Checks a finished experiment's report files against the SHA-256 its verdict event journaled
/// (G40): `data.json`, `verdict.json` and `conclusion.md`. Returns one line per file checked
/// (empty before the verdict); an edited or missing file is refused, naming it and how to
/// restore it. Every command that shows a finished verdict calls this first.
/// Enforcement tested by `edited_decision_in_data_json_is_refused_by_run_verdict_report_and_status`
/// (itera-cli/tests/integrity.rs).
pub fn check_report_files(store: &Store) -> Result<Vec<String>, StoreError> {
    // What the verified opening pass found: a concluded directory is not read again (#17; test
    // experiment/store_scan_tests.rs::report_files_check_rescans_nothing).
    let recorded = store.report_hashes().map(|(data, verdict, conclusion)| {
        [
            (DATA_FILE, Some(data)),
            (VERDICT_FILE, verdict),
            (CONCLUSION_FILE, conclusion),
        ]
    });
    let Some(files) = recorded else {
        return Ok(Vec::new());
    };
    let mut ok = Vec::new();
    for (file, expected) in files {
        let Some(expected) = expected else {
            ok.push(format!(
                "{file}: no hash journaled (a verdict from an older itera)"
            ));
            continue;
        };
        let found = store
            .read_file(file)?
            .map_or_else(|| "missing".to_string(), |b| crate::hash::sha256_hex(&b));
        if found != expected {
            let fix = if file == CONCLUSION_FILE {
                "re-render it from the journal with `itera report DIR` (rewrite_conclusion)"
                    .to_string()
            } else {
                format!(
                    "restore it from a backup; it is never re-rendered from an edited copy, and the journaled verdict stands ({file} was written with it)"
                )
            };
            return Err(StoreError::ReportEdited {
                file: file.to_string(),
                expected,
                found,
                fix,
            });
        }
        ok.push(format!("{file} matches the hash the verdict journaled"));
    }
    Ok(ok)
}

/// Re-renders `conclusion.md` of a finished experiment directory from its journal, `data.json`
/// and `verdict.json` (the self-audit is recomputed from the journal). Returns the document.
///
/// `data.json` and `verdict.json` must match the hashes the verdict journaled (an edited one is
/// refused, and nothing is written); the re-render must hash to the journaled `conclusion.md`
/// (it is byte-identical to the one the verdict wrote), so a legit re-render keeps verifying —
/// a renderer that changed since is refused rather than overwriting the journaled document.
///
/// ```no_run
/// let md = itera_core::rewrite_conclusion(std::path::Path::new("experiments/x")).unwrap();
/// assert!(md.contains("## Self-audit"));
/// ```
pub fn rewrite_conclusion(dir: &std::path::Path) -> Result<String, StoreError> {
    let store = Store::dir(dir)?;
    let registration = store
        .registration()?
        .ok_or_else(|| StoreError::BadRegistration {
            file: REGISTRATION_FILE.into(),
            why: "not a registered experiment".into(),
        })?;
    let read = |name: &str| -> Result<Vec<u8>, StoreError> {
        store
            .read_file(name)?
            .ok_or_else(|| StoreError::BadRegistration {
                file: name.into(),
                why: "missing: the experiment has no verdict yet".into(),
            })
    };
    let bad = |name: &str, e: serde_json::Error| StoreError::BadRegistration {
        file: name.into(),
        why: format!("not readable ({e})"),
    };
    let ix = index::JournalIndex::read(&store, &registration.frame.arm_ids())?;
    let recorded = ix.entries().iter().find_map(|e| match &e.event {
        crate::journal::event::Event::VerdictReached {
            data_hash,
            verdict_hash,
            conclusion_hash,
            ..
        } => Some((
            data_hash.clone(),
            verdict_hash.clone(),
            conclusion_hash.clone(),
        )),
        _ => None,
    });
    let (data_bytes, verdict_bytes) = (read(DATA_FILE)?, read(VERDICT_FILE)?);
    let check = |file: &str, bytes: &[u8], expected: Option<&String>| match expected {
        Some(h) if *h != crate::hash::sha256_hex(bytes) => Err(StoreError::ReportEdited {
            file: file.into(),
            expected: h.clone(),
            found: crate::hash::sha256_hex(bytes),
            fix: format!(
                "restore it from a backup; conclusion.md is never rendered from an edited {file}"
            ),
        }),
        _ => Ok(()),
    };
    let conclusion_hash = match &recorded {
        Some((d, v, c)) => {
            check(DATA_FILE, &data_bytes, Some(d))?;
            check(VERDICT_FILE, &verdict_bytes, v.as_ref())?;
            c.clone()
        }
        None => None,
    };
    let report: ReportData = serde_json::from_slice(&data_bytes).map_err(|e| bad(DATA_FILE, e))?;
    let verdict: Verdict =
        serde_json::from_slice(&verdict_bytes).map_err(|e| bad(VERDICT_FILE, e))?;
    let audit = self_audit(
        &ix,
        &registration.frame,
        Storage::Directory,
        Some(Tables::of(&report)),
    );
    let ledger = Ledger::from_entries(ix.entries());
    // The verdict rendered it with or without embedded charts (`RunOptions::charts`, chosen by
    // the caller and not journaled): the rendering whose hash the verdict journaled is the one.
    let render = |charts| conclusion_markdown(&report, &verdict, &audit, &ledger, charts);
    let (with, without) = (render(true), render(false));
    let markdown = match &conclusion_hash {
        Some(h) if crate::hash::sha256_hex(without.as_bytes()) == *h => without,
        _ => with,
    };
    if let Some(h) = conclusion_hash {
        let found = crate::hash::sha256_hex(markdown.as_bytes());
        if found != h {
            return Err(StoreError::ReportEdited {
                file: CONCLUSION_FILE.into(),
                expected: h,
                found: format!("{found} (re-rendered)"),
                fix: "this itera renders a different conclusion.md than the one journaled (the renderer changed since the verdict): restore conclusion.md from a backup, or re-render it with the itera version that wrote the verdict".into(),
            });
        }
    }
    store.write_file(CONCLUSION_FILE, markdown.as_bytes())?;
    Ok(markdown)
}

//! Phase 6, the report: the `data.json` model ([`ReportData`](data::ReportData)) that tests and
//! charts read, `conclusion.md`, and the self-audit computed from the journal — every item
//! derived from recorded evidence, never from a flag the caller sets.
//!
//! Guards here: G40 (rationale from the rule trace), G44 (overfit alarm shown with any verdict),
//! and the audit items of METHOD.md §6, each citing the guard it checks. Uses every layer below;
//! nothing below uses it.

pub(crate) mod audit;
pub(crate) mod conclusion;
mod data;

pub use audit::{AuditItem, AuditStatus};
pub use data::*;

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

/// Re-renders `conclusion.md` of a finished experiment directory from its journal, `data.json`
/// and `verdict.json` (the self-audit is recomputed from the journal). Returns the document.
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
    let report: ReportData =
        serde_json::from_slice(&read(DATA_FILE)?).map_err(|e| bad(DATA_FILE, e))?;
    let verdict: Verdict =
        serde_json::from_slice(&read(VERDICT_FILE)?).map_err(|e| bad(VERDICT_FILE, e))?;
    let entries = store.entries()?;
    let audit = self_audit(
        &entries,
        &registration.frame,
        Storage::Directory,
        Some(Tables::of(&report)),
    );
    let ledger = Ledger::from_entries(&entries);
    let markdown = conclusion_markdown(&report, &verdict, &audit, &ledger);
    store.write_file(CONCLUSION_FILE, markdown.as_bytes())?;
    Ok(markdown)
}

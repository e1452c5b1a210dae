//! The spent-test ledger in the phases (G15): the split refuses to seal test rows another
//! experiment already opened (unless the registration declares `reuse_test`), and the test pass
//! records its test rows as spent before the first test call. An experiment is identified by the
//! hash of its first journal line, so resuming the same experiment — even after a crash between
//! the ledger line and the journal's `sealed-opened` — is never refused by its own line.

use crate::data::split::{SplitError, SplitPlan};
use crate::experiment::Error;
use crate::frame::Frame;
use crate::journal::event::{Entry, Event};
use crate::journal::spent::{ReusedTest, SpentEntry, SpentLedger, SpentOverlap, row_hashes};
use crate::journal::store::Store;

/// The experiment's identity in the ledger: the hash of its first journal line.
fn journal_id(entries: &[Entry]) -> String {
    entries.first().map_or_else(String::new, |e| e.hash.clone())
}

fn experiment_name(store: &Store) -> String {
    store.location().map_or_else(
        || "an experiment in memory".to_string(),
        |p| p.canonicalize().unwrap_or(p).display().to_string(),
    )
}

fn refused(o: SpentOverlap, ledger: &SpentLedger) -> Error {
    SplitError::SpentTestRows {
        rows: o.rows,
        experiment: o.experiment,
        at: o.at,
        ledger: ledger.path().display().to_string(),
    }
    .into()
}

/// The ledger this experiment checks and spends into: the one its split journaled (a ledger
/// given with [`Store::with_spent_ledger`] at the split), else the store's. A resume that gives
/// another ledger than the journaled one is refused: rows checked against one ledger and spent
/// into another would leave the first blind to them (G15; test:
/// `resume_without_the_spent_ledger_flag_spends_into_the_ledger_the_split_used` in
/// itera-cli/tests/integrity.rs).
fn ledger_for(store: &Store, entries: &[Entry]) -> Result<Option<SpentLedger>, Error> {
    let journaled = entries.iter().find_map(|e| match &e.event {
        Event::Split { ledger, .. } => Some(ledger.clone()),
        _ => None,
    });
    let given = store.spent_ledger_override();
    match (journaled, given) {
        (Some(Some(j)), Some(g)) if std::path::Path::new(&j) != g => {
            Err(SplitError::SpentLedgerChanged {
                journaled: j,
                given: g.display().to_string(),
            }
            .into())
        }
        (Some(Some(j)), _) => Ok(Some(SpentLedger::at(std::path::PathBuf::from(j)))),
        (Some(None), Some(g)) => Err(SplitError::SpentLedgerChanged {
            journaled: store
                .spent_ledger_default()
                .map_or_else(|| "(none)".into(), |l| l.path().display().to_string()),
            given: g.display().to_string(),
        }
        .into()),
        _ => Ok(store.spent_ledger()),
    }
}

/// The ledger to journal with a new split: the one given to the store, when given.
pub(super) fn ledger_to_journal(store: &Store) -> Option<String> {
    store
        .spent_ledger_override()
        .map(|p| p.display().to_string())
}

/// At the split, before it is journaled: the test rows it would seal must not be spent by
/// another experiment, unless the frame declares the reuse — then what was spent is returned
/// to be journaled with the split.
///
/// G15: enforced here; `same_rows_reopened_in_a_new_directory_are_refused_as_spent` and
/// `declared_reuse_of_spent_rows_is_labelled_not_fresh_everywhere_and_fails_the_audit`
/// (tests/integrity.rs) and `spent_test_rows_in_a_new_directory_exit_2` (itera-cli/tests/
/// integrity.rs) fail without it.
pub(super) fn check_at_split(
    store: &Store,
    plan: &SplitPlan,
    frame: &Frame,
) -> Result<Option<ReusedTest>, Error> {
    let entries = store.entries_without_calls()?;
    let overlap = match ledger_for(store, &entries)? {
        Some(ledger) => {
            let own = journal_id(&entries);
            let rows = row_hashes(&plan.test)?;
            match (ledger.overlap(&rows, &own)?, &frame.reuse_test) {
                (Some(o), None) => return Err(refused(o, &ledger)),
                (o, _) => o,
            }
        }
        None => None,
    };
    Ok(frame.reuse_test.as_ref().map(|reason| ReusedTest {
        reason: reason.clone(),
        overlap,
    }))
}

/// When the test pass opens, before any test call: the test rows go to the ledger (locked,
/// fsynced). A line this experiment already wrote (a resume) is not written again; rows another
/// experiment spent since the split are refused as at the split (two experiments split the same
/// rows at once: the first to open wins).
///
/// G15: enforced here; `resume_after_a_crash_between_ledger_line_and_sealed_opened_is_not_refused`
/// (tests/integrity.rs, the own-line skip) and `spent_ledger_flag_moves_the_ledger` and
/// `spent_test_rows_in_a_new_directory_exit_2` (itera-cli/tests/integrity.rs, the append) fail
/// without it.
pub(super) fn spend_at_opening(
    store: &Store,
    plan: &SplitPlan,
    frame: &Frame,
    frame_hash: &str,
    entries: &[Entry],
) -> Result<(), Error> {
    let Some(ledger) = ledger_for(store, entries)? else {
        return Ok(());
    };
    let own = journal_id(entries);
    if ledger.has(&own)? {
        return Ok(());
    }
    let rows = row_hashes(&plan.test)?;
    if frame.reuse_test.is_none()
        && let Some(o) = ledger.overlap(&rows, &own)?
    {
        return Err(refused(o, &ledger));
    }
    ledger.append(&SpentEntry {
        experiment: experiment_name(store),
        journal: own,
        frame_hash: frame_hash.to_string(),
        at: crate::time::now_rfc3339(),
        rows: rows.into_iter().collect(),
    })?;
    Ok(())
}

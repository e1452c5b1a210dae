//! G38, did the changed path run: a no-effect iteration is only informative when the code it
//! changed actually ran on the rows it was meant to fix. Arms report the paths a call took as
//! trace labels ([`ArmOutput::with_trace`](crate::run::arm::ArmOutput::with_trace), journaled in
//! the call record); an iteration names the path it changed
//! ([`Arm::changed_paths`](crate::run::arm::Arm::changed_paths)). This module counts, over the
//! rows the previous version failed, those where a call of the new version traced a declared
//! path. Nothing declared, or nothing traced, reads "not traced" — never "ran".

use crate::data::row::RowId;
use crate::data::split::Part;
use crate::journal::event::Event;
use crate::journal::record::{ArmKey, CallOutcome, CallRecord, PathCheck};
use crate::journal::store::{Store, StoreError};
use crate::run::cube::ScoreCube;
use std::collections::BTreeSet;

/// The path check of iteration `key` (G38): the failing rows are those where the previous
/// version (cube index `prev`) scores below 1 on average; the calls are `key`'s dev calls in the
/// journal.
pub(crate) fn of_iteration(
    store: &Store,
    cube: &ScoreCube,
    prev: usize,
    key: &ArmKey,
    paths: &[String],
) -> Result<PathCheck, StoreError> {
    let failing: BTreeSet<RowId> = cube
        .row_means(prev)
        .iter()
        .zip(cube.rows())
        .filter(|(m, _)| m.is_some_and(|m| m < 1.0))
        .map(|(_, r)| r.clone())
        .collect();
    let mut calls = Vec::new();
    store.scan_if(
        |p| p.call && p.part == Some(Part::Dev.name()),
        |e| {
            if let Event::Call(c) = e.event
                && c.part == Part::Dev
                && c.arm == key.arm
                && c.version == key.version
            {
                calls.push(c);
            }
        },
    )?;
    Ok(path_check(paths, &failing, &calls))
}

/// The path check of a no-effect iteration: `paths` declared by the new version, `failing` the
/// dev rows the previous version failed, `calls` the new version's dev calls.
/// Enforcement tested by `no_effect_iteration_records_whether_the_changed_path_ran_on_failing_rows`
/// and `no_effect_iteration_without_a_declared_path_says_not_traced` (tests/integrity_hole15.rs).
pub(crate) fn path_check<'a>(
    paths: &[String],
    failing: &BTreeSet<RowId>,
    calls: impl IntoIterator<Item = &'a CallRecord>,
) -> PathCheck {
    if paths.is_empty() {
        return PathCheck::NotDeclared;
    }
    let mut traced = false;
    let mut ran: BTreeSet<&RowId> = BTreeSet::new();
    for c in calls {
        if !failing.contains(&c.row) {
            continue;
        }
        if let CallOutcome::Scored { trace, .. } = &c.outcome
            && !trace.is_empty()
        {
            traced = true;
            if trace.iter().any(|t| paths.contains(t)) {
                ran.insert(&c.row);
            }
        }
    }
    if traced {
        PathCheck::Traced {
            paths: paths.to_vec(),
            ran: ran.len(),
            failing: failing.len(),
        }
    } else {
        PathCheck::NotTraced {
            paths: paths.to_vec(),
            failing: failing.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::split::Part;
    use crate::journal::record::Usage;

    fn call(row: &str, trace: &[&str]) -> CallRecord {
        CallRecord {
            arm: "a".into(),
            version: 1,
            spec_hash: "h".into(),
            row: RowId::from(row),
            part: Part::Dev,
            trial: 0,
            attempts: 1,
            errors: Vec::new(),
            latency_ms: 1.0,
            queue_ms: None,
            server_ms: None,
            outcome: CallOutcome::Scored {
                output: serde_json::json!("x"),
                raw: None,
                score: 0.0,
                failure_modes: Vec::new(),
                deferred_findings: Vec::new(),
                judge: "exact".into(),
                rubric_hash: None,
                usage: Usage::default(),
                cost_usd: None,
                judge_call: None,
                trace: trace.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    #[test]
    fn counts_failing_rows_whose_calls_traced_the_declared_path() {
        let failing: BTreeSet<RowId> = ["r1", "r2", "r3"].into_iter().map(RowId::from).collect();
        let calls = [
            call("r1", &["fast"]),
            call("r1", &["slow"]),
            call("r2", &["slow"]),
            call("r3", &[]),
            call("r9", &["fast"]), // not a failing row: ignored
        ];
        let got = path_check(&["fast".to_string()], &failing, &calls);
        assert_eq!(
            got,
            PathCheck::Traced {
                paths: vec!["fast".into()],
                ran: 1,
                failing: 3
            }
        );
        assert_eq!(
            got.to_string(),
            "changed path fast ran on 1 of 3 failing row(s)"
        );
    }

    #[test]
    fn no_trace_on_any_failing_row_is_not_traced_never_ran() {
        let failing: BTreeSet<RowId> = ["r1"].into_iter().map(RowId::from).collect();
        let got = path_check(&["fast".to_string()], &failing, &[call("r1", &[])]);
        assert!(matches!(got, PathCheck::NotTraced { failing: 1, .. }));
        assert_eq!(path_check(&[], &failing, &[]), PathCheck::NotDeclared);
    }
}

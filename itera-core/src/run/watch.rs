//! Calls in flight, named while they wait: a board the runner and the pilot register each call
//! on (arm, row, trial, attempt, since when), and a heartbeat that reports the call waiting
//! longest through [`RunOptions::progress`](crate::run::exec::RunOptions::progress) when no call
//! has finished for a while. A call that never answers used to keep the pilot silent for ~10
//! minutes (issue "an experiment directory survives anything", item 8); now the progress names
//! it (test: `a_waiting_call_is_named_in_progress_in_pilot_and_dev` in tests/runner.rs).

use crate::run::exec::{Progress, RunOptions};
use futures::future::{Either, select};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A call still waiting for its answer, as progress reports it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Waiting {
    /// The arm called (for a judge call: the arm whose output is being judged).
    pub arm: String,
    /// The row.
    pub row: String,
    /// The trial (0-based).
    pub trial: u32,
    /// `"arm"` while the arm is called, `"judge"` while its output is judged.
    pub stage: &'static str,
    /// The attempt in progress (1-based).
    pub attempt: u32,
    /// Attempts allowed per call ([`RunOptions::max_attempts`]).
    pub max_attempts: u32,
    /// Time spent in the current attempt.
    pub in_attempt: Duration,
    /// The per-attempt timeout ([`RunOptions::timeout`]).
    pub timeout: Duration,
    /// Calls in flight right now, this one included.
    pub in_flight: usize,
}

struct Slot {
    arm: String,
    row: String,
    trial: u32,
    stage: &'static str,
    attempt: u32,
    since: Instant,
}

/// The calls in flight in one phase.
#[derive(Default)]
pub(crate) struct Watch {
    slots: Mutex<BTreeMap<u64, Slot>>,
    next: AtomicU64,
}

/// One call's place on the board; leaves it when dropped.
pub(crate) struct Ticket<'w> {
    watch: &'w Watch,
    id: u64,
}

impl Watch {
    fn slots(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a call (attempt 0 until its first attempt starts).
    pub(crate) fn enter(&self, arm: &str, row: &str, trial: u32) -> Ticket<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.slots().insert(
            id,
            Slot {
                arm: arm.to_string(),
                row: row.to_string(),
                trial,
                stage: "arm",
                attempt: 0,
                since: Instant::now(),
            },
        );
        Ticket { watch: self, id }
    }

    /// The call waiting longest in its current attempt, if any.
    pub(crate) fn longest(&self, opts: &RunOptions) -> Option<Waiting> {
        let slots = self.slots();
        let n = slots.len();
        slots.values().min_by_key(|s| s.since).map(|s| Waiting {
            arm: s.arm.clone(),
            row: s.row.clone(),
            trial: s.trial,
            stage: s.stage,
            attempt: s.attempt.max(1),
            max_attempts: opts.max_attempts.max(1),
            in_attempt: s.since.elapsed(),
            timeout: opts.timeout,
            in_flight: n,
        })
    }
}

impl Ticket<'_> {
    /// A new attempt starts now.
    pub(crate) fn attempt(&self, n: u32) {
        if let Some(s) = self.watch.slots().get_mut(&self.id) {
            s.attempt = n;
            s.since = Instant::now();
        }
    }

    /// The call moves to a stage ("judge"): attempts count afresh.
    pub(crate) fn stage(&self, stage: &'static str) {
        if let Some(s) = self.watch.slots().get_mut(&self.id) {
            s.stage = stage;
            s.attempt = 0;
            s.since = Instant::now();
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.watch.slots().remove(&self.id);
    }
}

/// Runs `fut`; every [`RunOptions::heartbeat`] in which it has not finished, reports the call
/// waiting longest through the progress callback (`progress()` gives the phase's counts; a
/// heartbeat never changes them).
pub(crate) async fn with_heartbeat<F: Future>(
    fut: F,
    opts: &RunOptions,
    watch: &Watch,
    progress: impl Fn() -> Progress,
) -> F::Output {
    let Some(cb) = &opts.progress else {
        return fut.await;
    };
    let every = opts.heartbeat.max(Duration::from_millis(10));
    let mut fut = std::pin::pin!(fut);
    loop {
        let tick = std::pin::pin!(tokio::time::sleep(every));
        match select(fut, tick).await {
            Either::Left((out, _)) => return out,
            Either::Right(((), pending)) => {
                fut = pending;
                let mut p = progress();
                p.waiting = watch.longest(opts);
                if p.waiting.is_some() {
                    cb(&p);
                }
            }
        }
    }
}

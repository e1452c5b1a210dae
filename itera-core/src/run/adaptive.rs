//! Adaptive concurrency (issue #18 item 3): an AIMD limit per arm for self-hosted endpoints
//! (vLLM, TGI, llama.cpp's server, Ollama) and rate-limited APIs, bounded by the registered
//! maximum ([`crate::RunOptions::arm_concurrency`], CLI `[run] concurrency`).
//!
//! Each attempt of an arm call holds one slot of its arm's limit. The limit starts at the
//! maximum and
//!
//! - **halves** (at least 1) when an attempt is refused for load — [`ArmError::Overloaded`]
//!   (HTTP 429, 503, 529 from the built-in HTTP arms) — or when the smoothed latency of
//!   successful attempts grows beyond [`LATENCY_FACTOR`] × the lowest smoothed latency seen (and
//!   by at least [`LATENCY_MIN_GROWTH`]). One decrease per *window*: signals from attempts that
//!   started before the last decrease do not halve again (a burst of 429s is one event);
//! - **grows by 1** per window of `limit` successes; by 1 per success while it is below the limit
//!   at which it was last refused minus one (fast recovery: it returns to the level the endpoint
//!   accepted); and, from that level up, by 1 per [`PROBE_WINDOWS`] windows (a refused probe
//!   costs a halving, so it is made rarely). Plain halving with +1 per window would average
//!   about ¾ of the endpoint's capacity (measured 3.88 for K = 5 in the loopback test).
//!
//! The refused attempt itself is retried by the runner with backoff, honouring `Retry-After`
//! (G31: no call is lost to the throttling). Every change of the limit is traced with its time;
//! [`AdaptiveConcurrency::report`] gives the trace, the calls, the achieved calls per second and
//! the time-weighted mean limit, which the CLI puts in its run summary and `--json`. The
//! loopback acceptance test (an endpoint admitting K requests, 429 above) is
//! `builtin::http::adaptive_loopback::adaptive_concurrency_converges_near_k_and_loses_no_call`.
//!
//! [`ArmError::Overloaded`]: crate::ArmError::Overloaded

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The smoothed latency that halves the limit, as a multiple of the lowest one seen.
pub const LATENCY_FACTOR: f64 = 2.0;
/// The least absolute growth of the smoothed latency that halves the limit (so that a 1 ms
/// endpoint answering in 3 ms is not "overloaded").
pub const LATENCY_MIN_GROWTH: Duration = Duration::from_millis(50);
/// At the level just below the last refusal, the limit grows by 1 only per this many windows
/// of `limit` successes: a probe the endpoint refuses costs a halving, so it is made rarely.
pub const PROBE_WINDOWS: usize = 4;
/// Successful attempts before the latency baseline is trusted.
const LATENCY_WARMUP: u32 = 8;
/// The smoothing weight of a new latency sample.
const EWMA: f64 = 0.2;

/// The adaptive concurrency controller of a run, shared by its phases: one AIMD limit per arm.
/// Create one, put it in [`crate::RunOptions::adaptive`], and read [`AdaptiveConcurrency::report`]
/// after the run.
///
/// ```
/// use itera_core::run::adaptive::AdaptiveConcurrency;
/// use itera_core::RunOptions;
/// let adaptive = AdaptiveConcurrency::new();
/// let opts = RunOptions { arm_concurrency: 32, adaptive: Some(adaptive.clone()), ..RunOptions::default() };
/// // ... run the experiment with `opts`, then:
/// assert!(adaptive.report().is_empty()); // no arm called yet
/// ```
#[derive(Debug, Clone, Default)]
pub struct AdaptiveConcurrency {
    arms: Arc<Mutex<BTreeMap<String, Arc<Aimd>>>>,
}

/// What one arm's limit did: for the run summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmConcurrency {
    /// The arm.
    pub arm: String,
    /// The registered maximum.
    pub max: usize,
    /// Every change of the limit: (seconds since the arm's first attempt, new limit), the start
    /// included.
    pub trace: Vec<(f64, usize)>,
    /// Successful attempts.
    pub calls: u64,
    /// Attempts refused for load (429/503/529).
    pub overloaded: u64,
    /// Halvings caused by latency growth.
    pub latency_decreases: u64,
    /// Successful attempts per second, from the first attempt to the last finished one.
    pub calls_per_second: f64,
    /// The limit averaged over time (from the first attempt to the last finished one).
    pub mean_limit: f64,
    /// The limit at the end.
    pub final_limit: usize,
}

impl AdaptiveConcurrency {
    /// A controller with no arm yet; each arm's limit is created on its first call.
    pub fn new() -> AdaptiveConcurrency {
        AdaptiveConcurrency::default()
    }

    pub(crate) fn arm(&self, arm: &str, max: usize) -> Arc<Aimd> {
        let mut arms = self.arms.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            arms.entry(arm.to_string())
                .or_insert_with(|| Arc::new(Aimd::new(max.max(1)))),
        )
    }

    /// What each arm's limit did, by arm id.
    pub fn report(&self) -> Vec<ArmConcurrency> {
        let arms = self.arms.lock().unwrap_or_else(|p| p.into_inner());
        arms.iter().map(|(id, a)| a.report(id)).collect()
    }
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Bumped at each decrease: an attempt started in an older epoch does not decrease again.
    epoch: u64,
    successes_in_window: usize,
    /// The limit at the last load refusal (fast recovery up to one below it).
    refused_at: Option<usize>,
    smoothed_ms: Option<f64>,
    lowest_ms: Option<f64>,
    samples: u32,
    started: Option<Instant>,
    last_done: Option<Instant>,
    trace: Vec<(f64, usize)>,
    calls: u64,
    overloaded: u64,
    latency_decreases: u64,
}

/// One arm's AIMD limit.
#[derive(Debug)]
pub(crate) struct Aimd {
    max: usize,
    state: Mutex<State>,
    freed: tokio::sync::Notify,
}

/// A held slot; [`Slot::done`] releases it with the attempt's outcome (dropping it releases it
/// as neutral).
pub(crate) struct Slot<'a> {
    aimd: &'a Aimd,
    epoch: u64,
    released: bool,
}

/// How an attempt ended, for the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Signal {
    /// Succeeded after this long.
    Success(Duration),
    /// Refused for load (429/503/529).
    Overloaded,
    /// Any other failure: no signal.
    Neutral,
}

impl Aimd {
    fn new(max: usize) -> Aimd {
        Aimd {
            max,
            state: Mutex::new(State {
                limit: max,
                in_flight: 0,
                epoch: 0,
                successes_in_window: 0,
                refused_at: None,
                smoothed_ms: None,
                lowest_ms: None,
                samples: 0,
                started: None,
                last_done: None,
                trace: Vec::new(),
                calls: 0,
                overloaded: 0,
                latency_decreases: 0,
            }),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a free slot under the current limit.
    pub(crate) async fn acquire(&self) -> Slot<'_> {
        loop {
            let notified = self.freed.notified();
            {
                let mut s = self.lock();
                if s.started.is_none() {
                    s.started = Some(Instant::now());
                    let limit = s.limit;
                    s.trace.push((0.0, limit));
                }
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Slot {
                        aimd: self,
                        epoch: s.epoch,
                        released: false,
                    };
                }
            }
            notified.await;
        }
    }

    fn set_limit(s: &mut State, limit: usize) {
        if limit != s.limit {
            s.limit = limit;
            let t = s.started.map_or(0.0, |t0| t0.elapsed().as_secs_f64());
            s.trace.push((t, limit));
        }
    }

    fn release(&self, epoch: u64, signal: Signal) {
        {
            let mut s = self.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
            s.last_done = Some(Instant::now());
            let current = epoch == s.epoch;
            match signal {
                Signal::Neutral => {}
                Signal::Overloaded => {
                    s.overloaded += 1;
                    if current {
                        s.refused_at = Some(s.limit);
                        Self::decrease(&mut s);
                    }
                }
                Signal::Success(latency) => {
                    s.calls += 1;
                    let ms = latency.as_secs_f64() * 1e3;
                    let smoothed = s.smoothed_ms.map_or(ms, |m| m + EWMA * (ms - m));
                    s.smoothed_ms = Some(smoothed);
                    s.samples = s.samples.saturating_add(1);
                    if s.samples >= LATENCY_WARMUP {
                        s.lowest_ms = Some(s.lowest_ms.map_or(smoothed, |l| l.min(smoothed)));
                    }
                    let grown = s.lowest_ms.is_some_and(|low| {
                        smoothed > LATENCY_FACTOR * low
                            && smoothed - low >= LATENCY_MIN_GROWTH.as_secs_f64() * 1e3
                    });
                    if grown && current && s.limit > 1 {
                        s.latency_decreases += 1;
                        Self::decrease(&mut s);
                        // The baseline is learnt again: a lasting slower endpoint halves once;
                        // and no fast recovery back into the slow regime.
                        s.lowest_ms = None;
                        s.samples = 0;
                        s.refused_at = None;
                    } else {
                        // Recovery counts every success, of any epoch: the endpoint took them.
                        let refused = s.refused_at;
                        let recovering = refused.is_some_and(|r| s.limit + 1 < r);
                        if current {
                            s.successes_in_window += 1;
                        }
                        // Above the last refused level's neighbour, probe slowly.
                        let window = if refused.is_some() && !recovering {
                            PROBE_WINDOWS * s.limit
                        } else {
                            s.limit
                        };
                        if s.limit < self.max
                            && (recovering || (current && s.successes_in_window >= window))
                        {
                            s.successes_in_window = 0;
                            let up = s.limit + 1;
                            Self::set_limit(&mut s, up);
                        }
                    }
                }
            }
        }
        self.freed.notify_waiters();
    }

    fn decrease(s: &mut State) {
        let half = (s.limit / 2).max(1);
        Self::set_limit(s, half);
        s.epoch += 1;
        s.successes_in_window = 0;
    }

    fn report(&self, arm: &str) -> ArmConcurrency {
        let s = self.lock();
        let span = match (s.started, s.last_done) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        let mut weighted = 0.0;
        for (i, (t, l)) in s.trace.iter().enumerate() {
            let end = s.trace.get(i + 1).map_or(span, |n| n.0).min(span);
            weighted += (end - t).max(0.0) * *l as f64;
        }
        ArmConcurrency {
            arm: arm.to_string(),
            max: self.max,
            trace: s.trace.clone(),
            calls: s.calls,
            overloaded: s.overloaded,
            latency_decreases: s.latency_decreases,
            calls_per_second: if span > 0.0 {
                s.calls as f64 / span
            } else {
                0.0
            },
            mean_limit: if span > 0.0 {
                weighted / span
            } else {
                s.limit as f64
            },
            final_limit: s.limit,
        }
    }
}

impl Slot<'_> {
    /// Releases the slot with the attempt's outcome.
    pub(crate) fn done(mut self, signal: Signal) {
        self.released = true;
        self.aimd.release(self.epoch, signal);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.released {
            self.aimd.release(self.epoch, Signal::Neutral);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_refusals_halves_once_and_recovery_is_fast() {
        let a = Aimd::new(16);
        let slots: Vec<Slot<'_>> = futures::future::join_all((0..16).map(|_| a.acquire())).await;
        for s in slots {
            s.done(Signal::Overloaded);
        }
        assert_eq!(a.lock().limit, 8, "16 concurrent refusals are one event");
        for _ in 0..6 {
            a.acquire()
                .await
                .done(Signal::Success(Duration::from_millis(1)));
        }
        assert_eq!(
            a.lock().limit,
            14,
            "fast recovery up to one below the refused level"
        );
        for _ in 0..14 {
            a.acquire()
                .await
                .done(Signal::Success(Duration::from_millis(1)));
        }
        assert_eq!(a.lock().limit, 15, "then one step per window");
    }

    #[tokio::test]
    async fn latency_growth_halves_the_limit() {
        let a = Aimd::new(8);
        for _ in 0..20 {
            a.acquire()
                .await
                .done(Signal::Success(Duration::from_millis(20)));
        }
        assert_eq!(a.lock().limit, 8);
        for _ in 0..10 {
            a.acquire()
                .await
                .done(Signal::Success(Duration::from_millis(400)));
        }
        assert!(a.lock().limit < 8 && a.lock().latency_decreases >= 1);
    }
}

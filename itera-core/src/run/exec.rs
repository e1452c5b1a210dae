//! Executing one call the way a paid API deserves: per-call timeout, retries with exponential
//! backoff and full jitter on retryable errors (honouring a retry-after hint), panics caught and
//! retried, optional request-rate and token-rate limits. [`RunOptions`] holds the knobs and the
//! progress callback; the orchestration lives in the runner (`run::runner`, crate-private).

use crate::run::adaptive::{Aimd, Signal};
use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx};
use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use crate::run::watch::Ticket;
pub use crate::run::watch::Waiting;
use futures::FutureExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a long run stands, passed to [`RunOptions::progress`] after every finished call.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// `"pilot"`, `"dev baseline"`, `"dev arms"`, …
    pub phase: &'static str,
    /// Calls finished (scored or failed) in this phase, including ones resumed from the journal.
    pub done: usize,
    /// Calls this phase needs.
    pub total: usize,
    /// Failed attempts so far (each retried or recorded).
    pub errors: usize,
    /// Calls that still failed after their retries.
    pub failed_calls: usize,
    /// Dollars spent so far in this phase (known costs only).
    pub cost_usd: f64,
    /// Time since the phase started.
    pub elapsed: Duration,
    /// On a heartbeat (no call finished for [`RunOptions::heartbeat`]): the call waiting
    /// longest, named; `None` on the report of a finished call.
    pub waiting: Option<Waiting>,
    /// In a phase with arms executed through a provider's batch API: batches submitted, in
    /// progress and done (issue #18 item 2); `None` otherwise.
    pub batches: Option<crate::run::batch::BatchCounts>,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How calls are executed.
///
/// ```
/// use itera_core::RunOptions;
/// use std::time::Duration;
/// let opts = RunOptions { arm_concurrency: 16, timeout: Duration::from_secs(30), ..RunOptions::default() };
/// assert_eq!(opts.max_attempts, 5);
/// ```
#[derive(Clone)]
pub struct RunOptions {
    /// Arm calls in flight at once.
    pub arm_concurrency: usize,
    /// Judge calls in flight at once.
    pub judge_concurrency: usize,
    /// Per-attempt timeout (arm and judge alike).
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles per attempt.
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_max: Duration,
    /// Arm requests per second, if limited.
    pub requests_per_second: Option<f64>,
    /// Arm tokens per minute (input + output), if limited.
    pub tokens_per_minute: Option<u64>,
    /// Adaptive concurrency: an AIMD limit per arm, at most `arm_concurrency`, halved when the
    /// endpoint refuses for load (429/503/529) or its latency grows, grown back by successes;
    /// its trace and throughput are read from the controller after the run
    /// ([`crate::run::adaptive`]). `None` (the default): a fixed `arm_concurrency`.
    pub adaptive: Option<crate::run::adaptive::AdaptiveConcurrency>,
    /// A second judge of another model family for the cross-judge check (G29).
    pub second_judge: Option<Arc<dyn Judge>>,
    /// Dev rows the second judge re-scores: a seeded sample of the rows where the primary judge
    /// sees a difference between the baseline and a candidate (G29). Default 20; at least 5.
    pub cross_judge_rows: usize,
    /// Called after every finished call, and every `heartbeat` while calls wait and none
    /// finished, naming the call waiting longest ([`Progress::waiting`]).
    pub progress: Option<ProgressFn>,
    /// How often a phase in which no call finished reports the call it is waiting on.
    pub heartbeat: Duration,
    /// Whether the caller draws the report charts into `DIR/charts/` after the verdict (the
    /// `itera` CLI does, with `itera_charts::write_all`): `conclusion.md` then embeds them. Off
    /// by default: itera-core draws no charts, so the conclusion links none and says how to draw
    /// them instead of pointing at images that do not exist.
    pub charts: bool,
    /// Go ahead with the test pass although the design is underpowered for T or a major slice
    /// (G20), for this reason (journaled and shown in conclusion.md, data.json and the
    /// self-audit, whose power item then fails). `None` (default): an underpowered design is
    /// refused before the test set opens ([`crate::VerdictError::Underpowered`]).
    pub accept_underpowered: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            arm_concurrency: 8,
            judge_concurrency: 8,
            timeout: Duration::from_secs(120),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            requests_per_second: None,
            tokens_per_minute: None,
            adaptive: None,
            second_judge: None,
            cross_judge_rows: 20,
            progress: None,
            heartbeat: Duration::from_secs(10),
            charts: false,
            accept_underpowered: None,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("arm_concurrency", &self.arm_concurrency)
            .field("judge_concurrency", &self.judge_concurrency)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("requests_per_second", &self.requests_per_second)
            .field("tokens_per_minute", &self.tokens_per_minute)
            .field("adaptive", &self.adaptive.is_some())
            .field("heartbeat", &self.heartbeat)
            .field("cross_judge_rows", &self.cross_judge_rows)
            .field("charts", &self.charts)
            .field("accept_underpowered", &self.accept_underpowered)
            .finish_non_exhaustive()
    }
}

/// The outcome of one call after its retries.
pub(crate) struct Attempted<T> {
    pub result: Result<T, String>,
    pub attempts: u32,
    pub errors: Vec<String>,
    /// Send → reply of the last attempt, in ms.
    pub latency_ms: f64,
    /// Time spent waiting for itera's own rate limits and adaptive slot, over all attempts, in
    /// ms: queueing on this side of the wire, never counted as latency (#19).
    pub queue_ms: f64,
}

enum Try<T> {
    Done(T),
    Retry(String, Option<Duration>),
    /// Refused for load: retried like `Retry`, and a signal to the adaptive limit.
    Overloaded(String, Option<Duration>),
    Fatal(String),
}

/// The longest wait between two requests a rate limit imposes (one call an hour).
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Tokens a call used (input + output), saturating: an arm reporting `u64::MAX` tokens must not
/// overflow the count (test: huge_token_counts_saturate_instead_of_overflowing).
fn usage_tokens(u: &crate::journal::record::Usage) -> u64 {
    u.input_tokens
        .unwrap_or(0)
        .saturating_add(u.output_tokens.unwrap_or(0))
}

/// Why an arm's output holds a number the journal cannot carry (NaN, infinite, negative), or
/// `None`. Such a call fails (recorded as failed, G31) instead of reaching the journal, whose
/// codec would refuse the whole event (item 5; test: an_arm_reporting_a_nan_cost_fails_the_call).
fn unwritable(out: &ArmOutput) -> Option<String> {
    let bad = |v: Option<f64>| v.is_some_and(|x| !(x.is_finite() && x >= 0.0));
    let (field, value) = if bad(out.usage.cost_usd) {
        ("usage.cost_usd", out.usage.cost_usd)
    } else if bad(out.recorded_latency_ms) {
        ("recorded_latency_ms", out.recorded_latency_ms)
    } else if out.recorded_score.is_some_and(|x| !x.is_finite()) {
        ("recorded_score", out.recorded_score)
    } else {
        return None;
    };
    Some(format!(
        "the arm reported {field} = {}: it must be a finite number >= 0; fix what the arm reports",
        value.unwrap_or_default()
    ))
}

/// Shared limits for one run.
pub(crate) struct Limits {
    interval: Option<Duration>,
    next_slot: Mutex<Option<Instant>>,
    per_minute: Option<u64>,
    window: Mutex<VecDeque<(Instant, u64)>>,
}

impl Limits {
    pub fn new(opts: &RunOptions) -> Limits {
        Limits {
            interval: opts
                .requests_per_second
                .filter(|r| r.is_finite() && *r > 0.0)
                // A tiny rate once panicked in `from_secs_f64(1e300)`; the interval is bounded
                // (test: a_tiny_request_rate_does_not_panic_and_is_bounded).
                .map(|r| {
                    Duration::try_from_secs_f64(1.0 / r)
                        .map_or(MAX_INTERVAL, |d| d.min(MAX_INTERVAL))
                }),
            next_slot: Mutex::new(None),
            per_minute: opts.tokens_per_minute.filter(|t| *t > 0),
            window: Mutex::new(VecDeque::new()),
        }
    }

    async fn acquire(&self) {
        if let Some(interval) = self.interval {
            let slot = {
                let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let slot = next.map_or(now, |n| n.max(now));
                *next = Some(slot.checked_add(interval).unwrap_or(slot));
                slot
            };
            tokio::time::sleep_until(slot.into()).await;
        }
        if let Some(limit) = self.per_minute {
            loop {
                let wait = {
                    let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
                    let now = Instant::now();
                    while w
                        .front()
                        .is_some_and(|(t, _)| now.duration_since(*t) >= Duration::from_secs(60))
                    {
                        w.pop_front();
                    }
                    let used = w.iter().fold(0u64, |a, (_, n)| a.saturating_add(*n));
                    match w.front() {
                        Some((t, _)) if used >= limit => {
                            Some(Duration::from_secs(60).saturating_sub(now.duration_since(*t)))
                        }
                        _ => None,
                    }
                };
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => break,
                }
            }
        }
    }

    fn record_tokens(&self, tokens: u64) {
        if self.per_minute.is_some() && tokens > 0 {
            let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
            w.push_back((Instant::now(), tokens));
        }
    }
}

/// Full-jitter backoff: uniform in [0, min(max, base·2^(attempt−1))], and never shorter than a
/// server's retry-after hint.
fn backoff(
    opts: &RunOptions,
    attempt: u32,
    hint: Option<Duration>,
    rng: &mut ChaCha8Rng,
) -> Duration {
    let ceiling = opts
        .backoff_base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(opts.backoff_max);
    let jitter = ceiling.mul_f64((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
    match hint {
        Some(h) => h.max(jitter),
        None => jitter,
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

async fn with_retries<T, F, Fut>(
    opts: &RunOptions,
    seed: u64,
    limits: Option<&Limits>,
    aimd: Option<&Aimd>,
    ticket: Option<&Ticket<'_>>,
    mut once: F,
) -> Attempted<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Try<T>>,
{
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut errors = Vec::new();
    let attempts_allowed = opts.max_attempts.max(1);
    let mut attempt = 0;
    let mut queue_ms = 0.0;
    loop {
        attempt += 1;
        let queued = Instant::now();
        if let Some(l) = limits {
            l.acquire().await;
        }
        // The adaptive slot is taken before the clock starts: waiting for it is not latency.
        let slot = match aimd {
            Some(a) => Some(a.acquire().await),
            None => None,
        };
        queue_ms += queued.elapsed().as_secs_f64() * 1e3;
        if let Some(t) = ticket {
            t.attempt(attempt);
        }
        let start = Instant::now();
        let outcome = once().await;
        let elapsed = start.elapsed();
        let latency_ms = elapsed.as_secs_f64() * 1e3;
        if let Some(slot) = slot {
            slot.done(match &outcome {
                Try::Done(_) => Signal::Success(elapsed),
                Try::Overloaded(..) => Signal::Overloaded,
                Try::Retry(..) | Try::Fatal(_) => Signal::Neutral,
            });
        }
        let (message, hint) = match outcome {
            Try::Done(v) => {
                return Attempted {
                    result: Ok(v),
                    attempts: attempt,
                    errors,
                    latency_ms,
                    queue_ms,
                };
            }
            Try::Fatal(m) => {
                errors.push(m.clone());
                return Attempted {
                    result: Err(m),
                    attempts: attempt,
                    errors,
                    latency_ms,
                    queue_ms,
                };
            }
            Try::Retry(m, hint) | Try::Overloaded(m, hint) => (m, hint),
        };
        errors.push(message.clone());
        if attempt >= attempts_allowed {
            return Attempted {
                result: Err(format!("gave up after {attempt} attempts: {message}")),
                attempts: attempt,
                errors,
                latency_ms,
                queue_ms,
            };
        }
        tokio::time::sleep(backoff(opts, attempt, hint, &mut rng)).await;
    }
}

/// Calls an arm with timeout, panic capture and retries.
pub(crate) async fn call_arm(
    arm: &dyn Arm,
    input: &Value,
    ctx: &CallCtx,
    opts: &RunOptions,
    limits: &Limits,
    ticket: Option<&Ticket<'_>>,
) -> Attempted<ArmOutput> {
    let aimd = opts
        .adaptive
        .as_ref()
        .map(|a| a.arm(arm.id(), opts.arm_concurrency));
    let attempted = with_retries(
        opts,
        ctx.seed ^ 0xA5A5,
        Some(limits),
        aimd.as_deref(),
        ticket,
        || async {
            let fut = AssertUnwindSafe(arm.call(input, ctx)).catch_unwind();
            match tokio::time::timeout(opts.timeout, fut).await {
                Err(_) => Try::Retry(format!("timed out after {:?}", opts.timeout), None),
                Ok(Err(p)) => Try::Retry(panic_text(p), None),
                Ok(Ok(Err(ArmError::Retryable {
                    message,
                    retry_after,
                }))) => Try::Retry(message, retry_after),
                // Halves the arm's adaptive limit (test: adaptive_concurrency_converges_near_k_and_loses_no_call).
                Ok(Ok(Err(ArmError::Overloaded {
                    message,
                    retry_after,
                }))) => Try::Overloaded(message, retry_after),
                Ok(Ok(Err(ArmError::Fatal(m)))) => Try::Fatal(m),
                // A cost the journal cannot carry is refused where it enters (item 5; test:
                // an_arm_reporting_a_nan_cost_fails_the_call).
                Ok(Ok(Ok(out))) => match unwritable(&out) {
                    Some(why) => Try::Fatal(why),
                    None => Try::Done(out),
                },
            }
        },
    )
    .await;
    if let Ok(out) = &attempted.result {
        limits.record_tokens(usage_tokens(&out.usage));
    }
    attempted
}

/// Calls a judge with timeout, panic capture and retries.
pub(crate) async fn call_judge(
    judge: &dyn Judge,
    view: JudgeView<'_>,
    output: &Value,
    seed: u64,
    opts: &RunOptions,
    ticket: Option<&Ticket<'_>>,
) -> Attempted<Judgement> {
    if let Some(t) = ticket {
        t.stage("judge");
    }
    with_retries(opts, seed ^ 0x5A5A, None, None, ticket, || async {
        let fut = AssertUnwindSafe(judge.score(view, output)).catch_unwind();
        match tokio::time::timeout(opts.timeout, fut).await {
            Err(_) => Try::Retry(format!("judge timed out after {:?}", opts.timeout), None),
            Ok(Err(p)) => Try::Retry(format!("judge {}", panic_text(p)), None),
            Ok(Ok(Err(JudgeError::Retryable(m)))) => Try::Retry(format!("judge: {m}"), None),
            Ok(Ok(Err(e))) => Try::Fatal(format!("judge: {e}")),
            Ok(Ok(Ok(j))) if !(j.score.is_finite() && (0.0..=1.0).contains(&j.score)) => {
                Try::Fatal(format!(
                    "judge '{}' returned score {} outside [0, 1]",
                    judge.id(),
                    j.score
                ))
            }
            Ok(Ok(Ok(j))) => Try::Done(j),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_honours_hints() {
        let opts = RunOptions {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..RunOptions::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for attempt in 1..20 {
            let ceiling = Duration::from_millis((100u64 << (attempt - 1).min(10)).min(1000));
            let d = backoff(&opts, attempt, None, &mut rng);
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        let d = backoff(&opts, 1, Some(Duration::from_secs(3)), &mut rng);
        assert!(d >= Duration::from_secs(3));
    }

    /// G-none (robustness, issue "an experiment directory survives anything" item 6): a rate of
    /// 1e-300 requests per second once panicked in `Duration::from_secs_f64(1e300)`.
    #[test]
    fn a_tiny_request_rate_does_not_panic_and_is_bounded() {
        for rps in [1e-300, f64::MIN_POSITIVE, 1e-9] {
            let l = Limits::new(&RunOptions {
                requests_per_second: Some(rps),
                ..RunOptions::default()
            });
            assert!(
                l.interval.is_some_and(|d| d <= Duration::from_secs(3600)),
                "rps {rps}: {:?}",
                l.interval
            );
        }
    }

    /// Token counts near u64::MAX once overflowed the per-minute window's sum and the call's
    /// token total (a debug panic, a wrapped count in release).
    #[tokio::test]
    async fn huge_token_counts_saturate_instead_of_overflowing() {
        let l = Limits::new(&RunOptions {
            tokens_per_minute: Some(u64::MAX),
            ..RunOptions::default()
        });
        l.record_tokens(u64::MAX);
        l.record_tokens(u64::MAX);
        let acquired = tokio::time::timeout(Duration::from_millis(200), l.acquire()).await;
        assert!(acquired.is_err(), "the window is full: acquire waits");
    }

    struct Instant0;

    #[async_trait::async_trait]
    impl Arm for Instant0 {
        fn id(&self) -> &str {
            "instant"
        }
        fn spec(&self) -> String {
            "answers at once".into()
        }
        async fn call(&self, _input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
            Ok(ArmOutput::text("yes"))
        }
    }

    /// #19: a call that waited for itera's own rate limit once reported that wait as its
    /// latency. The wait is measured apart (`queue_ms`); the latency is send → reply only.
    #[tokio::test]
    async fn a_rate_limited_call_reports_its_queue_wait_apart_from_its_latency() {
        let opts = RunOptions {
            requests_per_second: Some(5.0),
            ..RunOptions::default()
        };
        let limits = Limits::new(&opts);
        let ctx = CallCtx {
            row_id: crate::data::row::RowId::from("r1"),
            trial: 0,
            seed: 1,
        };
        let first = call_arm(&Instant0, &Value::Null, &ctx, &opts, &limits, None).await;
        let second = call_arm(&Instant0, &Value::Null, &ctx, &opts, &limits, None).await;
        assert!(
            first.queue_ms < 50.0,
            "first call queued {} ms",
            first.queue_ms
        );
        assert!(
            second.queue_ms >= 150.0,
            "the second call waits ~200 ms for its slot, measured {} ms",
            second.queue_ms
        );
        assert!(
            second.latency_ms < 100.0,
            "the wait is not latency: {} ms",
            second.latency_ms
        );
    }

    struct NanCost;

    #[async_trait::async_trait]
    impl Arm for NanCost {
        fn id(&self) -> &str {
            "nan-cost"
        }
        fn spec(&self) -> String {
            "reports a NaN cost".into()
        }
        async fn call(&self, _input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
            let mut out = ArmOutput::text("yes");
            out.usage.cost_usd = Some(f64::NAN);
            Ok(out)
        }
    }

    /// Item 5: a NaN cost reported by an arm once reached the journal as `null` and the next
    /// open reported tampering. The call fails instead, naming the field.
    #[tokio::test]
    async fn an_arm_reporting_a_nan_cost_fails_the_call() {
        let opts = RunOptions::default();
        let ctx = CallCtx {
            row_id: crate::data::row::RowId::from("r1"),
            trial: 0,
            seed: 1,
        };
        let a = call_arm(
            &NanCost,
            &Value::Null,
            &ctx,
            &opts,
            &Limits::new(&opts),
            None,
        )
        .await;
        let err = a.result.err().unwrap_or_default();
        assert!(err.contains("usage.cost_usd = NaN"), "{err}");
        assert_eq!(a.attempts, 1, "not retried: the arm would say it again");
    }
}

//! Executing one call the way a paid API deserves: per-call timeout, retries with exponential
//! backoff and full jitter on retryable errors (honouring a retry-after hint), panics caught and
//! retried, optional request-rate and token-rate limits. [`RunOptions`] holds the knobs and the
//! progress callback; the orchestration lives in the runner (`run::runner`, crate-private).

use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx};
use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
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
    /// A second judge of another model family for the cross-judge check (G29).
    pub second_judge: Option<Arc<dyn Judge>>,
    /// Called after every finished call.
    pub progress: Option<ProgressFn>,
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
            second_judge: None,
            progress: None,
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
            .finish_non_exhaustive()
    }
}

/// The outcome of one call after its retries.
pub(crate) struct Attempted<T> {
    pub result: Result<T, String>,
    pub attempts: u32,
    pub errors: Vec<String>,
    pub latency_ms: f64,
}

enum Try<T> {
    Done(T),
    Retry(String, Option<Duration>),
    Fatal(String),
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
                .map(|r| Duration::from_secs_f64(1.0 / r)),
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
                *next = Some(slot + interval);
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
                    let used: u64 = w.iter().map(|(_, n)| n).sum();
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
    loop {
        attempt += 1;
        if let Some(l) = limits {
            l.acquire().await;
        }
        let start = Instant::now();
        let outcome = once().await;
        let latency_ms = start.elapsed().as_secs_f64() * 1e3;
        let (message, hint) = match outcome {
            Try::Done(v) => {
                return Attempted {
                    result: Ok(v),
                    attempts: attempt,
                    errors,
                    latency_ms,
                };
            }
            Try::Fatal(m) => {
                errors.push(m.clone());
                return Attempted {
                    result: Err(m),
                    attempts: attempt,
                    errors,
                    latency_ms,
                };
            }
            Try::Retry(m, hint) => (m, hint),
        };
        errors.push(message.clone());
        if attempt >= attempts_allowed {
            return Attempted {
                result: Err(format!("gave up after {attempt} attempts: {message}")),
                attempts: attempt,
                errors,
                latency_ms,
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
) -> Attempted<ArmOutput> {
    let attempted = with_retries(opts, ctx.seed ^ 0xA5A5, Some(limits), || async {
        let fut = AssertUnwindSafe(arm.call(input, ctx)).catch_unwind();
        match tokio::time::timeout(opts.timeout, fut).await {
            Err(_) => Try::Retry(format!("timed out after {:?}", opts.timeout), None),
            Ok(Err(p)) => Try::Retry(panic_text(p), None),
            Ok(Ok(Err(ArmError::Retryable {
                message,
                retry_after,
            }))) => Try::Retry(message, retry_after),
            Ok(Ok(Err(ArmError::Fatal(m)))) => Try::Fatal(m),
            Ok(Ok(Ok(out))) => Try::Done(out),
        }
    })
    .await;
    if let Ok(out) = &attempted.result {
        let tokens = out.usage.input_tokens.unwrap_or(0) + out.usage.output_tokens.unwrap_or(0);
        limits.record_tokens(tokens);
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
) -> Attempted<Judgement> {
    with_retries(opts, seed ^ 0x5A5A, None, || async {
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
}

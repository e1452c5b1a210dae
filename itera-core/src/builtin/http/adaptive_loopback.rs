//! The acceptance test of adaptive concurrency: a loopback server (127.0.0.1, written here) that
//! admits at most K requests at once and answers 429 above it; the runner's call path with an
//! `openai` arm against it converges near K and loses no call.

use super::mock::read_request;
use super::{OpenAiArm, OpenAiArmConfig};
use crate::run::adaptive::AdaptiveConcurrency;
use crate::run::arm::CallCtx;
use crate::run::exec::{self, Limits, RunOptions};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const K: usize = 5;
const MAX: usize = 24;
const CALLS: usize = 400;

#[derive(Default)]
struct Counts {
    in_flight: AtomicUsize,
    served: AtomicUsize,
    refused: AtomicUsize,
    peak: AtomicUsize,
}

async fn server(counts: Arc<Counts>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                if read_request(&mut sock).await.is_none() {
                    return;
                }
                let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                let (status, body, extra) = if now > K {
                    counts.in_flight.fetch_sub(1, Ordering::SeqCst);
                    counts.refused.fetch_add(1, Ordering::SeqCst);
                    (
                        429,
                        "{\"error\": {\"message\": \"too many requests\"}}".to_string(),
                        "retry-after: 0\r\n",
                    )
                } else {
                    counts.peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    counts.in_flight.fetch_sub(1, Ordering::SeqCst);
                    counts.served.fetch_add(1, Ordering::SeqCst);
                    let body = serde_json::json!({
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 1}
                    });
                    (200, body.to_string(), "")
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/v1")
}

/// Time-weighted mean of a (time, limit) trace over [from, to].
fn mean_over(trace: &[(f64, usize)], from: f64, to: f64) -> f64 {
    let mut w = 0.0;
    for (i, (t, l)) in trace.iter().enumerate() {
        let end = trace.get(i + 1).map_or(to, |n| n.0).min(to);
        let start = t.max(from);
        if end > start {
            w += (end - start) * *l as f64;
        }
    }
    w / (to - from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_concurrency_converges_near_k_and_loses_no_call() {
    let counts = Arc::new(Counts::default());
    let url = server(Arc::clone(&counts)).await;
    let cfg: OpenAiArmConfig = serde_json::from_value(
        serde_json::json!({"base_url": url, "model": "m", "user": "{input}"}),
    )
    .unwrap();
    let arm = OpenAiArm::new("cand", &cfg, std::path::Path::new(".")).unwrap();
    let adaptive = AdaptiveConcurrency::new();
    let opts = RunOptions {
        arm_concurrency: MAX,
        adaptive: Some(adaptive.clone()),
        max_attempts: 100,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        ..RunOptions::default()
    };
    let limits = Limits::new(&opts);
    let input = serde_json::json!("q");
    let results: Vec<bool> = futures::stream::iter(0..CALLS)
        .map(|i| {
            let (arm, opts, limits, input) = (&arm, &opts, &limits, &input);
            async move {
                let ctx = CallCtx {
                    row_id: format!("r{i}").into(),
                    trial: 0,
                    seed: i as u64,
                };
                exec::call_arm(arm, input, &ctx, opts, limits, None)
                    .await
                    .result
                    .is_ok()
            }
        })
        .buffer_unordered(MAX)
        .collect()
        .await;
    let lost = results.iter().filter(|ok| !**ok).count();
    let served = counts.served.load(Ordering::SeqCst);
    let refused = counts.refused.load(Ordering::SeqCst);
    assert_eq!(lost, 0, "no call is lost to throttling");
    assert_eq!(served, CALLS, "every call answered exactly once");
    assert!(counts.peak.load(Ordering::SeqCst) <= K);
    let report = adaptive.report();
    assert_eq!(report.len(), 1, "one limit per arm: {report:?}");
    let r = &report[0];
    let span = r.calls as f64 / r.calls_per_second;
    // Converged: over the second half of the run the limit averages within 20% of K.
    let settled = mean_over(&r.trace, span / 2.0, span);
    eprintln!(
        "K={K} max={MAX}: mean limit {settled:.2} over the second half, {:.1} calls/s, {refused} refusals, {} changes",
        r.calls_per_second,
        r.trace.len()
    );
    assert!(
        (settled - K as f64).abs() <= 0.2 * K as f64,
        "mean limit {settled:.2} is not within 20% of K = {K}; trace {:?}",
        r.trace
    );
    assert!(
        refused <= CALLS / 4,
        "{refused} refusals for {CALLS} calls: the limit did not settle below the endpoint's"
    );
    assert!(r.calls_per_second > 0.0 && r.max == MAX);
}

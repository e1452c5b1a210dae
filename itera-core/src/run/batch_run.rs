//! The batch path of the scored run (issue #18 item 2), run by `score_part` before its direct
//! calls: for every arm offering a [`BatchApi`](crate::run::batch::BatchApi), the part's pending
//! (row, trial) calls go out as batches within the provider's limits; each batch is journaled
//! (`batch-submitted`) the moment the provider accepts it, then polled until it ends; each result
//! is judged and journaled as an ordinary `call` record (priced with the batch discount), then
//! `batch-done`. A resumed run polls the batches submitted and not done instead of submitting
//! them again; whatever failed or came back without a result is left for the direct path (the
//! arm's own `call`).

use crate::data::row::RowId;
use crate::journal::event::Event;
use crate::journal::record::BatchItem;
use crate::run::arm::{ArmError, ArmOutput};
use crate::run::batch::{BatchCounts, BatchRequest, BatchStatus, chunks, custom_id};
use crate::run::cube::ScoreCube;
use crate::run::exec::{Attempted, Progress};
use crate::run::runner::{PartJob, RunError};
use crate::run::settle::{call_ctx, settle};
use crate::run::watch::Watch;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A batch accepted by a provider whose results are not journaled yet.
struct Open {
    a: usize,
    batch_id: String,
    /// (row index, trial) of request `i` (custom id `r{i}`); `None` for a row no longer in the
    /// part (its result is ignored).
    items: Vec<Option<(usize, u32)>>,
    since: Instant,
}

/// Runs the batch path of a part: submits, polls and journals the batches of every batch arm,
/// recording each result into the cube. Returns when no batch is open.
pub(crate) async fn batch_phase(
    job: &PartJob<'_>,
    phase: &'static str,
    cube: &mut ScoreCube,
    watch: &Watch,
) -> Result<(), RunError> {
    let batch_arms: Vec<usize> = (0..job.roster.arms.len())
        .filter(|&a| job.roster.arms[a].batch().is_some())
        .collect();
    if batch_arms.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let row_index: BTreeMap<&RowId, usize> = job
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.id, i))
        .collect();
    // The batches this part already submitted: a resume polls the open ones and never submits
    // their items again (test: `a_batch_run_killed_mid_poll_resumes_without_resubmitting` in
    // itera-cli/tests/batch.rs fails without it).
    let mut submitted: Vec<(String, String, String, Vec<BatchItem>)> = Vec::new();
    let mut done_ids = BTreeSet::new();
    job.store.scan_if(
        |p| !p.call,
        |e| match e.event {
            Event::BatchSubmitted {
                arm,
                spec_hash,
                part,
                batch_id,
                items,
                ..
            } if part == job.part => submitted.push((arm, spec_hash, batch_id, items)),
            Event::BatchDone { batch_id, .. } => {
                done_ids.insert(batch_id);
            }
            _ => {}
        },
    )?;
    let mut counts = BatchCounts::default();
    let mut open: Vec<Open> = Vec::new();
    for (arm, spec_hash, batch_id, items) in submitted {
        let Some(&a) = batch_arms
            .iter()
            .find(|&&a| job.roster.arms[a].id() == arm && job.roster.hashes[a] == spec_hash)
        else {
            continue;
        };
        counts.submitted += 1;
        if done_ids.contains(&batch_id) {
            counts.done += 1;
            continue;
        }
        let items = items
            .iter()
            .map(|it| row_index.get(&it.row).map(|&r| (r, it.trial)))
            .collect();
        open.push(Open {
            a,
            batch_id,
            items,
            since: Instant::now(),
        });
    }
    let trials = job.frame.trials;
    for &a in &batch_arms {
        let Some(api) = job.roster.arms[a].batch() else {
            continue;
        };
        let covered: BTreeSet<(usize, u32)> = open
            .iter()
            .filter(|o| o.a == a)
            .flat_map(|o| o.items.iter().flatten().copied())
            .collect();
        let pending: Vec<(usize, u32)> = (0..job.rows.len())
            .flat_map(|r| (0..trials).map(move |t| (r, t)))
            .filter(|&(r, t)| !cube.is_settled(a, r, t as usize) && !covered.contains(&(r, t)))
            .collect();
        // A request that cannot be written (a template naming a missing key) is left for the
        // direct path, which records its failure with the arm's own message.
        let mut lines = Vec::new();
        let mut keys = Vec::new();
        for (i, &(r, t)) in pending.iter().enumerate() {
            let req = BatchRequest {
                custom_id: custom_id(i),
                input: &job.rows[r].input,
                ctx: call_ctx(job, a, r, t),
            };
            if let Ok(line) = api.request_line(&req) {
                lines.push(line.to_string().len());
                keys.push((r, t));
            }
        }
        for (from, to) in chunks(&lines, api.max_requests(), api.max_bytes()) {
            let part_keys = &keys[from..to];
            let mut body = Vec::with_capacity(part_keys.len());
            for (i, &(r, t)) in part_keys.iter().enumerate() {
                let req = BatchRequest {
                    custom_id: custom_id(i),
                    input: &job.rows[r].input,
                    ctx: call_ctx(job, a, r, t),
                };
                body.push(
                    api.request_line(&req)
                        .map_err(|e| batch_error(job, a, &e))?,
                );
            }
            let batch_id = with_retries(job, || api.submit(&body))
                .await
                .map_err(|e| batch_error(job, a, &e))?;
            // Journaled the moment the provider accepted it, before the first poll.
            job.store.append(Event::BatchSubmitted {
                arm: job.roster.arms[a].id().to_string(),
                version: job.roster.versions[a],
                spec_hash: job.roster.hashes[a].clone(),
                part: job.part,
                provider: api.provider().to_string(),
                batch_id: batch_id.clone(),
                items: part_keys
                    .iter()
                    .map(|&(r, t)| BatchItem {
                        row: job.rows[r].id.clone(),
                        trial: t,
                    })
                    .collect(),
            })?;
            counts.submitted += 1;
            open.push(Open {
                a,
                batch_id,
                items: part_keys.iter().map(|&k| Some(k)).collect(),
                since: Instant::now(),
            });
        }
    }
    let report = |cube: &ScoreCube, counts: BatchCounts| {
        if let Some(cb) = &job.opts.progress {
            let total = cube.arms().len() * job.rows.len() * trials as usize;
            let settled = (0..cube.arms().len())
                .flat_map(|a| {
                    (0..job.rows.len())
                        .flat_map(move |r| (0..trials as usize).map(move |t| (a, r, t)))
                })
                .filter(|&(a, r, t)| cube.is_settled(a, r, t))
                .count();
            cb(&Progress {
                phase,
                done: settled,
                total,
                errors: 0,
                failed_calls: 0,
                cost_usd: 0.0,
                elapsed: started.elapsed(),
                waiting: None,
                batches: Some(counts),
            });
        }
    };
    let judge_slots = tokio::sync::Semaphore::new(job.opts.judge_concurrency.max(1));
    let mut first = true;
    while !open.is_empty() {
        counts.in_progress = open.len();
        report(cube, counts);
        if !first {
            let wait = open
                .iter()
                .filter_map(|o| job.roster.arms[o.a].batch().map(|b| b.poll_interval()))
                .min()
                .unwrap_or(Duration::from_secs(30));
            tokio::time::sleep(wait).await;
        }
        first = false;
        let mut still = Vec::new();
        for o in open {
            let Some(api) = job.roster.arms[o.a].batch() else {
                continue;
            };
            let status = with_retries(job, || api.poll(&o.batch_id))
                .await
                .map_err(|e| batch_error(job, o.a, &e))?;
            let BatchStatus::Ended(status) = status else {
                still.push(o);
                continue;
            };
            let results = with_retries(job, || api.results(&o.batch_id))
                .await
                .map_err(|e| batch_error(job, o.a, &e))?;
            let (succeeded, failed, errors) =
                journal_results(job, cube, &o, results, &judge_slots, watch).await?;
            job.store.append(Event::BatchDone {
                batch_id: o.batch_id.clone(),
                status,
                succeeded,
                failed,
                errors,
            })?;
            counts.done += 1;
        }
        open = still;
    }
    counts.in_progress = 0;
    report(cube, counts);
    Ok(())
}

/// Judges and journals the successful results of an ended batch (each once, and only for a cell
/// not already settled); returns (journaled, failed or missing, what the provider said about the
/// failed ones — journaled in `batch-done`, so no error text is lost; test:
/// `openai_batch_experiment_reaches_a_verdict_with_the_discount_priced` in itera-cli/tests/batch.rs).
async fn journal_results(
    job: &PartJob<'_>,
    cube: &mut ScoreCube,
    o: &Open,
    results: Vec<crate::run::batch::BatchResult>,
    judge_slots: &tokio::sync::Semaphore,
    watch: &Watch,
) -> Result<(usize, usize, Vec<String>), RunError> {
    let latency_ms = o.since.elapsed().as_secs_f64() * 1e3;
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    let mut good: Vec<(usize, u32, ArmOutput)> = Vec::new();
    for (cid, result) in results {
        let Some(i) = crate::run::batch::custom_index(&cid) else {
            continue;
        };
        let Some(Some((r, t))) = o.items.get(i).copied() else {
            continue;
        };
        if !seen.insert(i) {
            continue;
        }
        match result {
            Ok(out) if !cube.is_settled(o.a, r, t as usize) => good.push((r, t, out)),
            Ok(_) => {}
            Err(why) if errors.len() < crate::journal::record::BATCH_ERRORS_KEPT => {
                errors.push(format!("row {} trial {t}: {why}", job.rows[r].id));
            }
            Err(_) => {}
        }
    }
    let total = o.items.iter().flatten().count();
    let arm = job.roster.arms[o.a];
    let discount = job
        .frame
        .prices
        .get(arm.id())
        .and_then(|p| p.batch_discount)
        .or_else(|| arm.batch().map(|b| b.discount()));
    let mut settled = futures::stream::iter(good)
        .map(|(r, t, out)| async move {
            let ctx = call_ctx(job, o.a, r, t);
            let ticket = watch.enter(arm.id(), job.rows[r].id.as_str(), t);
            let called = Attempted {
                result: Ok(out),
                attempts: 1,
                errors: Vec::new(),
                latency_ms,
                // A batch waits at the provider, not in itera's queue.
                queue_ms: 0.0,
            };
            settle(job, o.a, r, &ctx, called, judge_slots, &ticket, discount).await
        })
        .buffer_unordered(job.opts.judge_concurrency.max(1));
    let mut journaled = 0;
    while let Some(done) = settled.next().await {
        let (a, r, rec) = done?;
        cube.record(a, r, &rec);
        journaled += 1;
    }
    Ok((journaled, total.saturating_sub(journaled), errors))
}

/// Runs a batch API request with the run's retries on retryable and load errors.
async fn with_retries<T, F, Fut>(job: &PartJob<'_>, mut once: F) -> Result<T, ArmError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ArmError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match tokio::time::timeout(job.opts.timeout, once()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(ArmError::Fatal(m))) => return Err(ArmError::Fatal(m)),
            Ok(Err(e)) if attempt >= job.opts.max_attempts.max(1) => return Err(e),
            Err(_) if attempt >= job.opts.max_attempts.max(1) => {
                return Err(ArmError::Retryable {
                    message: format!("timed out after {:?}", job.opts.timeout),
                    retry_after: None,
                });
            }
            Ok(Err(ArmError::Retryable { retry_after, .. }))
            | Ok(Err(ArmError::Overloaded { retry_after, .. })) => {
                let wait = job
                    .opts
                    .backoff_base
                    .saturating_mul(2u32.saturating_pow(attempt - 1))
                    .min(job.opts.backoff_max);
                tokio::time::sleep(retry_after.map_or(wait, |h| h.max(wait))).await;
            }
            Err(_) => {}
        }
    }
}

fn batch_error(job: &PartJob<'_>, a: usize, e: &ArmError) -> RunError {
    RunError::Batch {
        arm: job.roster.arms[a].id().to_string(),
        why: e.to_string(),
    }
}

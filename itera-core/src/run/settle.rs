//! One call of the scored run, from its answer to its journal record: [`one_call`] calls the
//! arm (timeout, retries, rate limits) and [`settle`] judges the answer, assigns the failure
//! modes, prices the tokens and journals the record before it counts (G24, G31). A batched call
//! (`run::batch_run`) reaches [`settle`] with the answer its batch returned, so its record is
//! the same as a direct call's.

use crate::hash;
use crate::journal::event::{CallOutcome, CallRecord, Event};
use crate::run::arm::{ArmOutput, CallCtx};
use crate::run::exec::{self, Attempted, Limits};
use crate::run::journaled::{journaled_raw, judge_call};
use crate::run::judge::JudgeView;
use crate::run::runner::{PartJob, RunError, call_seed};
use crate::run::watch::{Ticket, Watch};
use std::collections::BTreeSet;

/// One (arm, row, trial): call, judge, journal. Returns the record once it is journaled.
pub(crate) async fn one_call(
    job: &PartJob<'_>,
    a: usize,
    r: usize,
    trial: u32,
    limits: &Limits,
    judge_slots: &tokio::sync::Semaphore,
    watch: &Watch,
) -> Result<(usize, usize, CallRecord), RunError> {
    let arm = job.roster.arms[a];
    let row = &job.rows[r];
    let ctx = call_ctx(job, a, r, trial);
    let ticket = watch.enter(arm.id(), row.id.as_str(), trial);
    let called = exec::call_arm(arm, &row.input, &ctx, job.opts, limits, Some(&ticket)).await;
    settle(job, a, r, &ctx, called, judge_slots, &ticket, None).await
}

/// The context of the call (arm `a`, row `r`, trial): its per-call seed from the experiment
/// seed, the version, the row and the trial — the same for a direct and a batched call.
pub(crate) fn call_ctx(job: &PartJob<'_>, a: usize, r: usize, trial: u32) -> CallCtx {
    let row = &job.rows[r];
    CallCtx {
        row_id: row.id.clone(),
        trial,
        seed: call_seed(job.frame.seed, &job.roster.hashes[a], &row.id, trial),
    }
}

/// Judges an arm's answer and journals the call record (scored or failed) before it counts.
/// `batch_discount`: the call went through a provider batch, and its cost from the price table
/// is reduced by this fraction (issue #18 item 2; test:
/// `openai_batch_experiment_reaches_a_verdict_with_the_discount_priced` in
/// itera-cli/tests/batch.rs).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn settle(
    job: &PartJob<'_>,
    a: usize,
    r: usize,
    ctx: &CallCtx,
    called: Attempted<ArmOutput>,
    judge_slots: &tokio::sync::Semaphore,
    ticket: &Ticket<'_>,
    batch_discount: Option<f64>,
) -> Result<(usize, usize, CallRecord), RunError> {
    let arm = job.roster.arms[a];
    let spec_hash = &job.roster.hashes[a];
    let row = &job.rows[r];
    let trial = ctx.trial;
    let mut errors = called.errors;
    let mut attempts = called.attempts;
    let mut latency_ms = called.latency_ms;
    // Rounded to 0.1 ms: the journal carries timings, not clock noise.
    let mut queue_ms = Some((called.queue_ms * 10.0).round() / 10.0);
    let mut server_ms = None;
    let outcome = match called.result {
        Err(error) => CallOutcome::Failed { error },
        Ok(mut out) => {
            if let Some(l) = out.recorded_latency_ms {
                latency_ms = l;
                queue_ms = None;
            }
            server_ms = out.server_ms;
            let view = JudgeView {
                input: &row.input,
                expected: row.expected.as_ref(),
            };
            let judged = {
                let _slot = judge_slots.acquire().await;
                exec::call_judge(
                    job.judge,
                    view,
                    &out.output,
                    ctx.seed,
                    job.opts,
                    Some(ticket),
                )
                .await
            };
            attempts += judged.attempts.saturating_sub(1);
            errors.extend(judged.errors);
            let (judge_attempts, judge_latency) = (judged.attempts, judged.latency_ms);
            match judged.result {
                Err(error) => CallOutcome::Failed { error },
                Ok(j) => {
                    let taxonomy: BTreeSet<&str> = job
                        .frame
                        .failure_modes
                        .iter()
                        .map(|m| m.id.as_str())
                        .collect();
                    // R4: registered rules assign categories the judge did not (modes.rs).
                    let assigned = crate::run::modes::with_rule_modes(
                        job.frame,
                        &out.output,
                        j.score,
                        j.failure_modes,
                    );
                    let assigned = crate::run::modes::with_truncation(
                        job.frame,
                        out.usage.truncated,
                        j.score,
                        assigned,
                    );
                    let (known, deferred): (Vec<String>, Vec<String>) = assigned
                        .into_iter()
                        .partition(|m| taxonomy.contains(m.as_str()));
                    let cost_usd = out.usage.cost_usd.or_else(|| {
                        // Cache tokens at their own rates (G28; test:
                        // anthropic_cache_tokens_are_priced_at_cache_rates_in_data_json).
                        let u = &out.usage;
                        let full = job.frame.prices.get(arm.id())?.cost_with_cache(
                            u.input_tokens?,
                            u.output_tokens?,
                            u.cache_read_tokens.unwrap_or(0),
                            u.cache_write_tokens.unwrap_or(0),
                        );
                        Some(batch_discount.map_or(full, |d| full * (1.0 - d)))
                    });
                    let raw = journaled_raw(out.raw.take(), &out.output);
                    // An LLM judge's call is journaled like the arm's (issue #13 hole 10).
                    let judge_call = crate::run::crossjudge::is_llm_judge(job.judge).then(|| {
                        judge_call(job.judge, j.raw, j.usage, judge_attempts, judge_latency)
                    });
                    CallOutcome::Scored {
                        output: out.output,
                        raw,
                        score: j.score,
                        failure_modes: known,
                        deferred_findings: deferred,
                        judge: job.judge.id().to_string(),
                        rubric_hash: job.judge.rubric().map(|r| hash::sha256_hex(r.as_bytes())),
                        usage: out.usage,
                        cost_usd,
                        judge_call,
                        // The paths the arm reports it took (G38), read by a no-effect iteration.
                        trace: out.trace,
                    }
                }
            }
        }
    };
    let rec = CallRecord {
        arm: arm.id().to_string(),
        version: job.roster.versions[a],
        spec_hash: spec_hash.clone(),
        row: row.id.clone(),
        part: job.part,
        trial,
        attempts,
        errors,
        latency_ms,
        queue_ms,
        server_ms,
        outcome,
    };
    job.store.append(Event::Call(rec.clone()))?;
    Ok((a, r, rec))
}

//! The gate before any scored call: the manifest, written on the first run and checked on every
//! later one, so the arms' specs and the judge and its rubric never change under a run (G8,
//! G23); and the pilot on one train row (G22), which calls every arm once and refuses a failed
//! call, a placeholder or empty output (unless the arm declares empty output legal), an arm
//! declared deterministic whose second call on the same row differs (G25), a declared token /
//! cost / latency report that is missing, or a judge that cannot score. A passed pilot is journaled and not run again.

use crate::data::row::Row;
use crate::frame::Frame;
use crate::journal::event::{Event, PilotArm};
use crate::journal::store::Store;
use crate::run::arm::CallCtx;
use crate::run::exec::{self, Limits, Progress, RunOptions};
use crate::run::judge::{Judge, JudgeView};
use crate::run::runner::{Roster, RunError, call_seed, judge_tag};
use crate::run::watch::{Watch, with_heartbeat};
use serde_json::Value;
use std::time::Instant;

/// Writes the manifest, or checks the arms and judge against the one written before (G8, G23).
pub(crate) fn manifest(
    store: &Store,
    roster: &Roster<'_>,
    judge: &dyn Judge,
) -> Result<(), RunError> {
    let (judge_id, rubric_hash) = judge_tag(judge);
    let arms: Vec<(String, String)> = roster
        .arms
        .iter()
        .zip(&roster.hashes)
        .map(|(a, h)| (a.id().to_string(), h.clone()))
        .collect();
    let mut recorded = None;
    store.scan_if(
        |p| !p.call,
        |e| match e.event {
            Event::Manifest {
                judge,
                rubric_hash,
                arms,
                ..
            } if recorded.is_none() => recorded = Some((judge, rubric_hash, arms)),
            _ => {}
        },
    )?;
    match recorded {
        Some((j, r, recorded_arms)) => {
            // G8: enforced here; removing this check fails tests/guards_enforced.rs::manifest_rewritten_to_another_judge_is_refused_on_resume
            if j != judge_id || r != rubric_hash {
                return Err(RunError::JudgeChanged {
                    recorded: format!("{j} rubric {r:?}"),
                    found: format!("{judge_id} rubric {rubric_hash:?}"),
                });
            }
            for ((id, h), (_, rh)) in arms.iter().zip(&recorded_arms) {
                if h != rh {
                    return Err(RunError::SpecChanged {
                        arm: id.clone(),
                        recorded: rh.clone(),
                        found: h.clone(),
                    });
                }
            }
            Ok(())
        }
        None => {
            store.append(Event::Manifest {
                judge: judge_id,
                judge_family: judge.family().map(str::to_string),
                rubric_hash,
                arms,
                specs: roster.specs.clone(),
                arm_families: roster
                    .arms
                    .iter()
                    .map(|a| a.family().map(str::to_string))
                    .collect(),
            })?;
            Ok(())
        }
    }
}

const PLACEHOLDERS: [&str; 8] = [
    "todo",
    "placeholder",
    "lorem",
    "(…)",
    "(...)",
    "tbd",
    "<stub>",
    "fixme",
];

/// An output that looks like a stub rather than an answer (G22). An empty answer is a real
/// "no answer", not a placeholder.
fn looks_like_placeholder(output: &Value) -> Option<String> {
    let text = match output {
        Value::String(s) => s.trim().to_lowercase(),
        Value::Null => return None,
        other => other.to_string().to_lowercase(),
    };
    PLACEHOLDERS
        .iter()
        .find(|p| text == **p || text.contains(&format!("{p} ")) || text.starts_with(*p))
        .map(|p| format!("the output looks like a placeholder ('{p}')"))
}

/// What kind of empty an output is, if it is empty: `null`, a blank string, an empty array or
/// object (G22).
fn empty_kind(output: &Value) -> Option<&'static str> {
    match output {
        Value::Null => Some("null"),
        Value::String(s) if s.trim().is_empty() => Some("an empty string"),
        Value::Array(xs) if xs.is_empty() => Some("an empty array"),
        Value::Object(m) if m.is_empty() => Some("an empty object"),
        _ => None,
    }
}

/// An output shortened for an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Runs the pilot (G22), or finds the passed pilot in the journal.
pub(crate) async fn pilot(
    frame: &Frame,
    row: Option<&Row>,
    roster: &Roster<'_>,
    judge: &dyn Judge,
    store: &Store,
    opts: &RunOptions,
) -> Result<(), RunError> {
    // G29 at registration: refused before the manifest and before any call.
    crate::run::crossjudge::require(roster, judge, opts)?;
    manifest(store, roster, judge)?;
    let mut passed = false;
    store.scan_if(
        |p| !p.call,
        |e| {
            if let Event::PilotPassed { arms, .. } = e.event {
                passed |= arms.iter().map(|a| &a.spec_hash).eq(roster.hashes.iter());
            }
        },
    )?;
    if passed {
        return Ok(());
    }
    let row = row.ok_or(RunError::NoPilotRow)?;
    let limits = Limits::new(opts);
    let watch = Watch::default();
    let mut checked = Vec::new();
    for (arm, spec_hash) in roster.arms.iter().zip(&roster.hashes) {
        let fail = |field: &str, why: String| -> RunError {
            let event = Event::PilotFailed {
                arm: arm.id().to_string(),
                field: field.to_string(),
                why: why.clone(),
            };
            match store.append(event) {
                Ok(_) => RunError::Pilot {
                    arm: arm.id().to_string(),
                    field: field.to_string(),
                    why,
                },
                Err(e) => RunError::Store(e),
            }
        };
        let ctx = CallCtx {
            row_id: row.id.clone(),
            trial: 0,
            seed: call_seed(frame.seed, spec_hash, &row.id, 0),
        };
        let ticket = watch.enter(arm.id(), row.id.as_str(), 0);
        let at = Instant::now();
        let beat = |done: usize| {
            move || Progress {
                phase: "pilot",
                done,
                total: roster.arms.len(),
                errors: 0,
                failed_calls: 0,
                cost_usd: 0.0,
                elapsed: at.elapsed(),
                waiting: None,
                batches: None,
            }
        };
        // A hung pilot call is named while it waits (#14 item 8; test:
        // a_waiting_call_is_named_in_progress_in_pilot_and_dev in tests/runner.rs).
        let call = exec::call_arm(*arm, &row.input, &ctx, opts, &limits, Some(&ticket));
        let out = match with_heartbeat(call, opts, &watch, beat(checked.len()))
            .await
            .result
        {
            Ok(o) => o,
            Err(e) => return Err(fail("output", format!("the call failed: {e}"))),
        };
        // G22: enforced here; removing this check fails tests/runner.rs::the_pilot_refuses_placeholders_missing_usage_and_bad_scores
        if let Some(why) = looks_like_placeholder(&out.output) {
            return Err(fail("output", why));
        }
        // G22: an empty answer is refused unless the arm declares it legal. Enforcement tested by
        // tests/integrity_run.rs `attack_empty_string_output_passes_the_pilot` and
        // `attack_null_output_passes_the_pilot`.
        if !arm.allows_empty_output()
            && let Some(what) = empty_kind(&out.output)
        {
            return Err(fail(
                "output",
                format!(
                    "the pilot call returned {what}: an arm that answers nothing is broken, not wrong; fix the arm, or implement Arm::allows_empty_output to return true if an empty answer is a legal one"
                ),
            ));
        }
        // G25: `deterministic = true` is checked, not taken on the user's word: a second call on
        // the same row must return the same output. Enforcement tested by
        // tests/integrity_run.rs `attack_declared_deterministic_arm_that_is_not`.
        let determinism_checked = if frame.deterministic {
            let call = exec::call_arm(*arm, &row.input, &ctx, opts, &limits, Some(&ticket));
            let again = match with_heartbeat(call, opts, &watch, beat(checked.len()))
                .await
                .result
            {
                Ok(o) => o,
                Err(e) => {
                    return Err(fail(
                        "deterministic",
                        format!("the repeated pilot call (determinism check) failed: {e}"),
                    ));
                }
            };
            if again.output != out.output {
                return Err(fail(
                    "deterministic",
                    format!(
                        "arm {} is not deterministic: two calls on row {} returned {} and then {}; set deterministic = false and use trials ≥ 3",
                        arm.id(),
                        row.id,
                        short(&out.output),
                        short(&again.output)
                    ),
                ));
            }
            true
        } else {
            false
        };
        let reports = arm.reports();
        if reports.tokens && (out.usage.input_tokens.is_none() || out.usage.output_tokens.is_none())
        {
            return Err(fail(
                "usage.tokens",
                "the arm declares it reports tokens but the call returned none".into(),
            ));
        }
        if reports.cost && out.usage.cost_usd.is_none_or(|c| !c.is_finite() || c < 0.0) {
            return Err(fail(
                "usage.cost_usd",
                "the arm declares it reports cost but the call returned none (or a negative / non-finite one)".into(),
            ));
        }
        if reports.latency
            && out
                .recorded_latency_ms
                .is_none_or(|l| !l.is_finite() || l < 0.0)
        {
            return Err(fail(
                "recorded_latency_ms",
                "the arm declares a recorded latency but the call returned none".into(),
            ));
        }
        let view = JudgeView {
            input: &row.input,
            expected: row.expected.as_ref(),
        };
        let call = exec::call_judge(judge, view, &out.output, ctx.seed, opts, Some(&ticket));
        let judged = with_heartbeat(call, opts, &watch, beat(checked.len())).await;
        let score = match judged.result {
            Ok(j) => j.score,
            Err(e) => return Err(fail("score", e)),
        };
        checked.push(PilotArm {
            arm: arm.id().to_string(),
            spec_hash: spec_hash.clone(),
            score,
            determinism_checked,
        });
    }
    store.append(Event::PilotPassed {
        row: row.id.clone(),
        arms: checked,
    })?;
    Ok(())
}

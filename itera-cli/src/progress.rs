//! Progress on stderr, fed by the runner's [`itera_core::RunOptions::progress`] callback.
//!
//! On a terminal: one bar per phase (pilot, dev baseline, dev arms, iteration, test) with calls
//! done/total, failed attempts, calls that failed after retries, dollars spent and an ETA. Without
//! a terminal (CI, nohup, `2> log`): one plain line per phase every 10 s or every 5 % of its
//! calls, and when it ends, so a long live run is never silent (item 9); when no call has finished
//! for `[run] heartbeat_s` (10 s by default) a line names the call waiting longest — arm, row,
//! trial, attempt of max, time so far and the time-out (item 8). The ETA is computed from
//! this process's rate on the calls it made, so a resumed run does not count journaled calls as
//! instant work.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use itera_core::{Progress, ProgressFn, Waiting};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A progress callback: bars on a terminal, plain lines otherwise; `None` when `enabled` is
/// false (`-q`).
pub fn bars(enabled: bool) -> Option<ProgressFn> {
    if !enabled {
        return None;
    }
    if !std::io::stderr().is_terminal() {
        return Some(lines(Duration::from_secs(10)));
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>12} [{bar:30}] {pos}/{len} calls · {msg} · {elapsed_precise} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let state: Arc<Mutex<HashMap<&'static str, ProgressBar>>> = Arc::default();
    Some(Arc::new(move |p: &Progress| {
        let mut bars = state.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(p.phase).or_insert_with(|| {
            let b = multi.add(ProgressBar::new(p.total as u64));
            b.set_style(style.clone());
            b.set_prefix(p.phase);
            b
        });
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(match &p.waiting {
            Some(w) => format!(
                "waiting on `{}` row {} (attempt {} of {}, {} of time-out {})",
                w.arm,
                w.row,
                w.attempt,
                w.max_attempts,
                human(w.in_attempt),
                human(w.timeout)
            ),
            None => match p.batches {
                Some(b) => format!(
                    "batches {} submitted, {} in progress, {} done",
                    b.submitted, b.in_progress, b.done
                ),
                None => format!(
                    "{} errors, {} failed, ${:.4}",
                    p.errors, p.failed_calls, p.cost_usd
                ),
            },
        });
        if p.done >= p.total {
            bar.finish();
        }
    }))
}

/// What the line printer remembers about the current phase.
#[derive(Debug, Clone)]
pub(crate) struct PhaseState {
    phase: &'static str,
    /// `done` when this process first heard of the phase, and when.
    first_done: usize,
    first_at: Instant,
    printed_at: Instant,
    printed_step: usize,
}

/// Seconds left at this process's rate on the calls it made (`None` before the first one).
pub(crate) fn eta(
    first_done: usize,
    elapsed: Duration,
    done: usize,
    total: usize,
) -> Option<Duration> {
    let made = done.checked_sub(first_done)?;
    if made == 0 || elapsed.is_zero() {
        return None;
    }
    let per_call = elapsed.as_secs_f64() / made as f64;
    Duration::try_from_secs_f64(per_call * total.saturating_sub(done) as f64).ok()
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// One progress line: phase, done/total, failures, cost, ETA.
pub(crate) fn line(p: &Progress, eta: Option<Duration>) -> String {
    let eta = match (p.done >= p.total, eta) {
        (true, _) => "done".to_string(),
        (false, Some(d)) => format!("ETA {}", human(d)),
        (false, None) => "ETA ?".to_string(),
    };
    let batches = match p.batches {
        Some(b) => format!(
            " · batches {} submitted, {} in progress, {} done",
            b.submitted, b.in_progress, b.done
        ),
        None => String::new(),
    };
    format!(
        "itera: {}: {}/{} calls · {} failed attempts, {} failed calls · ${:.4}{batches} · {}",
        p.phase, p.done, p.total, p.errors, p.failed_calls, p.cost_usd, eta
    )
}

fn say(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// The line naming a call that has not answered yet (a heartbeat from the runner, item 8).
pub(crate) fn waiting_line(p: &Progress, w: &Waiting) -> String {
    let who = match w.stage {
        "judge" => format!("the judge of arm `{}`", w.arm),
        _ => format!("arm `{}`", w.arm),
    };
    format!(
        "itera: {}: waiting on {who} row {} trial {}, attempt {} of {}, {} so far (time-out {}); {} call(s) in flight, {}/{} done",
        p.phase,
        w.row,
        w.trial,
        w.attempt,
        w.max_attempts,
        human(w.in_attempt),
        human(w.timeout),
        w.in_flight,
        p.done,
        p.total
    )
}

/// Plain progress lines on stderr every `every` (or 5 % of the calls, or a phase's end), and a
/// line naming the waiting call on each heartbeat of the runner (no call finished for
/// [`itera_core::RunOptions::heartbeat`]).
pub(crate) fn lines(every: Duration) -> ProgressFn {
    let state: Arc<Mutex<Option<PhaseState>>> = Arc::default();
    Arc::new(move |p: &Progress| {
        let now = Instant::now();
        let mut g = state.lock().unwrap_or_else(|e| e.into_inner());
        if g.as_ref().is_none_or(|s| s.phase != p.phase) {
            *g = Some(PhaseState {
                phase: p.phase,
                first_done: p.done,
                first_at: now,
                printed_at: now,
                printed_step: usize::MAX,
            });
        }
        let Some(s) = g.as_mut() else { return };
        if let Some(w) = &p.waiting {
            say(&waiting_line(p, w));
            s.printed_at = now;
            return;
        }
        let step = p.done.saturating_mul(20).checked_div(p.total).unwrap_or(20);
        let end = p.done >= p.total;
        if s.printed_step == usize::MAX
            || end
            || step > s.printed_step
            || s.printed_at.elapsed() >= every
        {
            if end && s.printed_step == 20 {
                return;
            }
            let eta = eta(
                s.first_done,
                now.duration_since(s.first_at),
                p.done,
                p.total,
            );
            say(&line(p, eta));
            s.printed_at = now;
            s.printed_step = if end { 20 } else { step };
        }
    })
}

/// The longest a call that never answers holds its slot: `max_attempts` × `timeout` plus the
/// longest backoffs between attempts.
pub(crate) fn worst_call_wait(o: &itera_core::RunOptions) -> Duration {
    let attempts = o.max_attempts.max(1);
    let mut total = o.timeout.saturating_mul(attempts);
    for a in 1..attempts {
        let b = o
            .backoff_base
            .saturating_mul(2u32.saturating_pow(a - 1))
            .min(o.backoff_max);
        total = total.saturating_add(b);
    }
    total
}

/// A note printed before live calls when a hung call could hold the run for over a minute
/// (item 8: a child that never answered kept the pilot silent for ~10 minutes).
pub(crate) fn worst_wait_note(o: &itera_core::RunOptions) -> Option<String> {
    let w = worst_call_wait(o);
    (w > Duration::from_secs(60)).then(|| {
        format!(
            "itera: a call that never answers is given up after {} attempts × {} timeout = up to {} with backoff; set [run] timeout_s and max_attempts to change this",
            o.max_attempts,
            human(o.timeout),
            human(w)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Item 8: the defaults (5 × 120 s) are reported before a long wait: 600 s plus backoffs of
    /// 0.5 + 1 + 2 + 4 s = 607.5 s.
    #[test]
    fn the_worst_wait_of_a_hung_call_is_reported() {
        let o = itera_core::RunOptions::default();
        assert_eq!(worst_call_wait(&o), Duration::from_millis(607_500));
        let note = worst_wait_note(&o).unwrap_or_default();
        assert!(
            note.contains("5 attempts × 2m00s timeout = up to 10m07s"),
            "{note}"
        );
        let short = itera_core::RunOptions {
            max_attempts: 1,
            timeout: Duration::from_secs(2),
            ..itera_core::RunOptions::default()
        };
        assert_eq!(worst_wait_note(&short), None);
    }

    /// Item 9: on resume the ETA counts only this process's calls: 60 of 100 were journaled,
    /// 10 made in 20 s → 30 left at 2 s each = 60 s (not 40 × 20/70 s).
    #[test]
    fn eta_on_resume_uses_this_process_rate() {
        assert_eq!(
            eta(60, Duration::from_secs(20), 70, 100),
            Some(Duration::from_secs(60))
        );
        assert_eq!(eta(60, Duration::from_secs(20), 60, 100), None);
        assert_eq!(eta(0, Duration::ZERO, 0, 0), None);
    }
}

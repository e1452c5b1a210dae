//! Progress bars on stderr, fed by the runner's [`itera_core::RunOptions::progress`] callback:
//! one bar per phase (pilot, dev baseline, dev arms, iteration, test) with calls done/total,
//! failed attempts, calls that failed after retries, dollars spent and an ETA. Hidden when stderr
//! is not a terminal (CI logs get the phase summaries from `tracing` instead).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use itera_core::{Progress, ProgressFn};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

/// A progress callback drawing bars, or `None` when bars are off or stderr is not a terminal.
pub fn bars(enabled: bool) -> Option<ProgressFn> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
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
        bar.set_message(format!(
            "{} errors, {} failed, ${:.4}",
            p.errors, p.failed_calls, p.cost_usd
        ));
        if p.done >= p.total {
            bar.finish();
        }
    }))
}

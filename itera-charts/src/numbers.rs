//! Numbers as the three charts print them: signed percentage points with a real minus sign,
//! percentages, dollars, and the "nice" axis ticks with the decimals their step needs.

/// A signed difference in pp with a real minus sign: `−3.3pp`, `+8.9pp`, `0.0pp`.
pub(crate) fn pp(fraction: f64) -> String {
    itera_core::iterate::diagnosis::pp(fraction)
}

/// [`pp`] without the unit, for interval bounds: `−8.8`, `+2.2`.
pub(crate) fn pp_bare(fraction: f64) -> String {
    pp(fraction).trim_end_matches("pp").to_string()
}

/// A delta with its interval: `−3.3pp [−8.8, +2.2]`.
pub(crate) fn pp_ci(delta: f64, lo: f64, hi: f64) -> String {
    format!("{} [{}, {}]", pp(delta), pp_bare(lo), pp_bare(hi))
}

/// A score as a percentage with one decimal, with a real minus sign: `72.3%`.
pub(crate) fn pct(fraction: f64) -> String {
    let v = (fraction * 1000.0).round() / 10.0;
    if v < 0.0 {
        format!("−{:.1}%", -v)
    } else {
        format!("{:.1}%", v.abs())
    }
}

/// A US-dollar amount with `decimals` decimals.
pub(crate) fn usd(v: f64, decimals: usize) -> String {
    if v < 0.0 {
        format!("−${:.*}", decimals, -v)
    } else {
        format!("${:.*}", decimals, v.abs())
    }
}

/// Decimals needed to print multiples of `step` exactly (at least `min`, at most 6): 2.5 needs
/// one, 0.05 two, 5 none.
pub(crate) fn decimals_for(step: f64, min: usize) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return min;
    }
    let d = (0..=6)
        .find(|&d| {
            let v = step * 10f64.powi(d as i32);
            (v - v.round()).abs() < 1e-6 * v.abs().max(1.0)
        })
        .unwrap_or(6);
    d.max(min)
}

/// Tick label with a real minus sign (`−10`, `0`, `+5`), for pp axes.
pub(crate) fn signed_tick(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let zero = s.chars().all(|c| c == '0' || c == '.');
    if zero {
        s
    } else if v < 0.0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// Unsigned tick label with a real minus sign for negatives.
pub(crate) fn plain_tick(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let zero = s.chars().all(|c| c == '0' || c == '.');
    if v < 0.0 && !zero {
        format!("−{s}")
    } else {
        s
    }
}

/// "Nice" ticks (steps of 1, 2, 2.5 or 5 × 10^k) covering `[lo, hi]`, about `target` of them.
/// Returns the step and the ticks inside the range.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (f64, Vec<f64>) {
    let span = (hi - lo).abs().max(1e-12);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            // Snap away floating noise such as 0.30000000000000004.
            (v / step).round() * step
        })
        .collect();
    (step, ticks)
}

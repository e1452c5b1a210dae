//! `--junit FILE`: the verdict as a JUnit XML report, one test case per candidate arm, for a CI
//! job's test view. Ship and ship narrowly pass (the claim in `<system-out>`: decision, Δ [CI],
//! slices shipped to); kill is a `<failure>` carrying the failing rules; inconclusive is
//! `<skipped>` carrying the minimum detectable effect and the test rows a new experiment would
//! need. Everything is drawn from the hash-checked `data.json` and `verdict.json` (G40), so a
//! re-run or `itera verdict` on a finished directory writes the same bytes. Also home to the
//! per-arm outcome the Markdown summary shares, and the atomic write both use.

use crate::error::CliError;
use itera_core::report::{ArmInfo, EffectSize, ReportData};
use itera_core::{Decision, Verdict};
use std::fmt::Write as _;
use std::path::Path;

/// Signed pp with one decimal ("+1.5pp", "−0.5pp"), as the text summary writes them.
pub(crate) fn pp(x: f64) -> String {
    let v = x * 100.0;
    if v >= 0.0 {
        format!("+{v:.1}pp")
    } else {
        format!("\u{2212}{:.1}pp", -v)
    }
}

/// "Δ = +3.0pp [+1.0pp, +5.0pp]".
pub(crate) fn delta_ci(e: &EffectSize) -> String {
    format!(
        "\u{394} = {} [{}, {}]",
        pp(e.delta),
        pp(e.ci_low),
        pp(e.ci_high)
    )
}

/// One candidate arm's outcome on test.
pub(crate) struct ArmOutcome<'a> {
    /// The arm.
    pub(crate) arm: &'a ArmInfo,
    /// Its own decision (the verdict's per-arm trace), not the experiment's.
    pub(crate) decision: Decision,
    /// Its effect vs the baseline on test (absent for an arm killed before test).
    pub(crate) effect: Option<EffectSize>,
    /// Major slices its claim covers (ship / ship narrowly).
    pub(crate) slices: Vec<String>,
    /// Why: the failing rules (kill), the power shortfall (inconclusive), else empty.
    pub(crate) why: String,
    /// Test rows a new experiment needs for its MDE to reach T (inconclusive only).
    pub(crate) rows_needed: Option<usize>,
}

/// Reads `verdict.json` (hash-checked by the caller, G40), for the per-arm rule trace.
pub(crate) fn load_verdict(dir: &Path) -> Result<Verdict, CliError> {
    let path = dir.join(itera_core::report::VERDICT_FILE);
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::bad(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::bad(format!(
            "{} is not an itera verdict: {e}; run `itera verify {}`",
            path.display(),
            dir.display()
        ))
    })
}

/// Every non-baseline arm with its own decision. An arm without a trace in `verdict.json` (the
/// gate killed it before test) is a kill: never a pass by default.
pub(crate) fn outcomes<'a>(report: &'a ReportData, verdict: &Verdict) -> Vec<ArmOutcome<'a>> {
    let t = report.experiment.threshold_pp / 100.0;
    report
        .arms
        .iter()
        .filter(|a| !a.baseline)
        .map(|arm| {
            let trace = verdict.arms.iter().find(|v| v.arm == arm.id);
            let decision = trace.map_or(Decision::Kill, |v| v.decision);
            let effect = report.effect(&arm.id, None);
            let failing: Vec<String> = trace
                .map(|v| {
                    v.rules
                        .iter()
                        .filter(|c| c.passed == Some(false))
                        .map(|c| format!("{} failed: {}", c.rule, c.detail))
                        .collect()
                })
                .unwrap_or_default();
            let power = trace.and_then(|v| v.power);
            // MDE ∝ 1/√n: n' = n · (MDE / T)², as conclusion.md's "What to test next" sizes it.
            let rows_needed = power
                .filter(|p| decision == Decision::Inconclusive && t > 0.0 && p.mde > 0.0)
                .map(|p| report.experiment.test_n as f64 * (p.mde / t).powi(2))
                .filter(|n| n.is_finite())
                .map(|n| n.ceil() as usize);
            let why = match decision {
                Decision::Kill if failing.is_empty() => {
                    if report.verdict.killed.contains(&arm.id) || arm.killed {
                        format!("{} was killed: {}", arm.id, report.verdict.rationale.trim())
                    } else {
                        report.verdict.rationale.trim().to_string()
                    }
                }
                Decision::Kill => failing.join("; "),
                Decision::Inconclusive => {
                    let mut s = String::from("underpowered for T");
                    if let Some(p) = power {
                        let _ = write!(s, ": minimum detectable effect {} > T", pp(p.mde));
                    }
                    s
                }
                _ => String::new(),
            };
            ArmOutcome {
                arm,
                decision,
                effect,
                slices: trace.map(|v| v.passing_slices.clone()).unwrap_or_default(),
                why,
                rows_needed,
            }
        })
        .collect()
}

/// Escapes text for XML 1.0 attribute values and character data; characters XML 1.0 cannot
/// carry at all (control characters other than tab, LF, CR) become U+FFFD.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document.
pub(crate) fn render(report: &ReportData, verdict: &Verdict) -> String {
    let name = xml_escape(&report.experiment.name);
    let cases = outcomes(report, verdict);
    let failures = cases
        .iter()
        .filter(|c| c.decision == Decision::Kill)
        .count();
    let skipped = cases
        .iter()
        .filter(|c| c.decision == Decision::Inconclusive)
        .count();
    let counts = format!(
        r#"tests="{}" failures="{failures}" errors="0" skipped="{skipped}""#,
        cases.len()
    );
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, r#"<testsuites name="itera" {counts}>"#);
    let _ = writeln!(x, r#"  <testsuite name="{name}" {counts}>"#);
    let n = report.experiment.test_n;
    for c in &cases {
        let effect = c.effect.map_or_else(
            || "no test effect".to_string(),
            |e| format!("{} over {} test rows", delta_ci(&e), e.n),
        );
        // G15: every case of a reused test set carries the label.
        let effect = match &report.verdict.not_fresh_test_set {
            Some(label) => format!("{effect} [{label} (G15)]"),
            None => effect,
        };
        let _ = write!(
            x,
            r#"    <testcase name="{}" classname="itera.{name}""#,
            xml_escape(&c.arm.id)
        );
        match c.decision {
            Decision::Ship | Decision::ShipNarrowly => {
                let chosen = report.verdict.arm.as_deref() == Some(c.arm.id.as_str());
                let mut claim = format!(
                    "{}: {effect}; slices: {}",
                    c.decision.as_str(),
                    c.slices.join(", ")
                );
                if !chosen {
                    let _ = write!(
                        claim,
                        "; passes the rules but is not the arm the verdict chose ({})",
                        report.verdict.arm.as_deref().unwrap_or("none")
                    );
                }
                let _ = writeln!(
                    x,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml_escape(&claim)
                );
            }
            Decision::Kill => {
                let msg = format!("kill: {effect}; {}", c.why);
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}\" type=\"kill\"/>\n    </testcase>",
                    xml_escape(&msg)
                );
            }
            Decision::Inconclusive => {
                let need = c.rows_needed.map_or_else(
                    || format!("a larger sealed test set than {n} test rows"),
                    |k| format!("need ≈ {k} test rows (this one had {n})"),
                );
                let msg = format!("inconclusive: {effect}; {}; {need}", c.why);
                let _ = writeln!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(&msg)
                );
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Writes `bytes` to `path` atomically: a temp file beside it, synced, then renamed over it — a
/// reader (the CI uploader) never sees half a file, and a failed write leaves the old one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], what: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| {
        CliError::run(format!(
            "cannot write the {what} {}: {e}; the verdict stands — fix the path and re-run the same command (it prints the recorded verdict)",
            path.display()
        ))
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail(std::io::Error::other("the path names no file")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::xml_escape;

    #[test]
    fn xml_escape_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            xml_escape("a<b>&\"c'd\u{1}\te"),
            "a&lt;b&gt;&amp;&quot;c&apos;d\u{FFFD}\te"
        );
    }
}

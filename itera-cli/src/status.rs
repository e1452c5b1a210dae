//! `itera status` (where an experiment stands, from its journal alone: no file, no calls) and
//! `itera verify` (re-check every hash: the journal's chain, the registration files against the
//! journal, `data.json`, `verdict.json` and `conclusion.md` against the verdict, the kept experiment file against its record).

use crate::error::CliError;
use crate::pipeline::{COPY_FILE, META_FILE, open_read_only, open_read_only_with, read_meta};
use itera_core::iterate::iteration::Ledger;
use itera_core::{CallOutcome, Event, Part};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Where the experiment stands, as JSON.
pub fn status(dir: &Path) -> Result<Value, CliError> {
    // One streaming pass, the verified opening one (#17: status opened the journal and then
    // decoded it all again): the call records — nearly every line — are counted as they go by;
    // only the other events are kept, for the ledger (it reads no call).
    let mut lines = 0usize;
    let mut entries = Vec::new();
    let mut phases: Vec<&'static str> = Vec::new();
    let mut calls: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut cost = 0.0;
    let mut pilot_failed: Option<String> = None;
    let mut verdict = Value::Null;
    let mut test_n = None;
    let mut dev_n = None;
    let visit = |e: &itera_core::Entry| {
        lines += 1;
        let phase = match &e.event {
            Event::Registered { .. } => Some("registered"),
            Event::Split {
                test_n: t, dev_ids, ..
            } => {
                test_n = Some(*t);
                dev_n = Some(dev_ids.len());
                Some("split")
            }
            Event::PilotPassed { .. } => {
                pilot_failed = None;
                Some("piloted")
            }
            Event::PilotFailed {
                arm, field, why, ..
            } => {
                pilot_failed = Some(format!("arm '{arm}', {field}: {why}"));
                None
            }
            Event::DevScored { .. } => Some("dev scored"),
            Event::Gate(_) => Some("gated"),
            Event::Sealed { .. } => Some("sealed"),
            Event::SealedOpened { .. } => Some("test opened"),
            Event::VerdictReached {
                decision,
                arm,
                slices,
                rationale,
                ..
            } => {
                verdict = json!({"decision": decision, "arm": arm, "slices": slices, "rationale": rationale, "at": e.at});
                Some("verdict")
            }
            Event::Call(rec) => {
                let part = match rec.part {
                    Part::Train => "train",
                    Part::Dev => "dev",
                    Part::Test => "test",
                };
                let c = calls.entry(part.to_string()).or_default();
                c.0 += 1;
                match &rec.outcome {
                    CallOutcome::Failed { .. } => c.1 += 1,
                    CallOutcome::Scored { cost_usd, .. } => cost += cost_usd.unwrap_or(0.0),
                }
                None
            }
            _ => None,
        };
        if let Some(p) = phase
            && !phases.contains(&p)
        {
            phases.push(p);
        }
        if !matches!(e.event, Event::Call(_)) {
            entries.push(e.clone());
        }
    };
    let store = open_read_only_with(dir, visit)?;
    // A finished verdict is shown only while its report files are the ones it wrote (G40).
    itera_core::report::check_report_files(&store)
        .map_err(|e| CliError::bad(format!("{}: {e}", dir.display())))?;
    let ledger = Ledger::from_entries(&entries);
    let versions: Vec<Value> = ledger
        .versions
        .iter()
        .map(|v| {
            json!({"arm": v.key.arm, "version": v.key.version, "sprint": v.sprint,
                   "hypothesis": v.hypothesis, "outcome": v.outcome})
        })
        .collect();
    let gate = ledger.gates.last().map(|g| {
        json!(g.arms.iter().map(|a| json!({"arm": a.arm, "version": a.version, "outcome": a.outcome, "reason": a.reason})).collect::<Vec<_>>())
    });
    let next = if !verdict.is_null() {
        "done: the experiment is concluded (G46); a follow-up is a new experiment"
    } else if pilot_failed.is_some() {
        "fix the arm the pilot refused, then `itera run` again"
    } else if phases.contains(&"dev scored") {
        "diagnose / iterate, or `itera verdict DIR` for the gate, seal and the one test pass"
    } else {
        "`itera run FILE --out DIR` continues from the journal"
    };
    Ok(json!({
        "directory": dir.display().to_string(),
        "name": store.registration()?.map(|r| r.frame.name),
        "journal_lines": lines,
        "phases": phases,
        "dev_rows": dev_n,
        "test_rows": test_n,
        "calls": calls.iter().map(|(p, (n, f))| (p.clone(), json!({"calls": n, "failed": f}))).collect::<serde_json::Map<_, _>>(),
        "cost_usd": cost,
        "pilot_failed": pilot_failed,
        "sprint": ledger.sprint,
        "sprint_iterations": ledger.sprint_iterations,
        "sprint_closed": ledger.sprint_closed,
        "revealed_rows": ledger.seen.len(),
        "versions": versions,
        "gate": gate,
        "killed": ledger.killed,
        "locked": ledger.locked,
        "verdict": verdict,
        "next": next,
    }))
}

/// The status as text.
pub fn status_text(v: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({})",
        v["name"].as_str().unwrap_or("?"),
        v["directory"].as_str().unwrap_or("")
    );
    let phases: Vec<&str> = v["phases"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let _ = writeln!(s, "  phases done: {}", phases.join(" → "));
    if let Some(calls) = v["calls"].as_object() {
        for (part, c) in calls {
            let _ = writeln!(s, "  {part} calls: {} ({} failed)", c["calls"], c["failed"]);
        }
    }
    let _ = writeln!(s, "  cost: ${:.4}", v["cost_usd"].as_f64().unwrap_or(0.0));
    if let Some(p) = v["pilot_failed"].as_str() {
        let _ = writeln!(s, "  pilot FAILED: {p}");
    }
    let _ = writeln!(
        s,
        "  sprint {} ({} iteration(s){}), {} revealed dev row(s)",
        v["sprint"],
        v["sprint_iterations"],
        if v["sprint_closed"].as_bool() == Some(true) {
            ", closed"
        } else {
            ""
        },
        v["revealed_rows"]
    );
    if let Some(vs) = v["versions"].as_array() {
        for ver in vs.iter().filter(|x| x["version"].as_u64() > Some(0)) {
            let _ = writeln!(
                s,
                "    {} v{}: {} → {}",
                ver["arm"].as_str().unwrap_or(""),
                ver["version"],
                ver["hypothesis"].as_str().unwrap_or(""),
                ver["outcome"].as_str().unwrap_or("not scored yet")
            );
        }
    }
    if let Some(g) = v["gate"].as_array() {
        for a in g {
            let _ = writeln!(
                s,
                "  gate: {} v{} → {} ({})",
                a["arm"].as_str().unwrap_or(""),
                a["version"],
                a["outcome"].as_str().unwrap_or(""),
                a["reason"].as_str().unwrap_or("")
            );
        }
    }
    if !v["verdict"].is_null() {
        let _ = writeln!(
            s,
            "  verdict: {}{} ({})",
            v["verdict"]["decision"].as_str().unwrap_or(""),
            v["verdict"]["arm"]
                .as_str()
                .map(|a| format!(" '{a}'"))
                .unwrap_or_default(),
            v["verdict"]["at"].as_str().unwrap_or("")
        );
    }
    let _ = writeln!(s, "  next: {}", v["next"].as_str().unwrap_or(""));
    s
}

/// Re-checks every hash of a directory. Returns the lines checked; an error (exit 2) names the
/// first thing that does not match.
pub fn verify(dir: &Path) -> Result<Vec<String>, CliError> {
    let mut ok = Vec::new();
    // Opening verifies the chain line by line (every line, from the first) and the registration
    // files against the journal: one full pass, not three (issue #17).
    let store = open_read_only(dir).map_err(|e| CliError::bad(e.message))?;
    ok.push(format!(
        "journal.jsonl: {} lines, hash chain intact",
        store.verified_lines()
    ));
    ok.push("registration.json and frame.md match the journal's registered event".into());
    // data.json, verdict.json and conclusion.md against the hashes the verdict journaled (G40).
    let files = itera_core::report::check_report_files(&store)
        .map_err(|e| CliError::bad(format!("{}: {e}", dir.display())))?;
    if files.is_empty() {
        ok.push("no verdict yet: report files not checked".into());
    }
    ok.extend(files);
    if dir.join(META_FILE).is_file() && dir.join(COPY_FILE).is_file() {
        let meta = read_meta(dir)?;
        let bytes = std::fs::read(dir.join(COPY_FILE))
            .map_err(|e| CliError::run(format!("{COPY_FILE}: {e}")))?;
        let found = crate::hex_sha256(&bytes);
        if found != meta.sha256 {
            return Err(CliError::bad(format!(
                "{} was edited after the run started (SHA-256 {found}, recorded {}): restore it",
                dir.join(COPY_FILE).display(),
                meta.sha256
            )));
        }
        ok.push("experiment.toml matches its recorded hash".into());
    }
    Ok(ok)
}

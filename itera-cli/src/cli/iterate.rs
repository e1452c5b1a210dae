//! The subcommands that work on a scored experiment directory: `diagnose` and `reveal` (through
//! [`scored_from_dir`], which refuses a directory without scored dev and, for anything that
//! writes, one that has its verdict, G46), `iterate` (an edited arm becomes a new version with its
//! hypothesis, G33), `gate` (the generalization gate with the user's change classes, G35) and
//! `label-audit` (G18: the sample of the baseline's failing dev rows, then the reviewer's count).

use crate::config::Loaded;
use crate::error::CliError;
use crate::pipeline::{self, Setup};
use itera_core::iterate::gate::ChangeClass;
use itera_core::{Event, RowId};
use std::path::{Path, PathBuf};

pub(super) async fn scored_from_dir(
    dir: &Path,
    experiment: Option<&Path>,
    bars: bool,
    mutates: bool,
) -> Result<(itera_core::Experiment<itera_core::Scored>, Setup), CliError> {
    let store = pipeline::open_existing(dir)?;
    let mut dev_scored = false;
    store.scan(|e| dev_scored |= matches!(e.event, Event::DevScored { .. }))?;
    if !dev_scored {
        return Err(CliError::bad(format!(
            "{}: dev is not scored yet: run `itera run FILE --out {} --stop-after dev` first",
            dir.display(),
            dir.display()
        )));
    }
    if mutates && pipeline::has_verdict(&store)? {
        return Err(CliError::bad(format!(
            "{}: the experiment has its verdict (G46): nothing follows it; a follow-up is a new experiment with fresh rows",
            dir.display()
        )));
    }
    drop(store);
    let loaded = pipeline::load_for_dir(dir, experiment)?;
    let mut setup = pipeline::setup(loaded).await?;
    setup.opts.progress = crate::progress::bars(bars);
    let pool = pipeline::pool(dir, &setup)?;
    let exp = pipeline::to_scored(dir, &setup, pool, setup.rows.clone()).await?;
    Ok((exp, setup))
}

/// `itera label-audit DIR [--record agree=K,total=N]` (G18): without `--record`, prints the
/// sample (journaled on first show); with it, records the reviewer's count. Exit 0; a malformed
/// `--record` or a count that does not match the sample is bad input (2).
pub(super) fn label_audit(
    exp: &itera_core::Experiment<itera_core::Scored>,
    record: Option<&str>,
) -> Result<i32, CliError> {
    let synthetic = exp.frame().synthetic_source;
    let Some(record) = record else {
        let rows = exp.label_audit_sample()?;
        outln!(
            "label audit (G18): {} dev row(s) the baseline fails{} — check each label against the source of truth{}",
            rows.len(),
            if rows.len() == itera_core::LABEL_AUDIT_MAX_ROWS {
                " (a seeded sample)"
            } else {
                ""
            },
            if synthetic {
                ""
            } else {
                " (not required: the source is real)"
            }
        );
        for r in &rows {
            let input = serde_json::to_string(&r.input).unwrap_or_default();
            let label = r
                .expected
                .as_ref()
                .map_or("(none)".to_string(), |v| v.to_string());
            outln!("{}  slice={}  label={label}  input={input}", r.id, r.slice);
        }
        outln!(
            "then: itera label-audit DIR --record agree=K,total={} (K = rows whose label is right)",
            rows.len()
        );
        return Ok(0);
    };
    let (agreed, reviewed) = parse_record(record)?;
    exp.record_label_audit(agreed, reviewed)?;
    outln!("label audit recorded: {agreed}/{reviewed} labels confirmed (G18)");
    Ok(0)
}

/// Parses `agree=K,total=N`.
fn parse_record(s: &str) -> Result<(usize, usize), CliError> {
    let bad = || {
        CliError::bad(format!(
            "--record '{s}': write agree=K,total=N (K of the N shown rows have a correct label), e.g. --record agree=28,total=30"
        ))
    };
    let (mut agree, mut total) = (None, None);
    for part in s.split(',') {
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        let n: usize = v.trim().parse().map_err(|_| bad())?;
        match k.trim() {
            "agree" => agree = Some(n),
            "total" => total = Some(n),
            _ => return Err(bad()),
        }
    }
    Ok((agree.ok_or_else(bad)?, total.ok_or_else(bad)?))
}

fn parse_class(s: &str) -> Result<ChangeClass, CliError> {
    match s {
        "universal" => Ok(ChangeClass::Universal),
        "lifted-out" => Ok(ChangeClass::LiftedOut),
        "deleted" => Ok(ChangeClass::Deleted),
        "hardcode" => Ok(ChangeClass::Hardcode),
        other => Err(CliError::bad(format!(
            "class '{other}': use universal, lifted-out, deleted or hardcode"
        ))),
    }
}

pub(super) async fn iterate(
    dir: &Path,
    arm: &str,
    hypothesis: &str,
    class: Option<&str>,
    experiment: Option<PathBuf>,
    bars: bool,
) -> Result<i32, CliError> {
    let class = class.map(parse_class).transpose()?;
    // The edited file: --experiment, else the file the run started from.
    let edited = match experiment {
        Some(p) => p,
        None => {
            let meta = pipeline::read_meta(dir)?;
            if !meta.source.is_file() {
                return Err(CliError::bad(format!(
                    "{} (the file the run started from) is gone: pass the edited file with --experiment FILE",
                    meta.source.display()
                )));
            }
            meta.source
        }
    };
    let edited_loaded = Loaded::read(&edited)?;
    let (index, section) = edited_loaded
        .file
        .arms
        .iter()
        .enumerate()
        .find(|(_, a)| a.id == arm)
        .ok_or_else(|| {
            CliError::bad(format!(
                "{}: no arm '{arm}' in [[arms]]: give the id of a candidate arm",
                edited.display()
            ))
        })?;
    let (exp, setup) = scored_from_dir(dir, None, bars, true).await?;
    let store = pipeline::open_existing(dir)?;
    pipeline::check_frame(
        &store,
        &pipeline::registered_frame(&edited_loaded)?,
        &edited,
    )?;
    let ids: Vec<RowId> = setup.rows.iter().map(|r| r.id.clone()).collect();
    let new_arm = pipeline::build_arm(&edited_loaded, index, section, &ids, setup.frame.trials)?;
    let spec_hash = crate::hex_sha256(new_arm.spec().as_bytes());
    let ledger = exp.ledger()?;
    if ledger
        .versions
        .iter()
        .any(|v| v.key.arm == arm && v.key.spec_hash == spec_hash && v.key.version == 0)
    {
        return Err(CliError::bad(format!(
            "{}: arm '{arm}' is unchanged (its definition is the registered version): edit the arm in the file, then iterate (G33)",
            edited.display()
        )));
    }
    if let Some(raw) = edited_loaded.raw_arms.get(index) {
        pipeline::save_version(dir, arm, &spec_hash, raw)?;
    }
    let exp = exp.iterate(new_arm, hypothesis, class).await?;
    let ledger = exp.ledger()?;
    let entries = pipeline::entries(exp.store())?;
    let outcome = entries.iter().rev().find_map(|e| match &e.event {
        Event::IterationOutcome {
            arm: a,
            version,
            outcome,
            delta,
            lower,
            upper,
            closes_sprint,
            reason,
            path_check,
            ..
        } if a == arm => Some(format!(
            "{arm} v{version}: {outcome:?}, Δ vs previous {:+.2}pp [{:+.2}, {:+.2}]{}: {reason}{}",
            delta * 100.0,
            lower * 100.0,
            upper * 100.0,
            if *closes_sprint {
                " — closes the sprint"
            } else {
                ""
            },
            // G38: did the changed path run on the failing rows (a no-effect iteration).
            path_check
                .as_ref()
                .map_or(String::new(), |p| format!("; {p}"))
        )),
        _ => None,
    });
    outln!(
        "{}",
        outcome.unwrap_or_else(|| format!("{arm}: recorded (sprint {})", ledger.sprint))
    );
    Ok(0)
}

pub(super) async fn gate(
    dir: &Path,
    classify: &[String],
    experiment: Option<&Path>,
    bars: bool,
) -> Result<i32, CliError> {
    let mut parsed: Vec<(String, u32, ChangeClass)> = Vec::new();
    for c in classify {
        let parts: Vec<&str> = c.split(':').collect();
        let [a, v, k] = parts.as_slice() else {
            return Err(CliError::bad(format!(
                "--classify {c}: use ARM:VERSION:CLASS, e.g. v2:1:universal"
            )));
        };
        let v: u32 = v
            .parse()
            .map_err(|_| CliError::bad(format!("--classify {c}: VERSION must be a number")))?;
        parsed.push((a.to_string(), v, parse_class(k)?));
    }
    let (exp, _setup) = scored_from_dir(dir, experiment, bars, true).await?;
    let classes: Vec<(&str, u32, ChangeClass)> = parsed
        .iter()
        .map(|(a, v, k)| (a.as_str(), *v, *k))
        .collect();
    let gated = exp.gate(&classes)?;
    let report = gated.gate_report();
    outln!("gate, sprint {}:", report.sprint);
    for a in &report.arms {
        outln!("  {} v{}: {:?} — {}", a.arm, a.version, a.outcome, a.reason);
        for c in &a.changes {
            outln!(
                "    v{}: counted as {:?}{}{}",
                c.version,
                c.class,
                if c.leaks.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; leaks: {}",
                        c.leaks
                            .iter()
                            .map(|l| l.literal.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                c.seen_unseen
                    .as_ref()
                    .map(|s| format!(
                        "; seen gain {:+.2}pp vs unseen {:+.2}pp (p = {:.3})",
                        s.seen_gain * 100.0,
                        s.unseen_gain * 100.0,
                        s.p_value
                    ))
                    .unwrap_or_default()
            );
        }
    }
    Ok(0)
}

/// One line per dev call on a revealed row: arm version, trial, score, the answer, and the
/// model's raw reply where the arm kept one (failed calls with their error).
pub(super) fn call_lines(calls: &[itera_core::CallRecord]) -> Vec<String> {
    use itera_core::journal::event::CallOutcome;
    calls
        .iter()
        .map(|c| {
            let head = format!("{} v{} trial {}", c.arm, c.version, c.trial);
            match &c.outcome {
                CallOutcome::Scored {
                    output, raw, score, ..
                } => {
                    let raw = raw
                        .as_ref()
                        .map_or(String::new(), |r| format!(" · raw reply: {r:?}"));
                    format!("{head}: score {score} · answer {output}{raw}")
                }
                CallOutcome::Failed { error } => format!("{head}: failed · {error}"),
            }
        })
        .collect()
}

//! Records `examples/txn-categories/recorded.csv`: runs every `openai` arm of
//! `experiment.live.toml` over every row of `rows.csv` against a live OpenAI-compatible server
//! (one trial, the arm's own temperature — 0 in the shipped file), through the same
//! [`itera_cli::openai::OpenAiArm`] the CLI uses, and writes one line per (row, arm) with the
//! answer, the token counts the server reported and the measured latency. That file is what the
//! default `experiment.toml` replays.
//!
//! ```text
//! examples/local-llm/local-llm.sh
//! cargo run --release -p itera-examples --example record_txn -- \
//!     [--base-url http://127.0.0.1:8089/v1] [--dir examples/txn-categories] [--limit N]
//! ```
//!
//! Prints the wall time, the tokens and each arm's accuracy (normalized match, as the experiment
//! scores it) when it is done. Calls are made one at a time: a small local server answers one
//! request at a time anyway, and the recorded latencies then are per-call service times.

use itera_cli::openai::{OpenAiArm, OpenAiArmConfig};
use itera_core::data::load::{Columns, CsvDataset};
use itera_core::run::judges::normalize;
use itera_core::{Arm, ArmError, CallCtx, Row};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Args {
    base_url: Option<String>,
    dir: PathBuf,
    limit: Option<usize>,
}

fn args() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        base_url: None,
        dir: PathBuf::from("examples/txn-categories"),
        limit: None,
    };
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--base-url" => a.base_url = Some(value()?),
            "--dir" => a.dir = PathBuf::from(value()?),
            "--limit" => a.limit = Some(value()?.parse().map_err(|e| format!("--limit: {e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// The rows and the `openai` arms (id, configuration) of the live experiment file.
type Loaded = (Vec<Row>, Vec<(String, OpenAiArmConfig)>);

/// The rows as the experiment file's `[data]` table reads them, and its `openai` arms.
fn load(dir: &Path) -> Result<Loaded, String> {
    let path = dir.join("experiment.live.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut data = file
        .get("data")
        .and_then(toml::Value::as_table)
        .cloned()
        .ok_or("no [data] table")?;
    let data_path = data
        .remove("path")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or("[data] has no path")?;
    let columns: Columns = toml::Value::Table(data)
        .try_into()
        .map_err(|e| format!("[data]: {e}"))?;
    let rows = CsvDataset::new(dir.join(data_path), columns)
        .read()
        .map_err(|e| e.to_string())?;
    let mut arms = Vec::new();
    for arm in file
        .get("arms")
        .and_then(toml::Value::as_array)
        .ok_or("no [[arms]]")?
    {
        let id = arm
            .get("id")
            .and_then(toml::Value::as_str)
            .ok_or("an arm without id")?;
        let cfg: OpenAiArmConfig = arm
            .get("openai")
            .cloned()
            .ok_or(format!("arm {id} is not an openai arm"))?
            .try_into()
            .map_err(|e| format!("arm {id}: {e}"))?;
        arms.push((id.to_string(), cfg));
    }
    Ok((rows, arms))
}

/// A per-call seed from the row id (FNV-1a), so a re-recording sends the same seeds.
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let (mut rows, arms) = load(&a.dir)?;
    if let Some(n) = a.limit {
        rows.truncate(n);
    }
    let started = Instant::now();
    let mut out = csv::Writer::from_path(a.dir.join("recorded.csv"))?;
    out.write_record([
        "id",
        "arm",
        "output",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ])?;
    println!(
        "recording {} arms x {} rows against {}",
        arms.len(),
        rows.len(),
        a.base_url.as_deref().unwrap_or("the base_url of each arm")
    );
    for (id, mut cfg) in arms {
        if let Some(url) = &a.base_url {
            cfg.base_url = url.clone();
        }
        let arm = OpenAiArm::new(&id, &cfg, &a.dir)?;
        let arm_started = Instant::now();
        let (mut correct, mut tin, mut tout, mut empty) = (0usize, 0u64, 0u64, 0usize);
        for row in &rows {
            let ctx = CallCtx {
                row_id: row.id.clone(),
                trial: 0,
                seed: seed_of(row.id.as_str()),
            };
            let t0 = Instant::now();
            let mut attempt = 0;
            let got = loop {
                match arm.call(&row.input, &ctx).await {
                    Err(ArmError::Retryable {
                        message,
                        retry_after,
                    }) if attempt < 4 => {
                        attempt += 1;
                        eprintln!("{id} {}: {message}; retrying", row.id.as_str());
                        tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(2))).await;
                    }
                    other => break other,
                }
            };
            let latency = t0.elapsed().as_secs_f64() * 1000.0;
            let got = got?;
            let answer = got.output.as_str().unwrap_or_default().to_string();
            let expected = row
                .expected
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            correct += usize::from(normalize(&answer) == normalize(expected));
            empty += usize::from(answer.is_empty());
            let (i, o) = (
                got.usage.input_tokens.unwrap_or(0),
                got.usage.output_tokens.unwrap_or(0),
            );
            tin += i;
            tout += o;
            out.write_record([
                row.id.as_str(),
                id.as_str(),
                answer.as_str(),
                &i.to_string(),
                &o.to_string(),
                &format!("{latency:.1}"),
            ])?;
        }
        println!(
            "{id}: accuracy {correct}/{} ({:.1}%), {empty} empty answers, tokens in {tin} out {tout}, {:.1} s",
            rows.len(),
            100.0 * correct as f64 / rows.len().max(1) as f64,
            arm_started.elapsed().as_secs_f64()
        );
    }
    out.flush()?;
    println!(
        "wrote {} in {:.1} s",
        a.dir.join("recorded.csv").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

//! The `replay` arm: outputs recorded elsewhere (a published run, a production log), read once
//! from a CSV or JSONL file into a map keyed by (row id, trial) and served without a call.
//!
//! ```toml
//! replay = { path = "runs.csv", id = ["task", "idx"], output = "pred", filter = { variant = "cot" } }
//! ```
//!
//! - **id**: one or more columns, joined like [`RowId::composite`] (`task/idx`), so they match the
//!   data file's composite ids.
//! - **output**: the recorded answer. An EMPTY recorded output is a real "no answer", scored by
//!   the judge (usually 0); it is not an error.
//! - **trial** (optional): a 0-based trial column; without it every trial replays the same output.
//! - **filter**: keep only lines whose column equals the value (a long-format file with one line
//!   per (variant, row) is read as it is).
//! - **score**, **input_tokens**, **output_tokens**, **cost**, **latency_ms** or **latency_s** (optional): recorded
//!   columns. The arm's [`Arm::reports`] declares the usage it has, so the pilot checks it. A
//!   recorded `score` is read by the `recorded` scorer: the arm then answers
//!   `{"output": <recorded output>, "score": <recorded score>}` (see [`super::recorded`]).
//!
//! Every row id of the data needs a recording (for every trial when a trial column is given): a
//! missing one is an error when the arm is built, with the count and a few examples.

use crate::data::row::RowId;
use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx, Reports, Usage};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

/// `replay = { ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// The recording (CSV, or JSONL / NDJSON), relative to the experiment file.
    pub path: String,
    /// Id column(s), joined with `/` like the data's composite ids.
    #[serde(deserialize_with = "crate::data::load::one_or_many")]
    pub id: Vec<String>,
    /// The recorded output column.
    pub output: String,
    /// A 0-based trial column.
    #[serde(default)]
    pub trial: Option<String>,
    /// Keep only lines whose column equals the value.
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
    /// A recorded score column (read by the `recorded` scorer).
    #[serde(default)]
    pub score: Option<String>,
    /// Recorded input tokens.
    #[serde(default)]
    pub input_tokens: Option<String>,
    /// Recorded output tokens.
    #[serde(default)]
    pub output_tokens: Option<String>,
    /// Recorded cost in USD.
    #[serde(default)]
    pub cost: Option<String>,
    /// Recorded latency in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<String>,
    /// Recorded latency in seconds (converted to milliseconds); instead of `latency_ms`.
    #[serde(default)]
    pub latency_s: Option<String>,
}

#[derive(Debug, Clone)]
struct Recorded {
    output: Value,
    score: Option<f64>,
    /// The recorded usage; `None` when the recording reports none (most do not: kept out of
    /// line, a 100k-row arm's map is 14 MB, not 24, #17).
    usage: Option<Box<Usage>>,
    latency_ms: Option<f64>,
}

/// A replay arm: one recorded output per (row id, trial).
#[derive(Debug)]
pub struct ReplayArm {
    id: String,
    spec: String,
    family: Option<String>,
    reports: Reports,
    by_trial: bool,
    embed_score: bool,
    recordings: HashMap<(RowId, u32), Recorded>,
}

/// One line of a recording, as text cells by column name (CSV) or JSON values (JSONL).
enum Line {
    Csv(csv::StringRecord),
    Json(Map<String, Value>),
}

struct Reader<'a> {
    headers: Option<HashMap<String, usize>>,
    file: &'a str,
}

impl Reader<'_> {
    fn cell(&self, line: &Line, column: &str) -> Option<Value> {
        match line {
            Line::Csv(rec) => {
                let i = *self.headers.as_ref()?.get(column)?;
                rec.get(i).map(|s| Value::String(s.to_string()))
            }
            Line::Json(map) => map.get(column).cloned(),
        }
    }

    fn text(&self, line: &Line, column: &str) -> Option<String> {
        self.cell(line, column).map(|v| match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        })
    }

    fn number(&self, line: &Line, column: &str, at: u64) -> Result<Option<f64>, String> {
        match self.cell(line, column) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(format!(
                    "{} line {at}: column '{column}' holds '{s}', not a finite number; fix the value or leave the cell empty",
                    self.file
                )),
            },
            Some(other) => Err(format!(
                "{} line {at}: column '{column}' holds {other}, not a number",
                self.file
            )),
        }
    }
}

impl ReplayArm {
    /// Reads the recording and checks that every id in `row_ids` has an output for every trial
    /// in `0..trials` (or one output, without a trial column). `embed_score`: answer
    /// `{"output", "score"}` for the `recorded` scorer.
    pub fn load(
        id: &str,
        cfg: &ReplayConfig,
        base_dir: &Path,
        family: Option<String>,
        row_ids: &[RowId],
        trials: u32,
        embed_score: bool,
    ) -> Result<ReplayArm, String> {
        let path = if Path::new(&cfg.path).is_absolute() {
            Path::new(&cfg.path).to_path_buf()
        } else {
            base_dir.join(&cfg.path)
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            format!(
                "cannot read {}: {e}; paths are relative to the experiment file",
                path.display()
            )
        })?;
        let file_name = path.display().to_string();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let mut lines: Vec<(u64, Line)> = Vec::new();
        let mut reader = Reader {
            headers: None,
            file: &file_name,
        };
        let mut columns: Vec<String> = Vec::new();
        match ext.as_str() {
            "csv" => {
                let mut rdr = csv::ReaderBuilder::new()
                    .flexible(false)
                    .from_reader(bytes.as_slice());
                let headers = rdr
                    .headers()
                    .map_err(|e| format!("{file_name}: cannot read the header line: {e}"))?
                    .clone();
                columns = headers.iter().map(str::to_string).collect();
                reader.headers = Some(
                    headers
                        .iter()
                        .enumerate()
                        .map(|(i, h)| (h.to_string(), i))
                        .collect(),
                );
                for rec in rdr.records() {
                    // "line N" first, like the data loaders (item 10; test: the
                    // `replay/line3-*` case of itera-cli/tests/bad-input).
                    let rec = rec.map_err(|e| match e.position() {
                        Some(p) => format!(
                            "{file_name} line {}: {e}; quote fields that contain commas, quotes or line breaks",
                            p.line()
                        ),
                        None => format!("{file_name}: {e}"),
                    })?;
                    let line = rec.position().map_or(0, |p| p.line());
                    lines.push((line, Line::Csv(rec)));
                }
            }
            "jsonl" | "ndjson" => {
                for (i, l) in bytes.lines().enumerate() {
                    let l = l.map_err(|e| format!("{file_name}: {e}"))?;
                    if l.trim().is_empty() {
                        continue;
                    }
                    let v: Value = serde_json::from_str(&l)
                        .map_err(|e| format!("{file_name} line {}: not JSON: {e}", i + 1))?;
                    let Value::Object(map) = v else {
                        return Err(format!(
                            "{file_name} line {}: not a JSON object; one object per line",
                            i + 1
                        ));
                    };
                    if columns.is_empty() {
                        columns = map.keys().cloned().collect();
                    }
                    lines.push(((i + 1) as u64, Line::Json(map)));
                }
            }
            other => {
                return Err(format!(
                    "{file_name}: cannot tell the format from the extension '.{other}'; use .csv or .jsonl"
                ));
            }
        }
        // Every configured column must exist.
        let mut wanted: Vec<&str> = cfg.id.iter().map(String::as_str).collect();
        wanted.push(&cfg.output);
        wanted.extend(cfg.filter.keys().map(String::as_str));
        for c in [
            &cfg.trial,
            &cfg.score,
            &cfg.input_tokens,
            &cfg.output_tokens,
            &cfg.cost,
            &cfg.latency_ms,
            &cfg.latency_s,
        ]
        .into_iter()
        .flatten()
        {
            wanted.push(c);
        }
        if cfg.latency_ms.is_some() && cfg.latency_s.is_some() {
            return Err(
                "both latency_ms and latency_s are given: name the latency column once, in its unit"
                    .into(),
            );
        }
        if cfg.id.is_empty() {
            return Err("no id column given: id = [\"...\"]".into());
        }
        if !lines.is_empty() {
            for c in &wanted {
                if !columns.iter().any(|h| h == c) {
                    return Err(format!(
                        "{file_name}: column '{c}' not found (columns are: {}); fix the column name",
                        columns.join(", ")
                    ));
                }
            }
        }
        let mut recordings = HashMap::new();
        let mut kept = 0usize;
        for (at, line) in &lines {
            if !cfg
                .filter
                .iter()
                .all(|(c, v)| reader.text(line, c).as_deref() == Some(v.as_str()))
            {
                continue;
            }
            kept += 1;
            let parts: Vec<String> = cfg
                .id
                .iter()
                .map(|c| reader.text(line, c).unwrap_or_default())
                .collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(format!("{file_name} line {at}: an id column is empty"));
            }
            let row = RowId::composite(&parts);
            let trial = match &cfg.trial {
                None => 0,
                Some(c) => {
                    let t = reader.text(line, c).unwrap_or_default();
                    t.trim().parse::<u32>().map_err(|_| {
                        format!(
                            "{file_name} line {at}: trial column '{c}' holds '{t}', not a 0-based trial index"
                        )
                    })?
                }
            };
            let output = match reader.cell(line, &cfg.output) {
                None | Some(Value::Null) => Value::String(String::new()),
                Some(v) => v,
            };
            let int = |c: &Option<String>| -> Result<Option<u64>, String> {
                match c {
                    None => Ok(None),
                    Some(c) => Ok(reader
                        .number(line, c, *at)?
                        .filter(|x| *x >= 0.0)
                        .map(|x| x.round() as u64)),
                }
            };
            let num = |c: &Option<String>| -> Result<Option<f64>, String> {
                match c {
                    None => Ok(None),
                    Some(c) => reader.number(line, c, *at),
                }
            };
            let usage = Usage {
                input_tokens: int(&cfg.input_tokens)?,
                output_tokens: int(&cfg.output_tokens)?,
                cost_usd: num(&cfg.cost)?,
                truncated: false,
                ..Usage::default()
            };
            let rec = Recorded {
                output,
                score: num(&cfg.score)?,
                usage: (usage != Usage::default()).then(|| Box::new(usage)),
                latency_ms: match num(&cfg.latency_s)? {
                    Some(seconds) => Some(seconds * 1000.0),
                    None => num(&cfg.latency_ms)?,
                },
            };
            if recordings.insert((row.clone(), trial), rec).is_some() {
                return Err(format!(
                    "{file_name} line {at}: row '{row}' trial {trial} is recorded twice{}; add a filter or a trial column so each (row, trial) has one line",
                    if cfg.filter.is_empty() {
                        ""
                    } else {
                        " under this filter"
                    }
                ));
            }
        }
        if kept == 0 {
            return Err(format!(
                "{file_name}: none of its {} lines matches the filter {:?}; fix the filter value or the column name",
                lines.len(),
                cfg.filter
            ));
        }
        let by_trial = cfg.trial.is_some();
        let needed_trials = if by_trial { trials.max(1) } else { 1 };
        let mut missing: Vec<String> = Vec::new();
        let mut missing_n = 0usize;
        for r in row_ids {
            for t in 0..needed_trials {
                if !recordings.contains_key(&(r.clone(), t)) {
                    missing_n += 1;
                    if missing.len() < 5 {
                        missing.push(if by_trial {
                            format!("{r} (trial {t})")
                        } else {
                            r.to_string()
                        });
                    }
                }
            }
        }
        if missing_n > 0 {
            return Err(format!(
                "replay rows missing for some ids: {missing_n} of {} {} have no recorded output in {file_name}{} (e.g. {}); record them, or filter the data to the recorded rows",
                row_ids.len() * needed_trials as usize,
                if by_trial {
                    "(row, trial) pairs"
                } else {
                    "row ids"
                },
                if cfg.filter.is_empty() {
                    String::new()
                } else {
                    format!(" under the filter {:?}", cfg.filter)
                },
                missing.join(", ")
            ));
        }
        let spec = spec_text(cfg, &crate::hash::sha256_hex(&bytes));
        Ok(ReplayArm {
            id: id.to_string(),
            spec,
            family,
            reports: Reports {
                tokens: cfg.input_tokens.is_some() && cfg.output_tokens.is_some(),
                cost: cfg.cost.is_some(),
                latency: cfg.latency_ms.is_some() || cfg.latency_s.is_some(),
            },
            by_trial,
            embed_score,
            recordings,
        })
    }

    /// Recordings held (after the filter).
    pub fn len(&self) -> usize {
        self.recordings.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.recordings.is_empty()
    }
}

/// The text that defines a replay version: the file as written in the experiment, its content
/// hash, and the columns and filter read. A changed recording is a new version.
fn spec_text(cfg: &ReplayConfig, file_hash: &str) -> String {
    let mut s = format!(
        "replay of recorded outputs\nfile: {} (sha256 {file_hash})\nid columns: {}\noutput column: {}\n",
        cfg.path,
        cfg.id.join(", "),
        cfg.output
    );
    for (c, v) in &cfg.filter {
        s.push_str(&format!("filter: {c} = {v}\n"));
    }
    for (name, c) in [
        ("trial", &cfg.trial),
        ("score", &cfg.score),
        ("input tokens", &cfg.input_tokens),
        ("output tokens", &cfg.output_tokens),
        ("cost", &cfg.cost),
        ("latency ms", &cfg.latency_ms),
        ("latency s", &cfg.latency_s),
    ] {
        if let Some(c) = c {
            s.push_str(&format!("{name} column: {c}\n"));
        }
    }
    s
}

#[async_trait]
impl Arm for ReplayArm {
    fn id(&self) -> &str {
        &self.id
    }
    fn spec(&self) -> String {
        self.spec.clone()
    }
    fn family(&self) -> Option<&str> {
        self.family.as_deref()
    }
    fn reports(&self) -> Reports {
        self.reports
    }
    async fn call(&self, _input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let trial = if self.by_trial { ctx.trial } else { 0 };
        let rec = self
            .recordings
            .get(&(ctx.row_id.clone(), trial))
            .ok_or_else(|| {
                ArmError::Fatal(format!(
                    "no recorded output for row '{}' trial {trial}",
                    ctx.row_id
                ))
            })?;
        let output = if self.embed_score {
            serde_json::json!({"output": rec.output, "score": rec.score})
        } else {
            rec.output.clone()
        };
        Ok(ArmOutput {
            output,
            usage: rec.usage.as_deref().cloned().unwrap_or_default(),
            recorded_latency_ms: rec.latency_ms,
            recorded_score: rec.score,
            raw: None,
            server_ms: None,
            trace: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording's usage is boxed, and only when the recording has one (#17: with `Usage`'s
    /// 88 bytes inline, the map of a 100k-row replay arm took 24 MB; most recordings have none).
    #[test]
    fn a_recording_keeps_usage_out_of_line() {
        assert!(
            std::mem::size_of::<Recorded>() <= 72,
            "{} bytes",
            std::mem::size_of::<Recorded>()
        );
    }
}

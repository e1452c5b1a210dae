//! From the experiment file's tables to library values: the judge (`[metric]`, built-in,
//! recorded score or LLM judge) and the arms (`[[arms]]`: replay, command, OpenAI-compatible, Anthropic).

use crate::config::{ArmSection, ConfigError, Loaded};
use itera_core::builtin::recorded::{RECORDED, RecordedScore};
use itera_core::builtin::replay::ReplayArm;
use itera_core::run::judges::builtin_judge;
use itera_core::{Arm, Frame, Judge, Row, RowId};

fn toml_to_json(t: &Option<toml::Table>) -> serde_json::Value {
    match t {
        None => serde_json::Value::Null,
        Some(t) => serde_json::to_value(t).unwrap_or(serde_json::Value::Null),
    }
}

/// Builds the judge the file names.
pub fn build_judge(loaded: &Loaded) -> Result<Box<dyn Judge>, ConfigError> {
    let m = &loaded.file.metric;
    let options = toml_to_json(&m.options);
    if m.scorer == RECORDED {
        for (i, a) in loaded.file.arms.iter().enumerate() {
            if let Some(r) = &a.replay
                && r.score.is_none()
            {
                return Err(loaded.error(
                    format!("arms[{i}] (id \"{}\").replay.score", a.id),
                    "scorer = \"recorded\" reads the recorded score: name the score column, e.g. score = \"preference\"",
                ));
            }
        }
        return RecordedScore::from_options(&options)
            .map(|j| Box::new(j) as Box<dyn Judge>)
            .map_err(|e| loaded.error("metric.options", e));
    }
    for (i, a) in loaded.file.arms.iter().enumerate() {
        if a.replay.as_ref().is_some_and(|r| r.score.is_some()) {
            return Err(loaded.error(
                format!("arms[{i}] (id \"{}\").replay.score", a.id),
                format!(
                    "a recorded score is read only by scorer = \"recorded\" (the scorer is \"{}\"): remove score, or set scorer = \"recorded\"",
                    m.scorer
                ),
            ));
        }
    }
    if m.scorer == "llm" {
        let cfg = m.llm.as_ref().ok_or_else(|| {
            loaded.error(
                "metric.llm",
                "scorer = \"llm\" needs the judge's endpoint: add llm = { ... }",
            )
        })?;
        // R4: the LLM judge names a failure mode from the registered taxonomy (an enum in its
        // JSON schema); it is given the [[failure_modes]] ids unless the table lists them.
        let taxonomy: Vec<String> = loaded
            .file
            .failure_modes
            .iter()
            .map(|f| f.id.clone())
            .collect();
        let mut cfg = cfg.clone();
        if let Some(bad) = cfg.failure_modes.iter().find(|m| !taxonomy.contains(m)) {
            return Err(loaded.error(
                "metric.llm.failure_modes",
                format!(
                    "'{bad}' is not a registered failure mode: list ids of [[failure_modes]] ({}), or remove the key to use them all",
                    taxonomy.join(", ")
                ),
            ));
        }
        if cfg.failure_modes.is_empty() {
            cfg.failure_modes = taxonomy;
        }
        return itera_core::builtin::llm_judge::LlmJudge::new(&cfg)
            .map(|j| Box::new(j) as Box<dyn Judge>)
            .map_err(|e| loaded.error("metric.llm", e));
    }
    builtin_judge(&m.scorer, &options).map_err(|e| {
        loaded.error(
            if m.options.is_some() {
                "metric.options"
            } else {
                "metric.scorer"
            },
            format!("{e} (or \"recorded\", \"llm\")"),
        )
    })
}

/// Builds one arm from its section.
pub fn build_arm(
    loaded: &Loaded,
    index: usize,
    section: &ArmSection,
    row_ids: &[RowId],
    trials: u32,
) -> Result<Box<dyn Arm>, ConfigError> {
    let key = format!("arms[{index}] (id \"{}\")", section.id);
    let embed = loaded.file.metric.scorer == RECORDED;
    if let Some(r) = &section.replay {
        return ReplayArm::load(
            &section.id,
            r,
            &loaded.base_dir,
            section.family.clone(),
            row_ids,
            trials,
            embed,
        )
        .map(|a| Box::new(a) as Box<dyn Arm>)
        .map_err(|e| loaded.error(format!("{key}.replay"), e));
    }
    if let Some(c) = &section.command {
        return itera_core::builtin::command::CommandArm::new(
            &section.id,
            c,
            &loaded.base_dir,
            section.family.clone(),
        )
        .map(|a| Box::new(a) as Box<dyn Arm>)
        .map_err(|e| loaded.error(format!("{key}.command"), e));
    }
    if let Some(o) = &section.openai {
        return itera_core::builtin::http::OpenAiArm::new(&section.id, o, &loaded.base_dir)
            .map(|a| Box::new(a) as Box<dyn Arm>)
            .map_err(|e| loaded.error(format!("{key}.openai"), e));
    }
    if let Some(a) = &section.anthropic {
        return itera_core::builtin::anthropic::AnthropicArm::new(&section.id, a, &loaded.base_dir)
            .map(|a| Box::new(a) as Box<dyn Arm>)
            .map_err(|e| loaded.error(format!("{key}.anthropic"), e));
    }
    Err(loaded.error(
        key,
        "no arm kind: give replay = {...}, command = {...}, openai = {...} or anthropic = {...}",
    ))
}

/// Builds every arm of the file, baseline first then candidates in file order.
pub fn build_arms(
    loaded: &Loaded,
    frame: &Frame,
    rows: &[Row],
) -> Result<Vec<Box<dyn Arm>>, ConfigError> {
    let ids: Vec<RowId> = rows.iter().map(|r| r.id.clone()).collect();
    let mut out = Vec::new();
    for (i, a) in loaded.file.arms.iter().enumerate() {
        if a.baseline {
            out.insert(0, build_arm(loaded, i, a, &ids, frame.trials)?);
        } else {
            out.push(build_arm(loaded, i, a, &ids, frame.trials)?);
        }
    }
    Ok(out)
}

//! The experiment file: its TOML schema ([`ExperimentFile`]), how it is read (every table
//! `deny_unknown_fields`, paths relative to the file) and how it becomes the library's
//! [`Frame`], [`Columns`] and [`RunOptions`]. Every error names the file, the key and the fix
//! ([`ConfigError`]); `itera init` writes a commented file documenting every key.
//!
//! Here: the error type and [`Loaded`] (reading, parsing, the structural checks); the schema is
//! in `schema.rs`, the conversion to the frame, columns and run options in `frame.rs`.
//!
//! [`Frame`]: itera_core::Frame
//! [`Columns`]: itera_core::data::load::Columns
//! [`RunOptions`]: itera_core::RunOptions

mod frame;
mod schema;

pub use schema::{
    ArmSection, DataSection, ExperimentFile, ExperimentSection, FailureModeSection, MetricSection,
    PriceSection, RunSection, SeveritySection, SplitSection, ThresholdSection,
};

use std::path::{Path, PathBuf};

/// A bad experiment file: the file, the key, what is wrong and the fix. Always exit code 2.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The experiment file.
    pub file: PathBuf,
    /// The key (e.g. `arms[1].replay.path`), when known.
    pub key: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{}: {}: {}", self.file.display(), k, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}
/// An experiment file, read and checked: the parsed schema, the raw arm tables (kept to record
/// versions), the file's bytes and hash, and the directory relative paths start from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file as given.
    pub path: PathBuf,
    /// The directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// The file's text.
    pub text: String,
    /// SHA-256 of the text.
    pub sha256: String,
    /// The parsed file.
    pub file: ExperimentFile,
    /// The raw `[[arms]]` tables, same order.
    pub raw_arms: Vec<toml::Value>,
}

impl Loaded {
    /// Reads and parses an experiment file (paths relative to it).
    pub fn read(path: &Path) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            key: None,
            message: if path.is_dir() {
                "is a directory: give the experiment file (TOML) itself, e.g. experiment.toml (`itera init` writes one)".to_string()
            } else if e.kind() == std::io::ErrorKind::InvalidData {
                "is not UTF-8 text: an experiment file is TOML; re-save it as UTF-8".to_string()
            } else {
                format!("cannot read the experiment file: {e}; check the path")
            },
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Loaded::parse(path, &base_dir, text)
    }

    /// Parses experiment text; `base_dir` resolves relative paths.
    pub fn parse(path: &Path, base_dir: &Path, text: String) -> Result<Loaded, ConfigError> {
        let err = |message: String| ConfigError {
            file: path.to_path_buf(),
            key: None,
            message,
        };
        let file: ExperimentFile = toml::from_str(&text).map_err(|e| {
            err(format!(
                "{}fix the key or value (`itera init` writes a file documenting every key)",
                e.to_string().trim_start_matches("TOML parse error ")
            ))
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        let raw_arms = match table.get("arms") {
            Some(toml::Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let sha256 = crate::hex_sha256(text.as_bytes());
        let loaded = Loaded {
            path: path.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            text,
            sha256,
            file,
            raw_arms,
        };
        loaded.check()?;
        Ok(loaded)
    }

    /// An error about `key` in this file.
    pub fn error(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// A path from the file, resolved against its directory.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// Structural checks the frame does not make: arms, baseline, arm kinds, paths.
    fn check(&self) -> Result<(), ConfigError> {
        let f = &self.file;
        if f.arms.is_empty() {
            return Err(self.error(
                "arms",
                "no [[arms]] given: add the baseline (baseline = true, source = \"...\") and 1 to 3 candidate arms",
            ));
        }
        let baselines: Vec<&str> = f
            .arms
            .iter()
            .filter(|a| a.baseline)
            .map(|a| a.id.as_str())
            .collect();
        match baselines.len() {
            0 => {
                return Err(self.error(
                    "arms.baseline",
                    "no arm has baseline = true: mark the deployed behaviour as the baseline",
                ));
            }
            1 => {}
            _ => {
                return Err(self.error(
                    "arms.baseline",
                    format!(
                        "{} arms have baseline = true ({}): exactly one arm is the deployed behaviour; set baseline = true on one of them only",
                        baselines.len(),
                        baselines.join(", ")
                    ),
                ));
            }
        }
        for (i, arm) in f.arms.iter().enumerate() {
            let key = format!("arms[{i}] (id \"{}\")", arm.id);
            let kinds = [
                arm.replay.is_some(),
                arm.command.is_some(),
                arm.openai.is_some(),
                arm.anthropic.is_some(),
            ]
            .iter()
            .filter(|k| **k)
            .count();
            if kinds != 1 {
                return Err(self.error(
                    key,
                    format!(
                        "{kinds} arm kinds given: give exactly one of replay = {{...}}, command = {{...}}, openai = {{...}}, anthropic = {{...}}"
                    ),
                ));
            }
            if arm.baseline && (arm.parent.is_some() || arm.change.is_some()) {
                return Err(self.error(
                    format!("{key}.parent"),
                    "the baseline has no parent and no change: remove them (or remove baseline = true)",
                ));
            }
            if !arm.baseline && arm.source.is_some() {
                return Err(self.error(
                    format!("{key}.source"),
                    "only the baseline carries a source reference; describe a candidate with parent and change",
                ));
            }
            if !arm.baseline && arm.change.as_deref().is_none_or(|c| c.trim().is_empty()) {
                return Err(self.error(
                    format!("{key}.change"),
                    "a candidate arm states its ONE change versus its parent (G3): add change = \"...\"",
                ));
            }
            if let Some(r) = &arm.replay {
                self.check_file(&format!("{key}.replay.path"), &r.path, "recording")?;
            }
        }
        self.check_cross_judge()?;
        self.check_file("data.path", &f.data.path, "data")?;
        if f.threshold.min_effect_pp.is_some() == f.threshold.min_effect_rel_pct.is_some() {
            return Err(self.error(
                "threshold",
                "give exactly one of min_effect_pp (absolute pp) or min_effect_rel_pct (% of the baseline)",
            ));
        }
        Ok(())
    }

    /// G29 at config load, before any call: an LLM judge of an arm's model family needs
    /// `[metric.second_judge]`, and the second judge must be of another family than the judge.
    /// Test that fails without it: the `toml/judge-same-family-no-second-judge.toml` and
    /// `toml/second-judge-same-family.toml` cases of tests/bad-input.
    fn check_cross_judge(&self) -> Result<(), ConfigError> {
        let m = &self.file.metric;
        let Some(judge) = &m.llm else {
            return Ok(());
        };
        let family = judge.family.trim();
        if let Some(second) = &m.second_judge {
            if second.family.trim() == family {
                return Err(self.error(
                    "metric.second_judge",
                    format!(
                        "the second judge is of the judge's own model family ('{family}'): it cannot check it (G29); give [metric.second_judge] a model of another family"
                    ),
                ));
            }
            return Ok(());
        }
        for (i, arm) in self.file.arms.iter().enumerate() {
            let arm_family = arm
                .family
                .as_deref()
                .or_else(|| arm.openai.as_ref().and_then(|o| o.family.as_deref()));
            if arm_family.map(str::trim) == Some(family) {
                return Err(self.error(
                    "metric.second_judge",
                    format!(
                        "the LLM judge ([metric.llm], family '{family}') is of the same model family as arms[{i}] (id \"{}\") (G29): add [metric.second_judge], an LLM judge of another family, for the cross-judge check — or use a deterministic scorer",
                        arm.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that `path` (as the file spells it) names a readable file, saying what is wrong
    /// with it: empty, missing, a directory (item 10: a directory was reported as "./. does not
    /// exist"; test: the `toml/data-path-*` and `toml/replay-path-*` cases of tests/bad-input).
    fn check_file(&self, key: &str, path: &str, what: &str) -> Result<(), ConfigError> {
        if path.trim().is_empty() {
            return Err(self.error(
                key,
                format!("the path is empty: name the {what} file (CSV or JSONL), relative to the experiment file"),
            ));
        }
        let p = self.resolve(path);
        let why = match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => return Ok(()),
            Ok(m) if m.is_dir() => format!(
                "{} is a directory, not a {what} file: name the CSV or JSONL file inside it",
                p.display()
            ),
            Ok(_) => format!(
                "{} is not a regular file: name the {what} file (CSV or JSONL)",
                p.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
                "{} does not exist: paths are relative to the experiment file's folder ({})",
                p.display(),
                self.base_dir.display()
            ),
            Err(e) => format!(
                "{} cannot be read ({e}): check its permissions",
                p.display()
            ),
        };
        Err(self.error(key, why))
    }

    /// Whether every arm is a replay (then `deterministic` defaults to true).
    pub fn all_replay(&self) -> bool {
        self.file.arms.iter().all(|a| a.replay.is_some())
    }

    /// The baseline arm.
    pub fn baseline(&self) -> &ArmSection {
        self.file
            .arms
            .iter()
            .find(|a| a.baseline)
            .unwrap_or(&self.file.arms[0])
    }
}

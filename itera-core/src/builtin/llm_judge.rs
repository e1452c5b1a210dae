//! The LLM judge: scores an output by asking a chat model behind an OpenAI-compatible endpoint to
//! grade it under a locked rubric, and turns the first number of its reply into a score in [0, 1].
//!
//! The judge sees what [`JudgeView`] carries — the row's input and expected value — and the output;
//! nothing in its prompt can name the arm, because nothing it is given identifies one (G30).
//!
//! **What is locked.** [`Judge::rubric`] returns the *judging text*: the rubric followed by every
//! setting that changes a score (model, prompt templates, temperature, max_tokens, `extra`, score
//! extraction, scale, out-of-range rule). The core journals its SHA-256 (G8) and refuses to mix
//! scores given under two different texts, so editing the prompt template is as visible as
//! editing the rubric. The endpoint's address and the API key are not part of it.
//!
//! **Templates** use the syntax of [`super::http::Template`] with exactly four placeholders:
//! `{rubric}`, `{input}`, `{expected}` and `{output}` (any other name is a configuration error).
//! Without `system`, the rubric is sent as the system message; with one, `{rubric}` must appear
//! in `system` or `prompt`, so the locked rubric always reaches the model.
//!
//! **Scores.** The first match of `score_regex` (capture group 1 if it has one; by default the
//! first number of the reply) divided by `scale`. A value outside [0, 1] is refused (the row is
//! unscorable) unless `out_of_range = "clamp"`; a reply without a number is unscorable.

use super::http::{
    ChatClient, ChatError, ClientSettings, EnvLookup, Template, process_env, value_text,
};
use crate::hash::{canonical_json, sha256_hex};
use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The placeholders a judge template may use.
pub const JUDGE_PLACEHOLDERS: [&str; 4] = ["rubric", "input", "expected", "output"];

/// The default score pattern: the first (possibly negative, possibly decimal) number.
pub const DEFAULT_SCORE_REGEX: &str = r"-?\d+(?:\.\d+)?";

/// What to do with a score outside [0, 1] after dividing by `scale`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfRange {
    /// The row is unscorable (the default: a judge that answers 12 on a 0–10 scale is broken).
    #[default]
    Refuse,
    /// Clamp into [0, 1].
    Clamp,
}

/// The configuration of an [`LlmJudge`] (an experiment file's `[judge.llm]` table).
///
/// ```
/// use itera_core::builtin::llm_judge::LlmJudgeConfig;
/// let cfg: LlmJudgeConfig = serde_json::from_value(serde_json::json!({
///     "base_url": "http://127.0.0.1:8089/v1",
///     "model": "smollm2-135m",
///     "family": "smollm",
///     "rubric": "10 = the category is right and nothing else is said; 0 = wrong category.",
///     "prompt": "Transaction: {input}\nCorrect category: {expected}\nAnswer: {output}\nScore 0-10:",
///     "scale": 10
/// })).unwrap();
/// assert_eq!(cfg.scale, 10.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmJudgeConfig {
    /// The judge's id (default `llm:{model}`); recorded with every score.
    #[serde(default)]
    pub id: Option<String>,
    /// The API root, e.g. `http://127.0.0.1:8089/v1` (`${NAME}` / `${NAME:-default}` read the
    /// environment). Not part of the judging text.
    pub base_url: String,
    /// The judge model's name.
    pub model: String,
    /// The judge model's family (e.g. `"llama"`): required, since an arm of the same family
    /// triggers the cross-judge rule (G29).
    pub family: String,
    /// The NAME of the environment variable holding the API key (never written anywhere).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The locked rubric text.
    pub rubric: String,
    /// The system message template (default: the rubric itself).
    #[serde(default)]
    pub system: Option<String>,
    /// The user message template over `{rubric}`, `{input}`, `{expected}`, `{output}`.
    pub prompt: String,
    /// The reply's number is divided by this to give a score in [0, 1] (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Where the number is in the reply (default: the first number, [`DEFAULT_SCORE_REGEX`]).
    #[serde(default)]
    pub score_regex: Option<String>,
    /// Refuse (default) or clamp a score outside [0, 1].
    #[serde(default)]
    pub out_of_range: OutOfRange,
    /// Sampling temperature (default 0).
    #[serde(default)]
    pub temperature: f64,
    /// The reply's token limit.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Request fields passed through verbatim (`seed`, `response_format`, …).
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
    /// The time-out of one call in seconds (default 60).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// The registered failure-mode taxonomy (category ids). When set, the judge is asked for a
    /// JSON reply `{"score": …, "failure_mode": …}` whose `failure_mode` is one of these or
    /// `null` (an enum in the request's JSON schema), and the category it names is recorded
    /// with the score (R4); see `llm_judge_modes.rs`.
    #[serde(default)]
    pub failure_modes: Vec<String>,
    /// The judge model's token price, so the judge's calls are costed in the journal and the
    /// experiment's cost (issue #13 hole 10). Not part of the judging text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<crate::frame::Price>,
}

fn one() -> f64 {
    1.0
}

/// A [`Judge`] that asks a chat model for a grade.
///
/// ```no_run
/// use itera_core::builtin::llm_judge::{LlmJudge, LlmJudgeConfig};
/// use itera_core::{Judge, JudgeView};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let cfg: LlmJudgeConfig = serde_json::from_value(serde_json::json!({
///     "base_url": "http://127.0.0.1:8089/v1", "model": "smollm2", "family": "smollm",
///     "rubric": "1 if the answer names the expected category, else 0.",
///     "prompt": "Expected: {expected}\nAnswer: {output}\nScore:"
/// }))?;
/// let judge = LlmJudge::new(&cfg)?;
/// let input = serde_json::json!({"memo": "DL 1234"});
/// let expected = serde_json::json!("travel");
/// let view = JudgeView { input: &input, expected: Some(&expected) };
/// let j = judge.score(view, &serde_json::json!("travel")).await?;
/// assert!((0.0..=1.0).contains(&j.score));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LlmJudge {
    id: String,
    family: String,
    judging_text: String,
    rubric_hash: String,
    rubric: String,
    system: Option<Template>,
    prompt: Template,
    score_re: regex::Regex,
    scale: f64,
    out_of_range: OutOfRange,
    failure_modes: Vec<String>,
    price: Option<crate::frame::Price>,
    client: ChatClient,
}

impl LlmJudge {
    /// Builds the judge: checks the templates, the score pattern and the scale, reads the key.
    pub fn new(cfg: &LlmJudgeConfig) -> Result<LlmJudge, String> {
        Self::new_with_env(cfg, &process_env)
    }

    /// [`LlmJudge::new`] reading the environment through `env` (for tests and embedding).
    ///
    /// ```
    /// use itera_core::builtin::llm_judge::{LlmJudge, LlmJudgeConfig};
    /// let cfg: LlmJudgeConfig = serde_json::from_value(serde_json::json!({
    ///     "base_url": "${JUDGE_URL}", "model": "m", "family": "f",
    ///     "rubric": "r", "prompt": "{output} vs {expected}"
    /// })).unwrap();
    /// let env = |k: &str| (k == "JUDGE_URL").then(|| "http://127.0.0.1:1/v1".to_string());
    /// let judge = LlmJudge::new_with_env(&cfg, &env).unwrap();
    /// assert_eq!(itera_core::Judge::id(&judge), "llm:m");
    /// ```
    pub fn new_with_env(cfg: &LlmJudgeConfig, env: EnvLookup<'_>) -> Result<LlmJudge, String> {
        Self::build(cfg, env).map_err(|e| format!("LLM judge '{}': {e}", cfg.model))
    }

    fn build(cfg: &LlmJudgeConfig, env: EnvLookup<'_>) -> Result<LlmJudge, String> {
        if cfg.rubric.trim().is_empty() {
            return Err(
                "rubric must not be empty: it is the locked text scores are given under (G8)"
                    .into(),
            );
        }
        if cfg.family.trim().is_empty() {
            return Err("family must not be empty (the cross-judge rule needs it, G29)".into());
        }
        if let Some(p) = &cfg.price
            && ![p.input_per_mtok_usd, p.output_per_mtok_usd]
                .iter()
                .all(|v| v.is_finite() && (0.0..=100_000.0).contains(v))
        {
            return Err("price must be numbers in [0, 100000] (USD per million tokens)".into());
        }
        let parse = |what: &str, src: &str| -> Result<Template, String> {
            let t = Template::parse(src).map_err(|e| format!("{what} {e}"))?;
            if let Some(bad) = t
                .placeholders()
                .into_iter()
                .find(|p| !JUDGE_PLACEHOLDERS.contains(p))
            {
                return Err(format!(
                    "{what} template: unknown placeholder '{{{bad}}}' (a judge template may use {{rubric}}, {{input}}, {{expected}}, {{output}})"
                ));
            }
            Ok(t)
        };
        let system = cfg
            .system
            .as_deref()
            .map(|s| parse("system", s))
            .transpose()?;
        let prompt = parse("prompt", &cfg.prompt)?;
        if !prompt.placeholders().contains(&"output") {
            return Err(
                "prompt template must contain {output}: the judge has to see the answer".into(),
            );
        }
        if let Some(s) = &system {
            let uses = |t: &Template| t.placeholders().contains(&"rubric");
            if !uses(s) && !uses(&prompt) {
                return Err("with a system template, {rubric} must appear in system or prompt (otherwise the locked rubric never reaches the judge)".into());
            }
        }
        if !(cfg.scale.is_finite() && cfg.scale > 0.0) {
            return Err(format!(
                "scale must be a positive number (got {})",
                cfg.scale
            ));
        }
        let pattern = cfg.score_regex.as_deref().unwrap_or(DEFAULT_SCORE_REGEX);
        let score_re =
            regex::Regex::new(pattern).map_err(|e| format!("score_regex does not compile: {e}"))?;
        if let Some(bad) = cfg.failure_modes.iter().find(|m| m.trim().is_empty()) {
            return Err(format!(
                "failure_modes: {bad:?} is not a category id (list the registered taxonomy's ids)"
            ));
        }
        let extra =
            super::llm_judge_modes::extra_with_schema(cfg.extra.as_ref(), &cfg.failure_modes);
        let client = ChatClient::new(
            &ClientSettings {
                base_url: &cfg.base_url,
                model: &cfg.model,
                temperature: cfg.temperature,
                max_tokens: cfg.max_tokens,
                api_key_env: cfg.api_key_env.as_deref(),
                extra: extra.as_ref(),
                timeout_s: cfg.timeout_s,
            },
            env,
        )?;
        let judging_text = judging_text(cfg, pattern, client.extra());
        Ok(LlmJudge {
            id: cfg
                .id
                .clone()
                .unwrap_or_else(|| format!("llm:{}", cfg.model)),
            family: cfg.family.clone(),
            rubric_hash: sha256_hex(judging_text.as_bytes()),
            judging_text,
            rubric: cfg.rubric.clone(),
            system,
            prompt,
            score_re,
            scale: cfg.scale,
            out_of_range: cfg.out_of_range,
            failure_modes: cfg.failure_modes.clone(),
            price: cfg.price,
            client,
        })
    }

    /// The SHA-256 of [`Judge::rubric`]'s text (as the core journals it).
    pub fn rubric_hash(&self) -> &str {
        &self.rubric_hash
    }

    /// Turns a reply into a score in [0, 1], or says why it cannot.
    ///
    /// ```
    /// # use itera_core::builtin::llm_judge::{LlmJudge, LlmJudgeConfig};
    /// # let cfg: LlmJudgeConfig = serde_json::from_value(serde_json::json!({
    /// #     "base_url": "http://127.0.0.1:1/v1", "model": "m", "family": "f",
    /// #     "rubric": "r", "prompt": "{output}", "scale": 10 })).unwrap();
    /// let judge = LlmJudge::new(&cfg).unwrap();
    /// assert_eq!(judge.parse_score("Score: 7/10").unwrap(), 0.7);
    /// assert!(judge.parse_score("Score: 12").is_err()); // refused, not clamped
    /// assert!(judge.parse_score("no idea").is_err());
    /// ```
    pub fn parse_score(&self, reply: &str) -> Result<f64, String> {
        let caps = self
            .score_re
            .captures(reply)
            .ok_or_else(|| format!("the judge's reply has no score: {:?}", short(reply)))?;
        let m = caps
            .get(1)
            .or_else(|| caps.get(0))
            .map_or("", |m| m.as_str());
        let raw: f64 = m.trim().parse().map_err(|_| {
            format!(
                "the judge's score {m:?} is not a number (reply {:?})",
                short(reply)
            )
        })?;
        let score = raw / self.scale;
        if !score.is_finite() {
            return Err(format!("the judge's score {m:?} is not finite"));
        }
        if (0.0..=1.0).contains(&score) {
            return Ok(score);
        }
        match self.out_of_range {
            OutOfRange::Clamp => Ok(score.clamp(0.0, 1.0)),
            OutOfRange::Refuse => Err(format!(
                "the judge's score {raw} on a scale of {} is outside [0, 1] (reply {:?}); set out_of_range = \"clamp\" to clamp it",
                self.scale,
                short(reply)
            )),
        }
    }

    fn render(&self, view: &JudgeView<'_>, output: &Value) -> Result<(String, String), String> {
        let needs_expected = self.prompt.placeholders().contains(&"expected")
            || self
                .system
                .as_ref()
                .is_some_and(|s| s.placeholders().contains(&"expected"));
        if needs_expected && view.expected.is_none() {
            return Err(
                "the row has no expected value, and the judge's template uses {expected}".into(),
            );
        }
        let lookup = |name: &str| -> Option<String> {
            match name {
                "rubric" => Some(self.rubric.clone()),
                "input" => Some(value_text(view.input)),
                "expected" => view.expected.map(value_text),
                "output" => Some(value_text(output)),
                _ => None,
            }
        };
        let system = match &self.system {
            Some(t) => t.render_with(lookup),
            None => Ok(self.rubric.clone()),
        }
        .map_err(|n| format!("unknown placeholder {{{n}}}"))?;
        let user = self
            .prompt
            .render_with(lookup)
            .map_err(|n| format!("unknown placeholder {{{n}}}"))?;
        Ok((system, user))
    }
}

fn short(s: &str) -> String {
    s.trim().chars().take(120).collect()
}

/// The locked judging text: the rubric first, then every setting that changes a score.
fn judging_text(cfg: &LlmJudgeConfig, pattern: &str, extra: &Map<String, Value>) -> String {
    let extra = canonical_json(&Value::Object(extra.clone())).unwrap_or_else(|_| "{}".into());
    let mut s = format!("rubric:\n{}\n", cfg.rubric);
    s.push_str(&format!("model: {}\n", cfg.model));
    s.push_str(&format!("temperature: {}\n", cfg.temperature));
    match cfg.max_tokens {
        Some(m) => s.push_str(&format!("max_tokens: {m}\n")),
        None => s.push_str("max_tokens: (server default)\n"),
    }
    s.push_str(&format!("extra: {extra}\n"));
    s.push_str(&format!(
        "score: first match of {pattern:?} / {}, out of range: {:?}\n",
        cfg.scale, cfg.out_of_range
    ));
    match &cfg.system {
        Some(t) => s.push_str(&format!("system:\n{t}\n")),
        None => s.push_str("system: (the rubric)\n"),
    }
    s.push_str(&format!("prompt:\n{}\n", cfg.prompt));
    if !cfg.failure_modes.is_empty() {
        s.push_str(&format!(
            "failure modes (JSON reply): {}\n",
            cfg.failure_modes.join(", ")
        ));
    }
    s
}

#[async_trait]
impl Judge for LlmJudge {
    fn id(&self) -> &str {
        &self.id
    }

    fn is_llm(&self) -> bool {
        true
    }

    fn family(&self) -> Option<&str> {
        Some(&self.family)
    }

    /// The locked judging text (rubric + every setting that changes a score); see the module docs.
    fn rubric(&self) -> Option<&str> {
        Some(&self.judging_text)
    }

    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let (system, user) = self
            .render(&view, output)
            .map_err(|e| JudgeError::Unscorable(format!("judge '{}': {e}", self.id)))?;
        let reply = self
            .client
            .complete(Some(&system), &user, None)
            .await
            .map_err(|e| match e {
                ChatError::Retryable { message, .. } => {
                    JudgeError::Retryable(format!("judge '{}': {message}", self.id))
                }
                ChatError::Fatal(m) => JudgeError::Unscorable(format!("judge '{}': {m}", self.id)),
            })?;
        let unscorable = |e: String| JudgeError::Unscorable(format!("judge '{}': {e}", self.id));
        // R4: with a taxonomy, the structured reply carries the category (llm_judge_modes.rs;
        // tested by `attack_llm_judge_assigns_no_failure_mode`).
        let structured = if self.failure_modes.is_empty() {
            None
        } else {
            super::llm_judge_modes::parse(&reply.content, &self.failure_modes)
                .map_err(unscorable)?
        };
        let (score, mode) = match structured {
            Some((text, mode)) => (self.parse_score(&text).map_err(unscorable)?, mode),
            None => (self.parse_score(&reply.content).map_err(unscorable)?, None),
        };
        let mut usage = reply.usage;
        if usage.cost_usd.is_none()
            && let (Some(p), Some(i), Some(o)) =
                (self.price, usage.input_tokens, usage.output_tokens)
        {
            usage.cost_usd = Some(p.cost(i, o));
        }
        let mut j = Judgement::score(score)
            .with_usage(usage)
            .with_raw(reply.content);
        j.failure_modes = mode.into_iter().collect();
        j.rubric_hash = Some(self.rubric_hash.clone());
        Ok(j)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "llm_judge_tests.rs"]
mod tests;

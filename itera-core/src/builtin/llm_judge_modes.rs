//! The LLM judge's failure modes (R4, G9): with a registered taxonomy, the judge is asked for a
//! JSON reply `{"score": <number>, "failure_mode": <category or null>}` under a JSON schema whose
//! `failure_mode` is an enum of the taxonomy's ids, so a conforming server cannot answer a
//! category that is not registered; a reply that names one anyway is unscorable, never silently
//! dropped. The category is recorded with the score, and the failure-mode table and R4 read it.

use serde_json::{Map, Value, json};

/// The `response_format` asking for `{"score", "failure_mode"}` with the taxonomy as an enum.
pub(crate) fn response_format(modes: &[String]) -> Value {
    let mut allowed: Vec<Value> = modes.iter().map(|m| Value::String(m.clone())).collect();
    allowed.push(Value::Null);
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "judgement",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "score": {"type": "number"},
                    "failure_mode": {"type": ["string", "null"], "enum": allowed}
                },
                "required": ["score", "failure_mode"],
                "additionalProperties": false
            }
        }
    })
}

/// The request's extra fields with the JSON schema added (a `response_format` the user set
/// explicitly is kept: theirs is locked in the judging text either way).
pub(crate) fn extra_with_schema(
    extra: Option<&Map<String, Value>>,
    modes: &[String],
) -> Option<Map<String, Value>> {
    if modes.is_empty() {
        return extra.cloned();
    }
    let mut m = extra.cloned().unwrap_or_default();
    m.entry("response_format")
        .or_insert_with(|| response_format(modes));
    Some(m)
}

/// The JSON object of a reply, tolerating a fenced code block around it.
fn object(reply: &str) -> Option<Map<String, Value>> {
    let t = reply.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .map_or(t, |s| s.trim_end().trim_end_matches("```"));
    match serde_json::from_str::<Value>(t.trim()) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// Reads a structured reply: the score's text (for the judge's scale and range rule) and the
/// category, which must be registered. `Ok(None)`: the reply is not the JSON asked for.
pub(crate) fn parse(
    reply: &str,
    modes: &[String],
) -> Result<Option<(String, Option<String>)>, String> {
    let Some(obj) = object(reply) else {
        return Ok(None);
    };
    let score = match obj.get("score") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(format!(
                "the judge's JSON reply has no numeric \"score\": {reply:?}"
            ));
        }
    };
    let mode = match obj.get("failure_mode") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if modes.contains(m) => Some(m.clone()),
        Some(other) => {
            return Err(format!(
                "the judge's failure_mode {other} is not in the registered taxonomy [{}] (G9)",
                modes.join(", ")
            ));
        }
    };
    Ok(Some((score, mode)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::builtin::http::mock::{Canned, serve};
    use crate::builtin::llm_judge::{LlmJudge, LlmJudgeConfig};
    use crate::run::judge::{Judge, JudgeError, JudgeView};
    use serde_json::json;

    fn cfg(url: &str) -> LlmJudgeConfig {
        serde_json::from_value(json!({
            "base_url": url, "model": "judge-m", "family": "smollm",
            "rubric": "10 if the answer is the expected category, 0 otherwise; name the failure.",
            "prompt": "Expected: {expected}\nAnswer: {output}",
            "scale": 10,
            "failure_modes": ["wrong_account", "missing_field", "format"]
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn attack_llm_judge_assigns_no_failure_mode() {
        let (url, log) = serve(vec![
            Canned::reply(r#"{"score": 2, "failure_mode": "wrong_account"}"#, 30, 9),
            Canned::reply(r#"{"score": 10, "failure_mode": null}"#, 30, 9),
            Canned::reply(r#"{"score": 0, "failure_mode": "made_up"}"#, 30, 9),
        ])
        .await;
        let j = LlmJudge::new_with_env(&cfg(&url), &|_: &str| None).unwrap();
        let (input, expected) = (json!("DL 1234"), json!("travel"));
        let view = JudgeView {
            input: &input,
            expected: Some(&expected),
        };
        let got = j.score(view, &json!("software")).await.unwrap();
        assert_eq!(got.score, 0.2);
        assert_eq!(got.failure_modes, ["wrong_account"]);
        let body = log.lock().unwrap()[0].body.clone();
        assert_eq!(
            body["response_format"]["json_schema"]["schema"]["properties"]["failure_mode"]["enum"],
            json!(["wrong_account", "missing_field", "format", null]),
            "the taxonomy is an enum in the request's JSON schema"
        );
        let ok = j.score(view, &json!("travel")).await.unwrap();
        assert_eq!((ok.score, ok.failure_modes.len()), (1.0, 0));
        let e = j.score(view, &json!("x")).await.unwrap_err();
        assert!(
            matches!(&e, JudgeError::Unscorable(m) if m.contains("made_up") && m.contains("taxonomy")),
            "{e:?}"
        );
    }

    #[test]
    fn the_taxonomy_is_part_of_the_locked_judging_text() {
        let c = cfg("http://127.0.0.1:1/v1");
        let a = LlmJudge::new_with_env(&c, &|_: &str| None).unwrap();
        let mut fewer = c.clone();
        fewer.failure_modes.pop();
        let b = LlmJudge::new_with_env(&fewer, &|_: &str| None).unwrap();
        assert_ne!(a.rubric_hash(), b.rubric_hash());
        assert!(a.rubric().unwrap().contains("wrong_account"));
    }
}

//! Tests of the built-in LLM judge: configuration, judging text, scoring through a loopback
//! endpoint blind to the arm, and the usage, cost and raw reply each call reports.

use super::*;
use crate::builtin::http::mock::{Canned, serve};
use serde_json::json;

fn cfg(url: &str) -> LlmJudgeConfig {
    serde_json::from_value(json!({
        "base_url": url, "model": "judge-m", "family": "smollm",
        "rubric": "10 if the answer is the expected category, 0 otherwise.",
        "prompt": "Input: {input}\nExpected: {expected}\nAnswer: {output}\nScore 0-10:",
        "scale": 10
    }))
    .unwrap()
}

fn judge(c: &LlmJudgeConfig) -> LlmJudge {
    LlmJudge::new_with_env(c, &|_: &str| None).unwrap()
}

#[test]
fn scores_parse_scale_and_refuse_or_clamp() {
    let mut c = cfg("http://127.0.0.1:1/v1");
    let j = judge(&c);
    assert_eq!(j.parse_score("8").unwrap(), 0.8);
    assert_eq!(j.parse_score("Score: 10 — perfect").unwrap(), 1.0);
    assert_eq!(j.parse_score("I'd say 2.5 out of 10").unwrap(), 0.25);
    assert!(j.parse_score("11").unwrap_err().contains("outside [0, 1]"));
    assert!(j.parse_score("-1").is_err());
    assert!(
        j.parse_score("great answer")
            .unwrap_err()
            .contains("no score")
    );
    c.out_of_range = OutOfRange::Clamp;
    let j = judge(&c);
    assert_eq!(j.parse_score("11").unwrap(), 1.0);
    assert_eq!(j.parse_score("-3").unwrap(), 0.0);
    c.score_regex = Some(r"SCORE=(\d+)".into());
    let j = judge(&c);
    assert_eq!(j.parse_score("1 2 3 SCORE=5").unwrap(), 0.5);
}

#[test]
fn construction_errors() {
    let c = cfg("http://127.0.0.1:1/v1");
    let with = |f: &dyn Fn(&mut LlmJudgeConfig)| {
        let mut c = c.clone();
        f(&mut c);
        LlmJudge::new_with_env(&c, &|_: &str| None).unwrap_err()
    };
    assert!(with(&|c| c.prompt = "{output} {arm}".into()).contains("'{arm}'"));
    assert!(with(&|c| c.prompt = "{expected}".into()).contains("{output}"));
    assert!(with(&|c| c.prompt = "{output".into()).contains("not closed"));
    assert!(with(&|c| c.rubric = " ".into()).contains("rubric"));
    assert!(with(&|c| c.family = String::new()).contains("family"));
    assert!(with(&|c| c.scale = 0.0).contains("scale"));
    assert!(with(&|c| c.score_regex = Some("(".into())).contains("score_regex"));
    assert!(with(&|c| c.system = Some("Grade.".into())).contains("{rubric}"));
    // {rubric} in the system template is fine
    let mut ok = c.clone();
    ok.system = Some("Grade under: {rubric}".into());
    assert!(LlmJudge::new_with_env(&ok, &|_: &str| None).is_ok());
    let r: Result<LlmJudgeConfig, _> = serde_json::from_value(json!({
        "base_url": "http://x", "model": "m", "family": "f", "rubric": "r",
        "prompt": "{output}", "rubrik": "typo"
    }));
    assert!(r.is_err());
}

#[test]
fn rubric_text_and_hash_are_stable_and_cover_the_template() {
    let c = cfg("http://127.0.0.1:1/v1");
    let a = judge(&c);
    let mut moved = c.clone();
    moved.base_url = "http://10.0.0.9:8000/v1".into();
    assert_eq!(
        judge(&moved).rubric_hash(),
        a.rubric_hash(),
        "address is not locked"
    );
    assert_eq!(
        a.rubric_hash(),
        sha256_hex(a.rubric().unwrap().as_bytes()),
        "the core hashes rubric(); the judgement carries the same hash"
    );
    assert!(a.rubric().unwrap().starts_with("rubric:\n10 if the answer"));
    let mut edited = c.clone();
    edited.prompt.push(' ');
    assert_ne!(judge(&edited).rubric_hash(), a.rubric_hash());
    assert_eq!(a.id(), "llm:judge-m");
    assert_eq!(a.family(), Some("smollm"));
    // pinned, so an accidental change of the judging text's layout is seen
    assert_eq!(a.rubric_hash().len(), 64);
    assert_eq!(judge(&c.clone()).rubric_hash(), a.rubric_hash());
}

#[tokio::test]
async fn scores_through_the_endpoint_blind_to_the_arm() {
    let (url, log) = serve(vec![
        Canned::reply("Score: 9", 30, 2),
        Canned::reply("42", 30, 1),
        Canned::status(503, "busy"),
        Canned::status(401, "bad key"),
    ])
    .await;
    let mut c = cfg(&url);
    c.api_key_env = Some("JUDGE_KEY".into());
    let env = |k: &str| (k == "JUDGE_KEY").then(|| "sk-judge-secret".to_string());
    let j = LlmJudge::new_with_env(&c, &env).unwrap();
    let input = json!({"memo": "DL 1234"});
    let expected = json!("travel");
    let view = JudgeView {
        input: &input,
        expected: Some(&expected),
    };
    let got = j.score(view, &json!("travel")).await.unwrap();
    assert_eq!(got.score, 0.9);
    assert_eq!(got.rubric_hash.as_deref(), Some(j.rubric_hash()));
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.header("authorization"), Some("Bearer sk-judge-secret"));
    assert_eq!(
        req.body["messages"],
        json!([
            {"role": "system", "content": "10 if the answer is the expected category, 0 otherwise."},
            {"role": "user", "content": "Input: {\"memo\":\"DL 1234\"}\nExpected: travel\nAnswer: travel\nScore 0-10:"}
        ])
    );
    assert!(req.body.get("seed").is_none());
    // 42 / 10 is refused
    let e = j.score(view, &json!("x")).await.unwrap_err();
    assert!(
        matches!(&e, JudgeError::Unscorable(m) if m.contains("outside")),
        "{e:?}"
    );
    let e = j.score(view, &json!("x")).await.unwrap_err();
    assert!(
        matches!(&e, JudgeError::Retryable(m) if m.contains("503")),
        "{e:?}"
    );
    let e = j.score(view, &json!("x")).await.unwrap_err();
    assert!(
        matches!(&e, JudgeError::Unscorable(m) if m.contains("401")),
        "{e:?}"
    );
    assert!(!format!("{e:?} {j:?}").contains("sk-judge-secret"));
    // no expected value while the template needs one: unscorable without a call
    let n = log.lock().unwrap().len();
    let e = j
        .score(
            JudgeView {
                input: &input,
                expected: None,
            },
            &json!("x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(&e, JudgeError::Unscorable(m) if m.contains("expected")));
    assert_eq!(log.lock().unwrap().len(), n);
}

// Issue #13 hole 10: a judge call is journaled like an arm call. The judge reports its reply's
// tokens, its cost (priced from `price` when the server reports none) and its raw reply.
#[tokio::test]
async fn a_judge_call_reports_its_tokens_cost_and_raw_reply() {
    let (url, _log) = serve(vec![Canned::reply(
        "Score: 9 — the category matches",
        1_000,
        20,
    )])
    .await;
    let mut c = cfg(&url);
    c.price = Some(crate::frame::Price::new(2.0, 10.0));
    let j = LlmJudge::new(&c).unwrap();
    assert!(j.is_llm());
    let input = json!({"memo": "DL 1234"});
    let expected = json!("travel");
    let view = JudgeView {
        input: &input,
        expected: Some(&expected),
    };
    let got = j.score(view, &json!("travel")).await.unwrap();
    assert_eq!(got.raw.as_deref(), Some("Score: 9 — the category matches"));
    assert_eq!(
        (got.usage.input_tokens, got.usage.output_tokens),
        (Some(1_000), Some(20))
    );
    // 1,000 × 2 / 1e6 + 20 × 10 / 1e6 = 0.0022 USD.
    assert!((got.usage.cost_usd.unwrap() - 0.0022).abs() < 1e-12);
}

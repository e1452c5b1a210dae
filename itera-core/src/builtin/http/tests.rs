//! Tests of the `openai` arm against the mock server: templates, construction errors, the spec
//! as the version (G7) without URL or key, request bodies, extraction, retryable vs fatal errors.

use super::mock::{Canned, serve};
use super::*;
use serde_json::json;
use std::time::Duration;

fn cfg(base_url: &str, user: &str) -> OpenAiArmConfig {
    serde_json::from_value(json!({"base_url": base_url, "model": "smol", "user": user})).unwrap()
}

fn ctx() -> CallCtx {
    CallCtx {
        row_id: "r1".into(),
        trial: 0,
        seed: 0x1_2345_6789,
    }
}

fn arm(c: &OpenAiArmConfig) -> OpenAiArm {
    OpenAiArm::new("v1", c, Path::new(".")).unwrap()
}

#[test]
fn templates_parse_escape_and_refuse_bad_syntax() {
    let t = Template::parse("a {x} {{lit}} {input} {x}").unwrap();
    assert_eq!(t.placeholders(), vec!["x", "input"]);
    assert_eq!(t.render(&json!({"x": 5})).unwrap(), "a 5 {lit} {\"x\":5} 5");
    for bad in ["{", "a {b", "}", "{ x }", "{1x}", "{a.b}", "{}"] {
        assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
    }
    let e = Template::parse("{x").unwrap_err();
    assert!(e.contains("not closed"), "{e}");
    // string input: {input} is the text, a field is an error naming it
    let t = Template::parse("Q: {input}").unwrap();
    assert_eq!(t.render(&json!("hi")).unwrap(), "Q: hi");
    let t = Template::parse("{memo}").unwrap();
    let err = t.render(&json!("hi")).unwrap_err();
    assert!(err.contains("{memo}"), "{err}");
    let err = t.render(&json!({"vendor": "x"})).unwrap_err();
    assert!(err.contains("vendor"), "{err}");
}

#[test]
fn construction_errors_name_the_setting() {
    let mut c = cfg("http://127.0.0.1:1/v1", "{bad");
    let e = OpenAiArm::new("v1", &c, Path::new(".")).unwrap_err();
    assert!(e.contains("arm 'v1'") && e.contains("user template"), "{e}");
    c.user = Some("{input}".into());
    c.system = Some("}".into());
    assert!(
        OpenAiArm::new("v1", &c, Path::new("."))
            .unwrap_err()
            .contains("system")
    );
    c.system = None;
    c.extract = Some(Extract::Regex("no group".into()));
    assert!(
        OpenAiArm::new("v1", &c, Path::new("."))
            .unwrap_err()
            .contains("capture group")
    );
    c.extract = Some(Extract::JsonField("category".into()));
    assert!(
        OpenAiArm::new("v1", &c, Path::new("."))
            .unwrap_err()
            .contains("pointer")
    );
    c.extract = None;
    c.extra = Some(json!({"model": "other"}).as_object().unwrap().clone());
    assert!(
        OpenAiArm::new("v1", &c, Path::new("."))
            .unwrap_err()
            .contains("'model'")
    );
    c.extra = None;
    c.base_url = "127.0.0.1:8089".into();
    assert!(
        OpenAiArm::new("v1", &c, Path::new("."))
            .unwrap_err()
            .contains("http://")
    );
    c.base_url = "http://x/v1".into();
    c.api_key_env = Some("ITERA_TEST_SURELY_UNSET_KEY".into());
    let e = OpenAiArm::new("v1", &c, Path::new(".")).unwrap_err();
    assert!(e.contains("ITERA_TEST_SURELY_UNSET_KEY"), "{e}");
    c.api_key_env = Some("sk-literal-key-in-file".into());
    let e = OpenAiArm::new("v1", &c, Path::new(".")).unwrap_err();
    assert!(!e.contains("sk-literal"), "{e}");
    // unknown fields are refused by serde
    let r: Result<OpenAiArmConfig, _> = serde_json::from_value(
        json!({"base_url": "http://x", "model": "m", "user": "u", "temprature": 1}),
    );
    assert!(r.is_err());
    // neither user nor user_file
    let mut c = cfg("http://x/v1", "u");
    c.user = None;
    assert!(
        OpenAiArm::new("v1", &c, Path::new("."))
            .unwrap_err()
            .contains("user template is missing")
    );
}

#[test]
fn templates_from_files_and_env_in_base_url() {
    let dir = std::env::temp_dir().join(format!("itera-openai-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("user.txt"), "Memo: {memo}").unwrap();
    let mut c = cfg("${ITERA_TEST_UNSET_URL_VAR:-http://127.0.0.1:9/v1}", "x");
    c.user = None;
    c.user_file = Some("user.txt".into());
    let a = OpenAiArm::new("v1", &c, &dir).unwrap();
    assert!(a.spec().contains("Memo: {memo}"));
    assert_eq!(
        a.client.endpoint.url,
        "http://127.0.0.1:9/v1/chat/completions"
    );
    c.base_url = "${ITERA_TEST_UNSET_URL_VAR}".into();
    assert!(
        OpenAiArm::new("v1", &c, &dir)
            .unwrap_err()
            .contains("not set")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spec_defines_the_version_without_url_or_key() {
    let var = "ITERA_TEST_OPENAI_SPEC_KEY";
    let env = key_env(var, "sk-spec-secret-123");
    let mut c = cfg("http://127.0.0.1:1/v1", "Memo: {memo}");
    c.api_key_env = Some(var.into());
    c.system = Some("Be brief.".into());
    c.extra = Some(json!({"seed": 3, "response_format": {"type": "json_object"}}))
        .and_then(|v| v.as_object().cloned());
    c.extract = Some(Extract::JsonField("/category".into()));
    let a = arm_env(&c, &env);
    let spec = a.spec();
    assert!(!spec.contains("sk-spec-secret-123"));
    assert!(!spec.contains("127.0.0.1"));
    for part in [
        "model: smol",
        "Be brief.",
        "Memo: {memo}",
        "\"/category\"",
        r#"{"response_format":{"type":"json_object"},"seed":3}"#,
    ] {
        assert!(spec.contains(part), "{part} missing from\n{spec}");
    }
    let mut moved = c.clone();
    moved.base_url = "https://elsewhere.example/v1".into();
    assert_eq!(
        arm_env(&moved, &env).spec(),
        spec,
        "moving servers keeps the version"
    );
    let mut changed = c.clone();
    changed.temperature = 0.7;
    assert_ne!(arm_env(&changed, &env).spec(), spec);
    assert!(!format!("{a:?}").contains("sk-spec-secret-123"));
}

/// An environment holding one API key (no process-wide `set_var`: unsafe code is forbidden).
fn key_env(k: &'static str, v: &'static str) -> impl Fn(&str) -> Option<String> {
    move |name: &str| (name == k).then(|| v.to_string())
}

fn arm_env(c: &OpenAiArmConfig, env: &dyn Fn(&str) -> Option<String>) -> OpenAiArm {
    OpenAiArm::new_with_env("v1", c, Path::new("."), env).unwrap()
}

#[tokio::test]
async fn call_sends_key_extra_seed_and_extracts_json_field() {
    let var = "ITERA_TEST_OPENAI_CALL_KEY";
    let env = key_env(var, "sk-call-secret-456");
    let (url, log) = serve(vec![Canned::reply(
        "Sure! {\"category\": \" travel \"}",
        42,
        7,
    )])
    .await;
    let mut c = cfg(&url, "Vendor: {vendor}");
    c.system = Some("sys {vendor}".into());
    c.api_key_env = Some(var.into());
    c.max_tokens = Some(32);
    c.extract = Some(Extract::JsonField("/category".into()));
    c.extra = json!({"response_format": {"type": "json_object"}, "stop": ["\n"]})
        .as_object()
        .cloned();
    let out = arm_env(&c, &env)
        .call(&json!({"vendor": "Delta"}), &ctx())
        .await
        .unwrap();
    assert_eq!(out.output, json!("travel"));
    assert_eq!(out.usage.input_tokens, Some(42));
    assert_eq!(out.usage.output_tokens, Some(7));
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-call-secret-456")
    );
    let b = &req.body;
    assert_eq!(b["model"], "smol");
    assert_eq!(b["temperature"], 0.0);
    assert_eq!(b["max_tokens"], 32);
    assert_eq!(b["response_format"], json!({"type": "json_object"}));
    assert_eq!(b["stop"], json!(["\n"]));
    assert_eq!(b["seed"], json!(0x2345_6789u64)); // 31 low bits of the call's seed
    assert_eq!(
        b["messages"],
        json!([{"role": "system", "content": "sys Delta"},
               {"role": "user", "content": "Vendor: Delta"}])
    );
}

#[tokio::test]
async fn extra_seed_wins_and_no_key_means_no_header() {
    let (url, log) = serve(vec![Canned::reply("category: Software.", 1, 1)]).await;
    let mut c = cfg(&url, "{input}");
    c.extra = json!({"seed": 11}).as_object().cloned();
    c.extract = Some(Extract::Regex(r"category:\s*(\w+)".into()));
    let out = arm(&c).call(&json!("AWS"), &ctx()).await.unwrap();
    assert_eq!(out.output, json!("Software"));
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.body["seed"], 11);
    assert_eq!(req.header("authorization"), None);
}

#[tokio::test]
async fn extraction_that_finds_nothing_is_an_empty_answer() {
    let (url, _) = serve(vec![Canned::reply("I cannot tell.", 3, 4)]).await;
    let mut c = cfg(&url, "{input}");
    c.extract = Some(Extract::Regex(r"category:\s*(\w+)".into()));
    let out = arm(&c).call(&json!("x"), &ctx()).await.unwrap();
    assert_eq!(out.output, json!(""));
    assert_eq!(out.usage.output_tokens, Some(4));
    c.extract = Some(Extract::JsonField("/category".into()));
    let out = arm(&c).call(&json!("x"), &ctx()).await.unwrap();
    assert_eq!(out.output, json!(""));
    // whole reply, trimmed
    c.extract = None;
    let out = arm(&c).call(&json!("x"), &ctx()).await.unwrap();
    assert_eq!(out.output, json!("I cannot tell."));
}

#[tokio::test]
async fn rate_limit_is_retryable_with_retry_after_then_success() {
    let var = "ITERA_TEST_OPENAI_429_KEY";
    let env = key_env(var, "sk-429-secret-789");
    let (url, _) = serve(vec![
        Canned::status(429, r#"{"error": "slow down, sk-429-secret-789"}"#)
            .header("Retry-After", "2"),
        Canned::reply("ok", 1, 1),
    ])
    .await;
    let mut c = cfg(&url, "{input}");
    c.api_key_env = Some(var.into());
    let a = arm_env(&c, &env);
    // 429 is a load refusal: retried like any retryable error, and a signal to the adaptive
    // concurrency (#18 item 3).
    match a.call(&json!("x"), &ctx()).await {
        Err(ArmError::Overloaded {
            message,
            retry_after,
        }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(2)));
            assert!(message.contains("429"), "{message}");
            assert!(!message.contains("sk-429-secret-789"), "{message}");
        }
        other => panic!("expected retryable, got {other:?}"),
    }
    assert_eq!(
        a.call(&json!("x"), &ctx()).await.unwrap().output,
        json!("ok")
    );
}

#[tokio::test]
async fn server_error_is_retryable_and_client_error_fatal() {
    let var = "ITERA_TEST_OPENAI_ERR_KEY";
    let env = key_env(var, "sk-err-secret-000");
    let (url, _) = serve(vec![
        Canned::status(500, "boom"),
        Canned::status(400, r#"{"error": {"message": "bad request"}}"#),
        Canned::status(200, "not json"),
    ])
    .await;
    let mut c = cfg(&url, "{input}");
    c.api_key_env = Some(var.into());
    let a = arm_env(&c, &env);
    let e = a.call(&json!("x"), &ctx()).await.unwrap_err();
    assert!(
        matches!(&e, ArmError::Retryable { retry_after: None, message } if message.contains("500")),
        "{e:?}"
    );
    let e = a.call(&json!("x"), &ctx()).await.unwrap_err();
    assert!(
        matches!(&e, ArmError::Fatal(m) if m.contains("400") && m.contains("bad request")),
        "{e:?}"
    );
    let e = a.call(&json!("x"), &ctx()).await.unwrap_err();
    assert!(
        matches!(&e, ArmError::Fatal(m) if m.contains("not a chat completion")),
        "{e:?}"
    );
    // a missing template key is fatal and needs no server
    let mut c2 = c.clone();
    c2.user = Some("{memo}".into());
    let e = arm_env(&c2, &env)
        .call(&json!({"v": 1}), &ctx())
        .await
        .unwrap_err();
    assert!(matches!(&e, ArmError::Fatal(m) if m.contains("{memo}")));
    // a closed port is a connection error: retryable, no key in it
    let mut c3 = c.clone();
    c3.base_url = "http://127.0.0.1:1/v1".into();
    let e = arm_env(&c3, &env)
        .call(&json!("x"), &ctx())
        .await
        .unwrap_err();
    assert!(matches!(&e, ArmError::Retryable { .. }), "{e:?}");
    for s in [e.to_string(), format!("{e:?}")] {
        assert!(!s.contains("sk-err-secret-000"), "{s}");
    }
}

#[test]
fn config_round_trips_through_serde() {
    let c: OpenAiArmConfig = serde_json::from_value(json!({
        "base_url": "http://h/v1", "model": "m", "user": "{input}",
        "extract": {"regex": "(\\w+)"}, "extra": {"top_p": 0.5}, "family": "llama",
        "timeout_s": 5.0, "max_tokens": 8, "temperature": 0.2
    }))
    .unwrap();
    let back: OpenAiArmConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    let a = arm(&c);
    assert_eq!(a.family(), Some("llama"));
    assert!(a.reports().tokens);
}

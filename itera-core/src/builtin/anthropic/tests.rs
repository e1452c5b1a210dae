//! Tests of the `anthropic` arm against the loopback mock server (127.0.0.1): the request's
//! headers and body (cache_control on the system prompt and the shared prefix), usage with cache
//! tokens, 429/529 retried with Retry-After, 400 showing the provider's message, a reply cut at
//! max_tokens marked truncated, and a spec without URL or key.

use super::*;
use crate::builtin::http::mock::{Canned, serve};
use serde_json::json;
use std::time::Duration;

const KEY: &str = "sk-ant-unit-5ecret";

fn env(k: &str) -> Option<String> {
    (k == "ANTH_KEY").then(|| KEY.to_string())
}

fn arm(base_url: &str, extra: Value) -> AnthropicArm {
    let mut c = json!({
        "base_url": base_url, "model": "claude-test", "api_key_env": "ANTH_KEY",
        "system": "Answer yes or no.", "cache_system": true,
        "prefix": "Examples: q1 -> yes", "cache_prefix": true,
        "user": "{input}", "max_tokens": 8, "stop_sequences": ["\n\n"]
    });
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let cfg: AnthropicArmConfig = serde_json::from_value(c).unwrap();
    AnthropicArm::new_with_env("claude", &cfg, Path::new("."), &env).unwrap()
}

fn ctx() -> CallCtx {
    CallCtx {
        row_id: "r1".into(),
        trial: 0,
        seed: 3,
    }
}

fn message(text: &str, stop: &str, usage: Value) -> Canned {
    Canned::status(
        200,
        &json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
                "content": [{"type": "text", "text": text}], "stop_reason": stop,
                "usage": usage})
        .to_string(),
    )
}

#[tokio::test]
async fn anthropic_request_carries_key_version_and_cache_control() {
    let (url, log) = serve(vec![message(
        " yes ",
        "end_turn",
        json!({"input_tokens": 12, "output_tokens": 2,
               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 900}),
    )])
    .await;
    let out = arm(&url, json!({}))
        .call(&json!("q2"), &ctx())
        .await
        .unwrap();
    assert_eq!(out.output, json!("yes"));
    // Every prompt token counts as input; the cached ones are journaled apart (G28).
    assert_eq!(out.usage.input_tokens, Some(912));
    assert_eq!(out.usage.cache_read_tokens, Some(900));
    assert_eq!(out.usage.cache_write_tokens, Some(0));
    assert_eq!(out.usage.output_tokens, Some(2));
    assert!(!out.usage.truncated);
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some(DEFAULT_VERSION));
    assert_eq!(req.header("authorization"), None);
    let b = &req.body;
    assert_eq!(b["model"], "claude-test");
    assert_eq!(b["max_tokens"], 8);
    assert_eq!(b["temperature"], 0.0);
    assert_eq!(b["stop_sequences"], json!(["\n\n"]));
    assert_eq!(
        b["system"],
        json!([{"type": "text", "text": "Answer yes or no.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        b["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "Examples: q1 -> yes", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "q2"}]}])
    );
}

#[tokio::test]
async fn anthropic_529_is_retried_with_retry_after() {
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    for status in [429, 529] {
        let (url, _) = serve(vec![
            Canned::status(status, body).header("retry-after", "7"),
        ])
        .await;
        let e = arm(&url, json!({}))
            .call(&json!("q"), &ctx())
            .await
            .unwrap_err();
        match e {
            ArmError::Overloaded {
                message,
                retry_after,
            } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)), "{status}");
                assert!(message.contains(&format!("HTTP {status}")), "{message}");
                assert!(message.contains("Overloaded"), "{message}");
            }
            other => panic!("{status} must be retryable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn anthropic_400_shows_the_providers_message_and_is_fatal() {
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 999999 > 64000, the maximum for this model"}}"#;
    let (url, _) = serve(vec![Canned::status(400, body)]).await;
    let e = arm(&url, json!({}))
        .call(&json!("q"), &ctx())
        .await
        .unwrap_err();
    let ArmError::Fatal(m) = e else {
        panic!("400 must be fatal: {e:?}")
    };
    assert!(
        m.contains("arm 'claude'")
            && m.contains("HTTP 400")
            && m.contains("invalid_request_error: max_tokens: 999999 > 64000"),
        "{m}"
    );
    assert!(!m.contains(KEY), "{m}");
}

#[tokio::test]
async fn a_reply_cut_at_max_tokens_is_tagged_truncated() {
    let (url, _) = serve(vec![message(
        "Par",
        "max_tokens",
        json!({"input_tokens": 5, "output_tokens": 8}),
    )])
    .await;
    let out = arm(&url, json!({}))
        .call(&json!("q"), &ctx())
        .await
        .unwrap();
    assert_eq!(out.output, json!("Par"), "kept and scored, not dropped");
    assert!(out.usage.truncated);
    // The runner tags it with the registered mode `truncated` when the call failed.
    let mut frame = crate::frame::Frame::builder("n", "q?", "h.")
        .baseline("v1", "src")
        .arm("v2", "v1", "one change")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .failure_mode("truncated", 1.0)
        .failure_mode("a", 1.0)
        .failure_mode("b", 2.0)
        .build()
        .unwrap();
    let tagged = crate::run::modes::with_truncation(&frame, true, 0.0, vec![]);
    assert_eq!(tagged, vec!["truncated".to_string()]);
    assert!(crate::run::modes::with_truncation(&frame, true, 1.0, vec![]).is_empty());
    frame.failure_modes.clear();
    assert!(crate::run::modes::with_truncation(&frame, true, 0.0, vec![]).is_empty());
}

#[tokio::test]
async fn a_reply_that_is_not_a_message_is_fatal() {
    let (url, _) = serve(vec![Canned::status(200, r#"{"choices": []}"#)]).await;
    let e = arm(&url, json!({}))
        .call(&json!("q"), &ctx())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ArmError::Fatal(m) if m.contains("not a Messages reply")),
        "{e:?}"
    );
}

#[test]
fn the_spec_is_the_version_without_url_or_key() {
    let a = arm("http://127.0.0.1:1/v1", json!({}));
    let b = arm("http://127.0.0.2:9/v1", json!({}));
    assert_eq!(a.spec(), b.spec(), "moving servers keeps the version");
    assert!(!a.spec().contains(KEY) && !a.spec().contains("127.0.0.1"));
    assert!(a.spec().contains("cache_control: system true, prefix true"));
    let c = arm("http://127.0.0.1:1/v1", json!({"cache_system": false}));
    assert_ne!(a.spec(), c.spec());
    assert_eq!(Arm::family(&a), Some("claude"));
}

#[test]
fn construction_errors_name_the_setting() {
    let cfg = |v: Value| -> AnthropicArmConfig { serde_json::from_value(v).unwrap() };
    let base = json!({"base_url": "http://127.0.0.1:1/v1", "model": "m", "user": "{input}"});
    let mk = |extra: Value| {
        let mut c = base.clone();
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        AnthropicArm::new_with_env("x", &cfg(c), Path::new("."), &env).unwrap_err()
    };
    assert!(mk(json!({"cache_system": true})).contains("cache_system"));
    assert!(mk(json!({"cache_prefix": true})).contains("cache_prefix"));
    assert!(mk(json!({"temperature": 1.5})).contains("temperature"));
    assert!(mk(json!({"max_tokens": 0})).contains("max_tokens"));
    let e = mk(json!({"api_key_env": "ITERA_SURELY_UNSET_ANTH"}));
    assert!(
        e.contains("arm 'x' (anthropic)") && e.contains("ITERA_SURELY_UNSET_ANTH"),
        "{e}"
    );
}

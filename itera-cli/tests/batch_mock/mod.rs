//! The loopback server of `tests/batch.rs` (127.0.0.1 only): both providers' batch APIs as
//! their references describe them, and the direct endpoints, counting batch submissions and
//! direct calls. Row `i` of a batch is errored when `i % 10 == 3`, absent (OpenAI) or expired
//! (Anthropic) when `i % 10 == 7`, and answered "yes" otherwise.
#![allow(dead_code, clippy::unwrap_used)]

use super::common::http;
use super::{IN_TOK, KEY, OUT_TOK};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Mock {
    /// Batches created (the count a resubmission would raise).
    pub submissions: AtomicUsize,
    /// Direct (non-batch) calls.
    pub direct: AtomicUsize,
    /// Rows called directly.
    pub direct_rows: Mutex<Vec<usize>>,
    /// While set, every batch is in progress.
    pub hold: AtomicBool,
    /// Uploaded files by id.
    pub files: Mutex<BTreeMap<String, String>>,
    /// Batches by id: their request lines.
    pub batches: Mutex<BTreeMap<String, Vec<Value>>>,
    /// Requests refused for a missing or wrong key.
    pub unauthorized: AtomicUsize,
}

/// Row `i` of a batch: errored when `i % 10 == 3`, absent (OpenAI) or expired (Anthropic) when
/// `i % 10 == 7`; answered "yes" otherwise.
pub fn row_of(text: &str) -> usize {
    text.trim_start_matches("question ")
        .trim()
        .parse()
        .unwrap_or(0)
}

pub fn chat(content: &str) -> Value {
    json!({"id": "cmpl", "object": "chat.completion", "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content}}],
           "usage": {"prompt_tokens": IN_TOK, "completion_tokens": OUT_TOK,
                     "total_tokens": IN_TOK + OUT_TOK}})
}

pub fn message(content: &str) -> Value {
    json!({"id": "msg", "type": "message", "role": "assistant", "model": "claude-test",
           "content": [{"type": "text", "text": content}], "stop_reason": "end_turn",
           "usage": {"input_tokens": IN_TOK, "output_tokens": OUT_TOK}})
}

/// The JSONL part of a multipart upload.
pub fn file_part(body: &str) -> String {
    let start = body.find("name=\"file\"").unwrap_or(0);
    let start = start + body[start..].find("\r\n\r\n").unwrap_or(0) + 4;
    let end = start + body[start..].find("\r\n--").unwrap_or(body.len() - start);
    body[start..end].to_string()
}

pub fn route(
    m: &Mock,
    port: u16,
    method: &str,
    path: &str,
    auth: bool,
    body: &[u8],
) -> (u16, String) {
    if !auth {
        m.unauthorized.fetch_add(1, Ordering::SeqCst);
        return (401, json!({"error": {"message": "bad key"}}).to_string());
    }
    let text = String::from_utf8_lossy(body).to_string();
    let req: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let held = m.hold.load(Ordering::SeqCst);
    match (method, path) {
        ("POST", "/v1/chat/completions") => {
            m.direct.fetch_add(1, Ordering::SeqCst);
            let i = row_of(req["messages"][0]["content"].as_str().unwrap_or(""));
            m.direct_rows.lock().unwrap().push(i);
            (200, chat("yes").to_string())
        }
        ("POST", "/v1/messages") => {
            m.direct.fetch_add(1, Ordering::SeqCst);
            let i = row_of(
                req["messages"][0]["content"][0]["text"]
                    .as_str()
                    .unwrap_or(""),
            );
            m.direct_rows.lock().unwrap().push(i);
            (200, message("yes").to_string())
        }
        ("POST", "/v1/files") => {
            let mut files = m.files.lock().unwrap();
            let id = format!("file-{}", files.len());
            files.insert(id.clone(), file_part(&text));
            (
                200,
                json!({"id": id, "object": "file", "purpose": "batch"}).to_string(),
            )
        }
        ("POST", "/v1/batches") => {
            let file = req["input_file_id"].as_str().unwrap_or("").to_string();
            let lines: Vec<Value> = m.files.lock().unwrap()[&file]
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(req["endpoint"], "/v1/chat/completions");
            let n = m.submissions.fetch_add(1, Ordering::SeqCst);
            let id = format!("batch_{n}");
            m.batches.lock().unwrap().insert(id.clone(), lines);
            (
                200,
                json!({"id": id, "object": "batch", "status": "validating"}).to_string(),
            )
        }
        ("POST", "/v1/messages/batches") => {
            let lines = req["requests"].as_array().cloned().unwrap_or_default();
            let n = m.submissions.fetch_add(1, Ordering::SeqCst);
            let id = format!("msgbatch_{n}");
            m.batches.lock().unwrap().insert(id.clone(), lines);
            (
                200,
                json!({"id": id, "type": "message_batch",
                         "processing_status": "in_progress", "results_url": null})
                .to_string(),
            )
        }
        ("GET", p) if p.starts_with("/v1/files/") && p.ends_with("/content") => {
            let id = p
                .trim_start_matches("/v1/files/out-")
                .trim_end_matches("/content");
            let lines = m.batches.lock().unwrap()[id].clone();
            let mut out = String::new();
            for l in lines {
                let i = row_of(l["body"]["messages"][0]["content"].as_str().unwrap_or(""));
                let line = match i % 10 {
                    3 => json!({"id": "r", "custom_id": l["custom_id"], "response": null,
                                "error": {"code": "server_error", "message": "boom"}}),
                    7 => continue,
                    _ => json!({"id": "r", "custom_id": l["custom_id"], "error": null,
                                "response": {"status_code": 200, "request_id": "q",
                                             "body": chat("yes")}}),
                };
                out.push_str(&line.to_string());
                out.push('\n');
            }
            (200, out)
        }
        ("GET", p) if p.starts_with("/v1/batches/") => {
            let id = p.trim_start_matches("/v1/batches/");
            let status = if held { "in_progress" } else { "completed" };
            (200, json!({"id": id, "object": "batch", "status": status,
                         "output_file_id": if held { Value::Null } else { json!(format!("out-{id}")) }})
                .to_string())
        }
        ("GET", p) if p.starts_with("/v1/messages/batches/") && p.ends_with("/results") => {
            let id = p
                .trim_start_matches("/v1/messages/batches/")
                .trim_end_matches("/results");
            let lines = m.batches.lock().unwrap()[id].clone();
            let mut out = String::new();
            for l in lines {
                let i = row_of(
                    l["params"]["messages"][0]["content"][0]["text"]
                        .as_str()
                        .unwrap_or(""),
                );
                let result = match i % 10 {
                    3 => json!({"type": "errored", "error": {"type": "error",
                                "error": {"type": "api_error", "message": "boom"}}}),
                    7 => json!({"type": "expired"}),
                    _ => json!({"type": "succeeded", "message": message("yes")}),
                };
                out.push_str(&json!({"custom_id": l["custom_id"], "result": result}).to_string());
                out.push('\n');
            }
            (200, out)
        }
        ("GET", p) if p.starts_with("/v1/messages/batches/") => {
            let id = p.trim_start_matches("/v1/messages/batches/");
            let (status, url) = if held {
                ("in_progress", Value::Null)
            } else {
                (
                    "ended",
                    json!(format!(
                        "http://127.0.0.1:{port}/v1/messages/batches/{id}/results"
                    )),
                )
            };
            (
                200,
                json!({"id": id, "type": "message_batch", "processing_status": status,
                         "results_url": url})
                .to_string(),
            )
        }
        _ => (
            404,
            json!({"error": {"message": format!("no route {method} {path}")}}).to_string(),
        ),
    }
}

pub fn start() -> (u16, Arc<Mock>) {
    let (listener, port) = http::bind();
    let mock = Arc::new(Mock::default());
    let m = Arc::clone(&mock);
    let bearer = format!("Bearer {KEY}");
    http::serve(listener, move |req| {
        let auth = req.header("x-api-key") == Some(KEY)
            || req.header("authorization") == Some(bearer.as_str());
        Some(route(&m, port, &req.method, &req.path, auth, &req.body))
    });
    (port, mock)
}

//! The built-in arms and judges that call things or read recordings, usable from Rust without
//! the CLI (which only maps an experiment file's tables onto these configurations).
//!
//! - [`replay`] ([`ReplayArm`], [`ReplayConfig`]; always compiled): outputs recorded elsewhere (a
//!   published run, a production log) read once from CSV or JSONL and served per (row id, trial)
//!   without a call. Its spec carries the recording's SHA-256, so another recording is another
//!   version (G23); recorded tokens, cost and latency are declared in [`crate::Arm::reports`] for
//!   the pilot to check (G22, G24).
//! - [`recorded`] ([`RecordedScore`]; always compiled): the judge that reads a score recorded with
//!   the output instead of computing one; a missing score is unscorable and falls under the
//!   registered failure policy (G31).
//! - [`command`] ([`CommandArm`], [`CommandConfig`]; cargo feature **`command`**, which adds tokio's
//!   `process` and `io-util`): a long-lived subprocess speaking JSON lines. Its version is the
//!   program, arguments, environment, working directory and the text of the files it names (G23);
//!   a child that dies fails its calls as retryable and is restarted.
//! - [`http`] ([`OpenAiArm`], [`OpenAiArmConfig`]; cargo feature **`http`**, which adds reqwest
//!   with rustls' `ring` provider): a chat model behind an OpenAI-compatible `/chat/completions`
//!   endpoint. The spec is the model, templates, sampling settings and extraction — never the
//!   address or the API key (G23); token usage is reported (G24); 429/5xx/time-outs are retryable
//!   and the rest fatal (G31).
//! - [`anthropic`] ([`AnthropicArm`], [`AnthropicArmConfig`]; feature **`http`**): a Claude model
//!   behind Anthropic's Messages API, with `cache_control` on the system prompt and a shared
//!   prefix; cache-creation and cache-read tokens are journaled and priced apart, and the cost
//!   reported is the warm, steady-state one (G28); 429/529 retried with `Retry-After`.
//! - [`llm_judge`] ([`LlmJudge`], [`LlmJudgeConfig`]; feature **`http`**): a judge that asks a chat
//!   model for a grade under a locked judging text whose hash is journaled (G8); it must name its
//!   model family for the cross-judge rule (G29) and sees only the row and the output, never the
//!   arm (G30). Prefer a deterministic scorer where one exists (G11).
//!
//! With no features (`default = []`) the crate builds without reqwest, rustls or tokio's process
//! support; a service that calls an endpoint or a command enables `http` and/or `command`.
//!
//! (In a build without a feature, its items' links above point back to this page.)
//!
#![cfg_attr(
    not(feature = "command"),
    doc = "[`command`]: self\n[`CommandArm`]: self\n[`CommandConfig`]: self\n"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "[`http`]: self\n[`anthropic`]: self\n[`AnthropicArm`]: self\n[`AnthropicArmConfig`]: self\n[`OpenAiArm`]: self\n[`OpenAiArmConfig`]: self\n[`llm_judge`]: self\n[`LlmJudge`]: self\n[`LlmJudgeConfig`]: self"
)]

#[cfg(feature = "http")]
pub mod anthropic;
#[cfg(feature = "command")]
pub mod command;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod llm_judge;
#[cfg(feature = "http")]
pub(crate) mod llm_judge_modes;
pub mod recorded;
pub mod replay;

#[cfg(feature = "http")]
pub use anthropic::{AnthropicArm, AnthropicArmConfig};
#[cfg(feature = "command")]
pub use command::{CommandArm, CommandConfig};
#[cfg(feature = "http")]
pub use http::{OpenAiArm, OpenAiArmConfig};
#[cfg(feature = "http")]
pub use llm_judge::{LlmJudge, LlmJudgeConfig};
pub use recorded::RecordedScore;
pub use replay::{ReplayArm, ReplayConfig};

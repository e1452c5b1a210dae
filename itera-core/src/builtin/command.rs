//! The `command` arm: a subprocess speaking JSON lines, one long-lived child per arm.
//!
//! ```toml
//! command = { program = "python3", args = ["arm.py"], files = ["prompt.txt"] }
//! ```
//!
//! For every call itera writes one line to the child's stdin:
//! `{"id": 17, "row": "task/3", "input": <row input>, "trial": 0, "seed": 123}` and reads lines
//! from its stdout, matching responses to requests by `id` (the child may answer out of order
//! and handle several requests at once):
//! `{"id": 17, "output": <answer>, "usage": {"input_tokens": 12, "output_tokens": 3, "cost_usd": 0.0001}}`
//! (`usage` optional), or `{"id": 17, "error": "why", "retryable": true}`. Lines that are not
//! JSON objects with an `id` are ignored (log to stderr instead; the child's stderr is passed
//! through). If the child exits, calls in flight fail as retryable and the next call starts a
//! new child.
//!
//! A call that is abandoned before its answer — its time-out passed, or the run was cancelled —
//! kills the child's whole process group (the child is spawned as the leader of its own group,
//! so a shell's grandchildren die with it) and the next attempt starts a fresh child: one hung
//! request never poisons the calls queued behind it (other calls in flight on the killed child
//! fail as retryable and are retried). Dropping the arm kills the group too. If itera itself is
//! SIGKILLed nothing in itera runs any more: a small guardian shell per child, blocked reading a
//! pipe only itera holds, sees that pipe close and kills the child's group — even a child hung
//! inside one request (a parent-death signal would need `unsafe` code in `pre_exec`, forbidden
//! here). The child also sees its stdin close: the protocol asks it to exit at end of input.
//!
//! The arm's version (its `spec()`) is the program, its arguments, environment and working
//! directory as written, the SHA-256 of the program file (the program when given as a path, and
//! the first argument naming an existing file: the script an interpreter runs), plus the text of
//! every file listed in `files` (the prompt the script reads, say): editing one of them is a new
//! version, and the verdict refuses a version that is not the locked one.

use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx, Reports, Usage};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

/// `command = { ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// The program (a path relative to the experiment file, or a name on `PATH`).
    pub program: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the experiment file (default: the file's directory).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Files whose text defines this version (prompts, configs), relative to the experiment file.
    #[serde(default)]
    pub files: Vec<String>,
    /// Usage the child reports on every answer: any of `"tokens"`, `"cost"` (checked by the pilot).
    #[serde(default)]
    pub reports: Vec<String>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

struct Running {
    stdin: tokio::sync::Mutex<ChildStdin>,
    pending: Pending,
    alive: Arc<AtomicBool>,
    /// The child's pid, which is also its process group id (`process_group(0)`).
    group: Option<u32>,
    _child: Child,
    /// The guardian: kills the group when itera dies without running a destructor.
    guard: Option<Guard>,
}

/// A `/bin/sh` watching itera on behalf of one child's process group: it blocks reading a pipe
/// only itera holds, and when that pipe closes — itera exited, or was SIGKILLed so no `Drop`
/// ran — it kills the group (item 2: "a SIGKILLed itera leaves none running"; test:
/// `a_sigkilled_itera_leaves_no_hung_child_running` in itera-cli/tests/faults.rs). It ignores
/// SIGINT/SIGHUP/SIGTERM, so a Ctrl-C that ends itera does not end the guardian first. This does
/// what a parent-death signal would, without `unsafe` code in `pre_exec`.
struct Guard {
    process: Child,
    _pipe: ChildStdin,
}

impl Guard {
    fn spawn(group: u32) -> Option<Guard> {
        let mut process = Command::new("/bin/sh")
            .args([
                "-c",
                "trap '' INT HUP TERM; read _ ; kill -9 \"-$1\" 2>/dev/null",
                "itera-guard",
                &group.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let pipe = process.stdin.take()?;
        Some(Guard {
            process,
            _pipe: pipe,
        })
    }
}

impl Running {
    /// Kills the child's whole process group and marks it dead: the next call starts a new one.
    fn kill(&self) {
        self.alive.store(false, Ordering::SeqCst);
        if let Some(pid) = self
            .group
            .and_then(|g| rustix::process::Pid::from_raw(g as i32))
        {
            // The group may be gone already (ESRCH): nothing to do then.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // No child (nor its children) outlives the arm. The guardian goes first, by SIGKILL, so
        // it cannot signal a process group id the system has handed out again.
        if let Some(g) = self.guard.as_mut() {
            let _ = g.process.start_kill();
        }
        self.kill();
    }
}

/// A subprocess arm.
pub struct CommandArm {
    id: String,
    spec: String,
    family: Option<String>,
    reports: Reports,
    program: PathBuf,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    cwd: PathBuf,
    next_id: AtomicU64,
    child: tokio::sync::Mutex<Option<Arc<Running>>>,
}

impl std::fmt::Debug for CommandArm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandArm")
            .field("id", &self.id)
            .field("program", &self.program)
            .finish_non_exhaustive()
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

impl CommandArm {
    /// Builds the arm (the child starts on the first call). Errors name the bad key.
    pub fn new(
        id: &str,
        cfg: &CommandConfig,
        base_dir: &Path,
        family: Option<String>,
    ) -> Result<CommandArm, String> {
        if cfg.program.trim().is_empty() {
            return Err("program is empty: name the program to run".into());
        }
        // A program with a path separator is relative to the experiment file; a bare name is
        // looked up on PATH.
        let program = if cfg.program.contains('/') {
            let p = resolve(base_dir, &cfg.program);
            if !p.exists() {
                return Err(format!(
                    "program {} does not exist: paths are relative to the experiment file",
                    p.display()
                ));
            }
            p
        } else {
            PathBuf::from(&cfg.program)
        };
        let cwd = cfg
            .cwd
            .as_deref()
            .map_or_else(|| base_dir.to_path_buf(), |c| resolve(base_dir, c));
        let mut spec = format!("command: {}", cfg.program);
        for a in &cfg.args {
            spec.push(' ');
            spec.push_str(a);
        }
        spec.push('\n');
        for (k, v) in &cfg.env {
            spec.push_str(&format!("env {k}={v}\n"));
        }
        if let Some(c) = &cfg.cwd {
            spec.push_str(&format!("cwd: {c}\n"));
        }
        // The program file itself is part of the version (G23, G39): the program when given as
        // a path, and the first argument that names an existing file (the script an
        // interpreter runs, `python3 arm.py`). Editing it between dev and the verdict is a new
        // version, which the verdict refuses (it is not the locked one).
        // Enforcement tested by `edited_command_script_is_a_new_version` (tests/integrity.rs).
        let program_file = cfg
            .program
            .contains('/')
            .then(|| (cfg.program.as_str(), program.clone()));
        let script = cfg
            .args
            .iter()
            .map(|a| (a.as_str(), resolve(&cwd, a)))
            .find(|(_, p)| p.is_file());
        for (written, p) in program_file.into_iter().chain(script) {
            let bytes = std::fs::read(&p).map_err(|e| {
                format!(
                    "cannot read the program file {}: {e}; its content is part of the arm's version",
                    p.display()
                )
            })?;
            // The path as written: the version does not depend on where the directory lives.
            spec.push_str(&format!(
                "program file {written} sha256 {}\n",
                crate::hash::sha256_hex(&bytes)
            ));
        }
        for f in &cfg.files {
            let p = resolve(base_dir, f);
            let text = std::fs::read_to_string(&p).map_err(|e| {
                format!(
                    "files: cannot read {}: {e}; paths are relative to the experiment file",
                    p.display()
                )
            })?;
            spec.push_str(&format!("--- {f}\n{text}\n"));
        }
        let mut reports = Reports::default();
        for r in &cfg.reports {
            match r.as_str() {
                "tokens" => reports.tokens = true,
                "cost" => reports.cost = true,
                other => {
                    return Err(format!(
                        "reports: '{other}' is not a usage field; use \"tokens\" and/or \"cost\""
                    ));
                }
            }
        }
        Ok(CommandArm {
            id: id.to_string(),
            spec,
            family,
            reports,
            program,
            args: cfg.args.clone(),
            env: cfg.env.clone(),
            cwd,
            next_id: AtomicU64::new(1),
            child: tokio::sync::Mutex::new(None),
        })
    }

    async fn running(&self) -> Result<Arc<Running>, ArmError> {
        let mut slot = self.child.lock().await;
        if let Some(r) = slot.as_ref()
            && r.alive.load(Ordering::SeqCst)
        {
            return Ok(Arc::clone(r));
        }
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            // Its own process group, so a time-out kills the child and everything it started.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                ArmError::Fatal(format!(
                    "cannot start {}: {e}; check command.program",
                    self.program.display()
                ))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ArmError::Fatal("the child has no stdin/stdout".into()));
        };
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let alive = Arc::new(AtomicBool::new(true));
        let (p, a) = (Arc::clone(&pending), Arc::clone(&alive));
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    tracing::debug!("command arm: ignoring a non-JSON line: {line}");
                    continue;
                };
                let Some(id) = v.get("id").and_then(Value::as_u64) else {
                    continue;
                };
                let tx = p.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                if let Some(tx) = tx {
                    let _ = tx.send(v);
                }
            }
            a.store(false, Ordering::SeqCst);
            // Dropping the senders fails every call in flight.
            p.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        let running = Arc::new(Running {
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            alive,
            group: child.id(),
            guard: child.id().and_then(Guard::spawn),
            _child: child,
        });
        *slot = Some(Arc::clone(&running));
        Ok(running)
    }
}

/// Removes a request from the pending map when the call ends; a call dropped after its request
/// was sent and before its answer (time-out, cancellation) kills the child's process group.
struct Forget<'a> {
    running: &'a Running,
    id: u64,
    /// The request is written and unanswered: dropping now abandons it.
    outstanding: bool,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.running
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        if self.outstanding {
            // The child may be stuck on this request, and every request queued behind it would
            // time out in turn: kill it; the retry starts a fresh child. Enforced here;
            // `a_hung_call_kills_the_child_and_the_retry_succeeds` (itera-core/tests/builtin.rs)
            // and `hung_and_flaky_command_arm_retried_to_the_clean_verdict`
            // (itera-cli/tests/faults.rs) fail without it.
            self.running.kill();
        }
    }
}

fn retryable(message: String) -> ArmError {
    ArmError::Retryable {
        message,
        retry_after: None,
    }
}

#[async_trait]
impl Arm for CommandArm {
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
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let running = self.running().await?;
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        running
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let mut forget = Forget {
            running: &running,
            id,
            outstanding: false,
        };
        let mut line = serde_json::to_string(&serde_json::json!({
            "id": id,
            "row": ctx.row_id.as_str(),
            "input": input,
            "trial": ctx.trial,
            "seed": ctx.seed,
        }))
        .map_err(|e| ArmError::Fatal(e.to_string()))?;
        line.push('\n');
        {
            let mut stdin = running.stdin.lock().await;
            let written = stdin.write_all(line.as_bytes()).await;
            let flushed = match written {
                Ok(()) => stdin.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = flushed {
                running.alive.store(false, Ordering::SeqCst);
                return Err(retryable(format!("the command's stdin is closed: {e}")));
            }
            forget.outstanding = true;
        }
        let answer = rx.await;
        forget.outstanding = false;
        let v = answer.map_err(|_| {
            running.alive.store(false, Ordering::SeqCst);
            retryable("the command exited before answering; it will be restarted".into())
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let message = err.as_str().map_or_else(|| err.to_string(), str::to_string);
            return Err(
                if v.get("retryable").and_then(Value::as_bool) == Some(true) {
                    retryable(message)
                } else {
                    ArmError::Fatal(message)
                },
            );
        }
        let output = v
            .get("output")
            .cloned()
            .ok_or_else(|| ArmError::Fatal("the response has no 'output' field".into()))?;
        let usage = match v.get("usage") {
            Some(u) if !u.is_null() => serde_json::from_value::<Usage>(u.clone())
                .map_err(|e| ArmError::Fatal(format!("the response's usage is malformed: {e}")))?,
            _ => Usage::default(),
        };
        Ok(ArmOutput {
            output,
            usage,
            recorded_latency_ms: None,
            recorded_score: None,
            server_ms: None,
            // The child's own account of the model's reply, when it gives one.
            raw: v.get("raw").and_then(Value::as_str).map(str::to_string),
            // The code paths the child reports it took (G38), when it gives them.
            trace: v
                .get("trace")
                .and_then(Value::as_array)
                .map_or_else(Vec::new, |t| {
                    t.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                }),
        })
    }
}

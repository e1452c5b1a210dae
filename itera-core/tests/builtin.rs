//! The built-in arms and judges used directly from Rust, as a service would, without the CLI:
//! the replay arm and the `recorded` scorer (always compiled) and the command arm (cargo feature
//! `command`). The spec of each is its version (G23): another recording or another program is
//! another spec.

#![allow(clippy::unwrap_used)]

use itera_core::builtin::{RecordedScore, ReplayArm, ReplayConfig};
use itera_core::{Arm, ArmError, CallCtx, Judge, JudgeView, RowId};
use serde_json::json;
use std::path::Path;

fn ctx(row: &str, trial: u32) -> CallCtx {
    CallCtx {
        row_id: row.into(),
        trial,
        seed: 7,
    }
}

fn replay_config(path: &str) -> ReplayConfig {
    serde_json::from_value(json!({
        "path": path, "id": "row", "output": "pred", "score": "pref",
        "input_tokens": "tin", "output_tokens": "tout", "filter": {"variant": "v2"}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_service_replays_a_recording_and_scores_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("runs.csv"),
        "row,variant,pred,pref,tin,tout\n\
         r1,v2,travel,2,10,3\n\
         r2,v2,,1,11,0\n\
         r1,v1,meals,1,9,2\n",
    )
    .unwrap();
    let ids: Vec<RowId> = vec!["r1".into(), "r2".into()];
    let cfg = replay_config("runs.csv");
    let arm = ReplayArm::load("v2", &cfg, dir.path(), None, &ids, 3, true).unwrap();
    assert_eq!(arm.len(), 2, "the filter keeps v2's lines only");
    assert!(arm.reports().tokens);
    assert!(arm.spec().contains("runs.csv (sha256 "), "{}", arm.spec());

    // Without a trial column every trial replays the same recorded output.
    let out = arm.call(&json!("ignored"), &ctx("r1", 2)).await.unwrap();
    assert_eq!(out.output, json!({"output": "travel", "score": 2.0}));
    assert_eq!(out.usage.input_tokens, Some(10));
    assert_eq!(out.recorded_score, Some(2.0));
    // An empty recorded output is a real "no answer", not an error.
    let empty = arm.call(&json!(null), &ctx("r2", 0)).await.unwrap();
    assert_eq!(empty.output["output"], json!(""));
    // A row that was not recorded is fatal.
    let e = arm.call(&json!(null), &ctx("r3", 0)).await.unwrap_err();
    assert!(matches!(e, ArmError::Fatal(_)), "{e:?}");

    // The recorded scorer reads the embedded score and rescales [1, 2] onto [0, 1].
    let judge = RecordedScore::new(1.0, 2.0).unwrap();
    let input = json!(null);
    let view = JudgeView {
        input: &input,
        expected: None,
    };
    assert_eq!(judge.score(view, &out.output).await.unwrap().score, 1.0);
    assert_eq!(judge.score(view, &empty.output).await.unwrap().score, 0.0);

    // A missing recording is refused when the arm is built, with the count.
    let more: Vec<RowId> = vec!["r1".into(), "r9".into()];
    let e = ReplayArm::load("v2", &cfg, dir.path(), None, &more, 1, false).unwrap_err();
    assert!(e.contains("1 of 2 row ids") && e.contains("r9"), "{e}");
    // Another recording is another version.
    std::fs::write(
        dir.path().join("runs.csv"),
        "row,variant,pred,pref,tin,tout\nr1,v2,travel,2,10,3\nr2,v2,meals,1,11,1\n",
    )
    .unwrap();
    let edited = ReplayArm::load("v2", &cfg, dir.path(), None, &ids, 3, true).unwrap();
    assert_ne!(edited.spec(), arm.spec());
    assert!(
        ReplayArm::load("v2", &cfg, Path::new("/nonexistent"), None, &ids, 1, false)
            .unwrap_err()
            .contains("cannot read")
    );
}

#[cfg(feature = "command")]
mod command {
    //! The command arm: a long-lived child speaking JSON lines (here a POSIX shell loop).

    use super::ctx;
    use itera_core::builtin::{CommandArm, CommandConfig};
    use itera_core::{Arm, ArmError};
    use serde_json::json;

    /// Answers `{"id": N, "output": <the request's input>}` for simple inputs; the request's keys
    /// are written in sorted order (`id`, `input`, `row`, `seed`, `trial`). An input `"fail"`
    /// gets a non-retryable error.
    const ECHO: &str = r#"while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed 's/^{"id":\([0-9]*\),.*/\1/')
  input=$(printf '%s' "$line" | sed 's/.*"input":\(.*\),"row":.*/\1/')
  if [ "$input" = '"fail"' ]; then
    printf '{"id":%s,"error":"refused","retryable":false}\n' "$id"
  else
    printf '{"id":%s,"output":%s,"usage":{"input_tokens":5,"output_tokens":1}}\n' "$id" "$input"
  fi
done
"#;

    fn config(extra_env: &str) -> CommandConfig {
        serde_json::from_value(json!({
            "program": "sh", "args": ["echo.sh"], "files": ["echo.sh"],
            "env": {"MODE": extra_env}, "reports": ["tokens"]
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_service_calls_a_command_arm() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("echo.sh"), ECHO).unwrap();
        let arm = CommandArm::new("cmd", &config("a"), dir.path(), Some("shell".into())).unwrap();
        assert_eq!(arm.id(), "cmd");
        assert_eq!(arm.family(), Some("shell"));
        assert!(arm.reports().tokens && !arm.reports().cost);
        let spec = arm.spec();
        assert!(spec.starts_with("command: sh echo.sh\n"), "{spec}");
        assert!(
            spec.contains("env MODE=a") && spec.contains("--- echo.sh\n"),
            "{spec}"
        );

        let out = arm.call(&json!("hello"), &ctx("r1", 0)).await.unwrap();
        assert_eq!(out.output, json!("hello"));
        assert_eq!(out.usage.input_tokens, Some(5));
        // Several calls at once share the one child and are matched by id.
        let inputs: Vec<_> = (0..8).map(|i| json!(i)).collect();
        let c = ctx("r2", 1);
        let calls = inputs.iter().map(|v| arm.call(v, &c));
        let outs = futures::future::join_all(calls).await;
        for (i, o) in outs.into_iter().enumerate() {
            assert_eq!(o.unwrap().output, json!(i));
        }
        let e = arm.call(&json!("fail"), &ctx("r3", 0)).await.unwrap_err();
        assert!(matches!(&e, ArmError::Fatal(m) if m == "refused"), "{e:?}");

        // The environment and the listed files are part of the version.
        let other = CommandArm::new("cmd", &config("b"), dir.path(), None).unwrap();
        assert_ne!(other.spec(), spec);
        // Configuration errors name the key.
        let mut bad = config("a");
        bad.reports = vec!["latency".into()];
        let e = CommandArm::new("cmd", &bad, dir.path(), None).unwrap_err();
        assert!(e.contains("reports"), "{e}");
        let mut missing = config("a");
        missing.files = vec!["nope.txt".into()];
        let e = CommandArm::new("cmd", &missing, dir.path(), None).unwrap_err();
        assert!(e.contains("nope.txt"), "{e}");
    }

    /// Like `ECHO`, but the input `"hang"` starts a grandchild (`sleep`) that never ends and
    /// waits for it: the child is stuck, and every request queued behind would be too.
    const HANGS: &str = r#"while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed 's/^{"id":\([0-9]*\),.*/\1/')
  input=$(printf '%s' "$line" | sed 's/.*"input":\(.*\),"row":.*/\1/')
  if [ "$input" = '"hang"' ]; then
    sleep 600 &
    echo $! > sleeper.pid
    wait $!
  fi
  printf '{"id":%s,"output":%s}\n' "$id" "$input"
done
"#;

    /// G31 / item "a hung call never poisons the rest": the timed-out call's child — with its
    /// whole process group — is killed, and the next call gets a fresh child at once.
    #[tokio::test]
    async fn a_hung_call_kills_the_child_and_the_retry_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hangs.sh"), HANGS).unwrap();
        let cfg: CommandConfig =
            serde_json::from_value(json!({"program": "sh", "args": ["hangs.sh"]})).unwrap();
        let arm = CommandArm::new("cmd", &cfg, dir.path(), None).unwrap();
        let limit = std::time::Duration::from_millis(500);
        let hung = tokio::time::timeout(limit, arm.call(&json!("hang"), &ctx("r1", 0))).await;
        assert!(hung.is_err(), "the hanging call times out");
        let next = tokio::time::timeout(limit * 4, arm.call(&json!("ok"), &ctx("r2", 0))).await;
        assert_eq!(
            next.expect("the call after a hung one is answered, not queued behind it")
                .unwrap()
                .output,
            json!("ok")
        );
        let pid = std::fs::read_to_string(dir.path().join("sleeper.pid")).unwrap();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).is_ok_and(|s| {
                !s.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
        };
        let start = std::time::Instant::now();
        while alive() && start.elapsed() < std::time::Duration::from_secs(2) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            !alive(),
            "the hung child's grandchild {pid} was left running"
        );
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_is_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let cfg: CommandConfig =
            serde_json::from_value(json!({"program": "itera-surely-not-a-program"})).unwrap();
        let arm = CommandArm::new("cmd", &cfg, dir.path(), None).unwrap();
        let e = arm.call(&json!("x"), &ctx("r1", 0)).await.unwrap_err();
        assert!(
            matches!(&e, ArmError::Fatal(m) if m.contains("cannot start")),
            "{e:?}"
        );
    }
}

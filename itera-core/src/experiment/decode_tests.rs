//! Tests of how often a run decodes its call records ("Fast at 100k rows", issue #17): the
//! profile of `itera run` on a 140k-line journal was dominated by decoding every call line again
//! in each phase (the open, the gate, the seal, three times in the verdict), although those
//! phases rebuild their state from the few hundred decision lines. Call lines are still verified
//! on every read (hash, link, sequence: G7), only not decoded where nothing reads them.

use crate::data::row::Row;
use crate::experiment::Experiment;
use crate::journal::chain::CALL_DECODES;
use crate::journal::store::Store;
use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx};
use crate::run::exec::RunOptions;
use crate::run::judges::ExactMatch;
use crate::run::lineup::Lineup;
use async_trait::async_trait;
use serde_json::Value;

fn decodes() -> u64 {
    CALL_DECODES.with(|c| c.get())
}

/// Answers the expected label, except on every `miss`-th row.
struct Labeler {
    id: &'static str,
    miss: usize,
}

#[async_trait]
impl Arm for Labeler {
    fn id(&self) -> &str {
        self.id
    }
    fn spec(&self) -> String {
        format!("{} misses every {}th row", self.id, self.miss)
    }
    async fn call(&self, input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let n: usize = input["n"].as_u64().unwrap_or(0) as usize;
        let expected = input["expected"].as_str().unwrap_or("");
        Ok(ArmOutput::text(if n.is_multiple_of(self.miss) {
            "wrong"
        } else {
            expected
        }))
    }
}

fn rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let expected = ["travel", "software", "supplies"][i % 3];
            Row::new(
                format!("r{i:04}"),
                serde_json::json!({"n": i, "expected": expected}),
            )
            .expected(expected)
        })
        .collect()
}

fn lineup() -> Lineup {
    let arms: Vec<Box<dyn Arm>> = vec![
        Box::new(Labeler {
            id: "base",
            miss: 3,
        }),
        Box::new(Labeler {
            id: "candidate",
            miss: 4,
        }),
    ];
    Lineup::new(ExactMatch).arms(arms).options(RunOptions {
        accept_underpowered: Some("a unit-test fixture".into()),
        ..RunOptions::default()
    })
}

fn frame() -> crate::frame::Frame {
    crate::frame::Frame::builder("decodes", "Does candidate label better?", "It does.")
        .baseline("base", "decode_tests.rs:1")
        .arm("candidate", "base", "misses fewer rows")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .trials(1)
        .deterministic(true)
        .seed(3)
        .build()
        .unwrap()
}

/// The fixture experiment registered in `dir`, split, piloted and scored on dev.
async fn scored_in(dir: &std::path::Path) -> Experiment<crate::experiment::Scored> {
    Experiment::new(frame())
        .unwrap()
        .register(Store::dir(dir).unwrap())
        .unwrap()
        .split_rows(rows(300))
        .unwrap()
        .pilot(lineup())
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
}

/// The fixture experiment in `dir`, scored, gated with no change and sealed.
async fn sealed_in(dir: &std::path::Path) -> Experiment<crate::experiment::Sealed> {
    scored_in(dir).await.gate(&[]).unwrap().seal().unwrap()
}

/// Journal lines read on this thread so far (by any scan or opening pass).
fn lines_read() -> u64 {
    crate::journal::store::LINES_READ.with(|c| c.get())
}

/// Lines of the directory's journal that `keep` accepts.
fn lines_in(dir: &std::path::Path, keep: impl Fn(&str) -> bool) -> u64 {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| keep(l))
        .count() as u64
}

/// Call lines in the directory's journal.
fn calls_in(dir: &std::path::Path) -> u64 {
    lines_in(dir, |l| l.contains(r#""event":"call""#))
}

/// Opening a directory to run it decodes no call line (they are verified from their bytes), and
/// `itera verify`'s read-only open still decodes every one (its full pass).
#[tokio::test]
async fn opening_decodes_no_call_line() {
    // A directory inside a temp dir: the spent-test ledger beside it is this test's own (G15).
    let root = tempfile::tempdir().unwrap();
    let dir = &root.path().join("exp");
    drop(scored_in(dir).await);
    let calls = calls_in(dir);
    assert!(calls >= 300, "{calls} call lines");
    let before = decodes();
    drop(Store::dir(dir).unwrap());
    assert_eq!(decodes() - before, 0, "Store::dir decoded call lines");
    let before = decodes();
    drop(Store::read_only(dir).unwrap());
    assert_eq!(
        decodes() - before,
        calls,
        "a read-only open decodes every line"
    );
}

/// The gate and the seal rebuild their state from the decision lines: they decode no call line.
/// The verdict decodes the calls it counts before opening the test set once, and every call
/// once more after the test pass for the report and the self-audit — no more.
#[tokio::test]
async fn gate_seal_and_verdict_decode_each_call_line_at_most_once() {
    let root = tempfile::tempdir().unwrap();
    let dir = &root.path().join("exp");
    let scored = scored_in(dir).await;
    let before = decodes();
    let gated = scored.gate(&[]).unwrap();
    assert_eq!(decodes() - before, 0, "the gate decoded call lines");
    let before = decodes();
    let sealed = gated.seal().unwrap();
    assert_eq!(decodes() - before, 0, "the seal decoded call lines");
    let dev_calls = calls_in(dir);
    let before = decodes();
    let conclusion = sealed.verdict(None).await.unwrap();
    let all_calls = calls_in(dir);
    assert!(all_calls > dev_calls, "the test pass made calls");
    let made = decodes() - before;
    assert!(
        made <= dev_calls + all_calls,
        "the verdict decoded {made} call lines; {dev_calls} before the test pass and \
         {all_calls} after it are the most it needs"
    );
    // The same verdict as ever: the audit still reads every call (its items are green).
    assert!(!conclusion.audit.is_empty());
}

/// The verdict reads each journal line once (issue #17): before the test pass it read the whole
/// journal three times (the decisions, the failed dev calls, the test calls to resume) and once
/// more after it for the report — 23% of a 100k-row `itera run`. It now reads the journal once
/// into the index before the test set opens, and after the test pass only the lines appended
/// since, continuing the verified chain from where the index stopped.
#[tokio::test]
async fn the_verdict_reads_each_journal_line_once() {
    let read = lines_read;
    let root = tempfile::tempdir().unwrap();
    let dir = &root.path().join("exp");
    let sealed = sealed_in(dir).await;
    let lines = |dir: &std::path::Path| lines_in(dir, |_| true);
    let before_lines = lines(dir);
    let before = read();
    let conclusion = sealed.verdict(None).await.unwrap();
    let made = read() - before;
    let after_lines = lines(dir);
    assert!(after_lines > before_lines + 100, "the test pass made calls");
    assert!(
        made <= after_lines,
        "the verdict read {made} journal lines; the journal has {after_lines} \
         ({before_lines} before the test pass)"
    );
    assert!(!conclusion.audit.is_empty());
}

/// A concluded directory reopened to run again goes on from the checkpoint its verdict's store
/// wrote when it closed (journal/checkpoint.rs, #17 item 2): no journal line is read, and the
/// store knows what the full pass of a read-only open finds — the verdict, its report hashes,
/// the registration, the line count. The checks that use them still refuse: an edited
/// `frame.md` (G7), a `sealed-opened.json` naming another head (G15, G46).
#[tokio::test]
async fn a_concluded_directory_reopens_from_its_checkpoint_knowing_what_the_full_pass_knows() {
    let read = lines_read;
    let root = tempfile::tempdir().unwrap();
    let dir = &root.path().join("exp");
    let sealed = sealed_in(dir).await;
    drop(sealed.verdict(None).await.unwrap());
    let full = Store::read_only(dir).unwrap();
    let before = read();
    let store = Store::dir(dir).unwrap();
    assert_eq!(read() - before, 0, "the reopen read journal lines");
    assert!(full.concluded().is_some());
    assert_eq!(store.concluded(), full.concluded());
    assert!(full.report_hashes().is_some());
    assert_eq!(store.report_hashes(), full.report_hashes());
    assert_eq!(store.verified_lines(), full.verified_lines());
    assert_eq!(store.registration().unwrap(), full.registration().unwrap());
    crate::report::check_report_files(&store).unwrap();
    drop((store, full));

    let frame_md = dir.join("frame.md");
    let kept = std::fs::read(&frame_md).unwrap();
    std::fs::write(&frame_md, "edited").unwrap();
    let err = Store::dir(dir).unwrap_err().to_string();
    assert!(err.contains("frame.md"), "{err}");
    std::fs::write(&frame_md, kept).unwrap();

    let marker = dir.join("sealed-opened.json");
    let text = std::fs::read_to_string(&marker).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["head"] = serde_json::json!("0".repeat(64));
    std::fs::write(&marker, m.to_string()).unwrap();
    let err = Store::dir(dir).unwrap_err().to_string();
    assert!(
        err.contains("cut back") || err.contains("truncated"),
        "{err}"
    );
}

/// Every event of a whole journal (the self-audit's fixture: registration, split, manifest,
/// calls, gates, iterations, the verdict) encodes to the same bytes with the direct canonical
/// writer as with the value tree it replaced (issue #17): no line's hash changes.
#[test]
fn every_journal_event_encodes_as_before() {
    use crate::canonical::tests::{direct, via_tree};
    use crate::report::audit::fixture;
    let entries = fixture::journal(fixture::events(&fixture::frame()));
    assert!(entries.len() > 20, "{} entries", entries.len());
    for e in &entries {
        assert_eq!(direct(e), via_tree(e), "{}", e.event.kind());
    }
}

/// The in-memory store's scans peek at decoded entries (`Peek::of`), a directory's at the line's
/// text: both see the same kind and part for every event of a whole journal, so a scan that
/// skips kinds skips the same lines in both stores.
#[test]
fn a_peek_at_an_entry_equals_a_peek_at_its_line() {
    use crate::journal::chain::{Peek, Verifier, seal_entry};
    use crate::journal::event::GENESIS;
    use crate::report::audit::fixture;
    let entries = fixture::journal(fixture::events(&fixture::frame()));
    let mut kinds = std::collections::BTreeSet::new();
    for e in &entries {
        let (_, line) = seal_entry(0, GENESIS, e.at.clone(), e.event.clone()).unwrap();
        let mut from_line = None;
        Verifier::new()
            .push_if(&line, |p| {
                from_line = Some((p.call, p.kind.to_string(), p.part.map(str::to_string)));
                false
            })
            .unwrap();
        let p = Peek::of(e);
        let from_entry = (p.call, p.kind.to_string(), p.part.map(str::to_string));
        assert_eq!(from_line, Some(from_entry), "{}", e.event.kind());
        kinds.insert(p.kind.to_string());
    }
    assert!(
        kinds.contains("verdict-reached") && kinds.contains("call"),
        "{kinds:?}"
    );
}

/// `itera status` reads a directory another process may be writing: the read-only open's full
/// pass verifies and decodes every line, and the state status shows comes from that same pass
/// (#17: status opened the journal with the full decoding pass and then decoded all of it again,
/// 1.25 s at 140k lines where `itera verify` takes 0.64 s).
#[tokio::test]
async fn a_read_only_open_hands_its_one_pass_to_the_reader() {
    use crate::journal::event::Event;
    let root = tempfile::tempdir().unwrap();
    let dir = &root.path().join("exp");
    drop(scored_in(dir).await);
    let calls = calls_in(dir);
    let before = decodes();
    let (mut lines, mut call_lines) = (0u64, 0u64);
    let store = Store::read_only_with(dir, |e| {
        lines += 1;
        call_lines += u64::from(matches!(e.event, Event::Call(_)));
    })
    .unwrap();
    assert_eq!(call_lines, calls);
    assert_eq!(lines, store.verified_lines());
    assert_eq!(
        decodes() - before,
        calls,
        "reading the state decoded the {calls} call lines more than once"
    );
}

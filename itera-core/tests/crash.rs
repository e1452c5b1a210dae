//! Crash safety with real SIGKILLs (DESIGN "The store and journal", "The runner"): an experiment
//! run in a child process is killed at 25 seeded points — during start-up, registration, the
//! split, the pilot and all through dev scoring — and resumed each time in the same directory.
//! The final journal must verify and hold exactly the calls of an uninterrupted run, each once,
//! and no call may have been made again once it was journaled (only the calls in flight at a
//! kill are repeated). Also: a torn last line cut inside a multi-byte character is dropped.
//!
//! The child is this test binary re-executed (`child_entry`, ignored unless
//! `ITERA_CRASH_CHILD_DIR` is set).

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use async_trait::async_trait;
use common::*;
use itera_core::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The experiment directory of a child run.
const CHILD_DIR: &str = "ITERA_CRASH_CHILD_DIR";
/// The side file where the child's arms log every call start.
const CHILD_STARTS: &str = "ITERA_CRASH_CHILD_STARTS";
/// The child's generation (0, 1, …), written with each start.
const CHILD_GEN: &str = "ITERA_CRASH_CHILD_GEN";

/// Rows in the source: two slices of 60, so dev holds 30 + 30.
const ROWS: usize = 120;
const DEV: usize = 60;
const TRIALS: u32 = 3;
const CONCURRENCY: usize = 8;

fn opts() -> RunOptions {
    RunOptions {
        arm_concurrency: CONCURRENCY,
        ..fast_opts()
    }
}

/// The three test arms, each with a small async delay so kills land inside calls.
fn delayed_arms() -> [TestArm; 3] {
    let mut arms = standard_arms();
    for (arm, ms) in arms.iter_mut().zip([2, 3, 4]) {
        arm.delay = Duration::from_millis(ms);
    }
    arms
}

/// A test arm that appends `"<gen> <arm> <row> <trial>\n"` to a side file when a call starts
/// (one `write` per line on an `O_APPEND` file), before it does anything else.
struct Logged {
    inner: Handle,
    log: Arc<File>,
    generation: String,
}

#[async_trait]
impl Arm for Logged {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn spec(&self) -> String {
        self.inner.spec()
    }
    fn reports(&self) -> Reports {
        self.inner.reports()
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let line = format!(
            "{} {} {} {}\n",
            self.generation,
            self.id(),
            ctx.row_id,
            ctx.trial
        );
        (&*self.log).write_all(line.as_bytes()).unwrap();
        self.inner.call(input, ctx).await
    }
}

/// The child: runs the experiment to the end of dev scoring in `$ITERA_CRASH_CHILD_DIR`.
/// Without that variable (a plain `cargo test -- --ignored`) it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of crash_safety_under_sigkill"]
async fn child_entry() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let starts = std::env::var(CHILD_STARTS).unwrap();
    let generation = std::env::var(CHILD_GEN).unwrap();
    let log = Arc::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(starts)
            .unwrap(),
    );
    let (handles, _) = shared(delayed_arms());
    let arms: Vec<Box<dyn Arm>> = handles
        .into_iter()
        .map(|h| {
            Box::new(Logged {
                inner: Handle(h),
                log: log.clone(),
                generation: generation.clone(),
            }) as Box<dyn Arm>
        })
        .collect();
    let judge = RecordingJudge::new();
    let exp = Experiment::new(frame(TRIALS))
        .unwrap()
        .register(Store::dir(&dir).unwrap())
        .map_err(|r| r.error)
        .unwrap()
        .split_rows(rows(ROWS))
        .map_err(|r| r.error)
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(opts()))
        .await
        .map_err(|r| r.error)
        .unwrap()
        .score_dev()
        .await
        .map_err(|r| r.error)
        .unwrap();
    assert!(exp.dev().cube.complete());
}

/// splitmix64: a seeded, dependency-free schedule.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn micros(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_micros(lo + self.below(hi - lo))
    }
}

/// When a child is killed: a condition, then a short extra delay.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// This long after the spawn (start-up, registration).
    Spawned(Duration),
    /// Once the journal holds this many complete lines (1 = registered, 2 = split, 3 = manifest).
    JournalLines(usize, Duration),
    /// Once this many distinct (arm, row, trial) calls were started, over all generations.
    Starts(usize, Duration),
}

/// 25 kills: at the spawn, right after the registration and the split lines, twice during a
/// resumed start-up, after the manifest line, twice in the pilot, then seventeen spread through
/// dev scoring (543 distinct calls in all: 3 pilot, 540 dev).
fn schedule(seed: u64) -> Vec<Trigger> {
    let mut mix = Mix(seed);
    let mut s = vec![
        Trigger::Spawned(Duration::ZERO),
        Trigger::JournalLines(1, mix.micros(0, 300)),
        Trigger::JournalLines(2, mix.micros(0, 300)),
        Trigger::Spawned(mix.micros(1_000, 6_000)),
        Trigger::Spawned(mix.micros(6_000, 15_000)),
        Trigger::JournalLines(3, mix.micros(0, 1_000)),
    ];
    for n in 1..=2 {
        s.push(Trigger::Starts(n, mix.micros(0, 1_500)));
    }
    for i in 0..17 {
        let target = 20 + i * 30 + mix.below(20) as usize;
        s.push(Trigger::Starts(target, mix.micros(0, 4_000)));
    }
    s
}

/// Distinct `arm row trial` of the side file's complete lines.
fn distinct_starts(path: &Path) -> usize {
    let text = fs::read(path).unwrap_or_default();
    let complete = text.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    text[..complete]
        .split(|&c| c == b'\n')
        .filter_map(|l| l.iter().position(|&c| c == b' ').map(|i| &l[i..]))
        .collect::<BTreeSet<&[u8]>>()
        .len()
}

fn count_lines(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

fn spawn_child(dir: &Path, starts: &Path, generation: usize, logs: &Path) -> Child {
    let out = File::create(logs.join(format!("child-{generation}.out"))).unwrap();
    let err = File::create(logs.join(format!("child-{generation}.err"))).unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args(["child_entry", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_STARTS, starts)
        .env(CHILD_GEN, generation.to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

fn child_failed(logs: &Path, generation: usize, status: std::process::ExitStatus) -> ! {
    let err = fs::read_to_string(logs.join(format!("child-{generation}.err"))).unwrap_or_default();
    let out = fs::read_to_string(logs.join(format!("child-{generation}.out"))).unwrap_or_default();
    panic!("child {generation} failed ({status}):\n{out}\n{err}");
}

/// Runs a child to its end and checks it succeeded.
fn run_to_end(dir: &Path, starts: &Path, generation: usize, logs: &Path) -> Duration {
    let t = Instant::now();
    let status = spawn_child(dir, starts, generation, logs).wait().unwrap();
    if !status.success() {
        child_failed(logs, generation, status);
    }
    t.elapsed()
}

/// Spawns a child and SIGKILLs it at `trigger`. Panics when the child ended before it.
fn run_and_kill(dir: &Path, starts: &Path, generation: usize, logs: &Path, trigger: Trigger) {
    let journal = dir.join("journal.jsonl");
    let spawned = Instant::now();
    let mut child = spawn_child(dir, starts, generation, logs);
    let extra = loop {
        if let Some(status) = child.try_wait().unwrap() {
            if status.success() {
                panic!("child {generation} finished before its kill ({trigger:?})");
            }
            child_failed(logs, generation, status);
        }
        let due = match trigger {
            Trigger::Spawned(d) => (spawned.elapsed() >= d).then_some(Duration::ZERO),
            Trigger::JournalLines(n, d) => (count_lines(&journal) >= n).then_some(d),
            Trigger::Starts(n, d) => (distinct_starts(starts) >= n).then_some(d),
        };
        if let Some(extra) = due {
            break extra;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    std::thread::sleep(extra);
    if let Some(status) = child.try_wait().unwrap() {
        panic!("child {generation} ended ({status}) before its kill ({trigger:?})");
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "child {generation}: {status}");
}

type CallKey = (String, String, RowId, Part, u32);

/// The Call records of a journal by key, with the latency zeroed; panics on a duplicate key.
fn calls_by_key(entries: &[Entry]) -> BTreeMap<CallKey, CallRecord> {
    let mut out = BTreeMap::new();
    for e in entries {
        if let Event::Call(c) = &e.event {
            let key = (
                c.arm.clone(),
                c.spec_hash.clone(),
                c.row.clone(),
                c.part,
                c.trial,
            );
            let mut c = c.clone();
            c.latency_ms = 0.0;
            c.queue_ms = None; // timings differ between runs; the outcome must not
            assert!(
                out.insert(key.clone(), c).is_none(),
                "{key:?} journaled twice"
            );
        }
    }
    out
}

/// The (arm, row, trial) of the dev calls in the complete lines of a journal file.
fn journaled_dev_keys(journal: &Path) -> BTreeSet<(String, String, u32)> {
    let text = fs::read(journal).unwrap_or_default();
    let complete = text.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    String::from_utf8_lossy(&text[..complete])
        .lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .filter_map(|e| match e.event {
            Event::Call(c) if c.part == Part::Dev => Some((c.arm, c.row.to_string(), c.trial)),
            _ => None,
        })
        .collect()
}

#[test]
fn crash_safety_under_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let (reference, crashed, logs) = (
        tmp.path().join("reference"),
        tmp.path().join("crashed"),
        tmp.path().join("logs"),
    );
    fs::create_dir_all(&logs).unwrap();
    let started = Instant::now();

    let uninterrupted = run_to_end(&reference, &tmp.path().join("reference-starts"), 0, &logs);

    let starts = tmp.path().join("starts");
    let triggers = schedule(0x17E4A);
    // Dev keys journaled when each generation ended, and so before the next one started.
    let mut journaled: Vec<BTreeSet<(String, String, u32)>> = Vec::new();
    let (mut journal_lines, mut torn) = (Vec::new(), 0);
    for (g, trigger) in triggers.iter().enumerate() {
        run_and_kill(&crashed, &starts, g, &logs, *trigger);
        journaled.push(journaled_dev_keys(&crashed.join("journal.jsonl")));
        let text = fs::read(crashed.join("journal.jsonl")).unwrap_or_default();
        journal_lines.push(text.iter().filter(|&&c| c == b'\n').count());
        torn += usize::from(text.last().is_some_and(|&c| c != b'\n'));
    }
    let kills = triggers.len();
    run_to_end(&crashed, &starts, kills, &logs);
    journaled.push(journaled_dev_keys(&crashed.join("journal.jsonl")));
    let elapsed = started.elapsed();

    // (a) The final journal verifies and holds the uninterrupted run's calls, each once.
    let done = Store::dir(&crashed).unwrap().entries().unwrap();
    let expected = calls_by_key(&Store::dir(&reference).unwrap().entries().unwrap());
    let found = calls_by_key(&done);
    assert_eq!(expected.len(), 3 * DEV * TRIALS as usize);
    assert_eq!(found.len(), expected.len());
    for (key, rec) in &expected {
        assert_eq!(found.get(key), Some(rec), "{key:?}");
    }
    let kinds: Vec<&str> = done.iter().map(|e| e.event.kind()).collect();
    for kind in [
        "registered",
        "split",
        "manifest",
        "pilot-passed",
        "baseline-scored",
        "dev-scored",
    ] {
        assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kind}");
    }
    assert!(!kinds.contains(&"pilot-failed"));
    let base_at = kinds.iter().position(|k| *k == "baseline-scored").unwrap();
    let last_base_call = done
        .iter()
        .rposition(|e| matches!(&e.event, Event::Call(c) if c.arm == "base" && c.part == Part::Dev))
        .unwrap();
    let summary_at = kinds.iter().position(|k| *k == "dev-scored").unwrap();
    assert!(
        last_base_call < base_at && base_at < summary_at,
        "the baseline's dev score is journaled after its calls and before the comparison"
    );

    // (b) Starts per key and per generation, from the side file.
    let dev: BTreeSet<String> = done
        .iter()
        .find_map(|e| match &e.event {
            Event::Split { dev_ids, .. } => Some(dev_ids.iter().map(|r| r.to_string()).collect()),
            _ => None,
        })
        .unwrap();
    let log = fs::read_to_string(&starts).unwrap();
    let mut per_key: BTreeMap<(String, String, u32), usize> = BTreeMap::new();
    let mut per_gen: Vec<Vec<(String, String, u32)>> = vec![Vec::new(); kills + 1];
    for line in log.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 4, "side-file line {line:?}");
        let key = (f[1].to_string(), f[2].to_string(), f[3].parse().unwrap());
        *per_key.entry(key.clone()).or_default() += 1;
        if dev.contains(f[2]) {
            per_gen[f[0].parse::<usize>().unwrap()].push(key);
        }
    }
    let repeats: usize = per_key.values().map(|n| n - 1).sum();
    assert!(
        repeats <= kills * CONCURRENCY,
        "{repeats} repeated starts > {kills} kills × {CONCURRENCY} in flight"
    );
    let no_journal = BTreeSet::new();
    let mut in_flight_at_kills = Vec::new();
    for (g, keys) in per_gen.iter().enumerate() {
        let before = if g == 0 {
            &no_journal
        } else {
            &journaled[g - 1]
        };
        for k in keys {
            assert!(!before.contains(k), "{k:?} called again in generation {g}");
        }
        let distinct: BTreeSet<_> = keys.iter().cloned().collect();
        assert_eq!(distinct.len(), keys.len(), "a key started twice in {g}");
        let new_in_journal = journaled[g].len() - before.len();
        let in_flight = keys.len() - new_in_journal;
        assert!(
            in_flight <= CONCURRENCY,
            "generation {g}: {in_flight} calls started and not journaled"
        );
        in_flight_at_kills.push(in_flight);
    }
    assert_eq!(in_flight_at_kills[kills], 0, "the last run ends cleanly");
    let dev_calls_per_gen: Vec<usize> = per_gen.iter().map(Vec::len).collect();
    eprintln!(
        "crash test: {kills} kills in {elapsed:.2?} (uninterrupted child {uninterrupted:.2?}); \
         journal lines at each kill {journal_lines:?} ({torn} torn); dev starts per generation {dev_calls_per_gen:?}; in flight at each kill \
         {in_flight_at_kills:?}; repeated starts {repeats} (pilot re-runs included)"
    );
    // The kills were spread: at least 15 generations made dev calls before theirs.
    let scoring_kills = dev_calls_per_gen[..kills]
        .iter()
        .filter(|n| **n > 0)
        .count();
    assert!(scoring_kills >= 15, "{dev_calls_per_gen:?}");
}

#[test]
fn a_torn_tail_cut_inside_a_character_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    Experiment::new(frame(TRIALS))
        .unwrap()
        .register(Store::dir(dir.path()).unwrap())
        .map_err(|r| r.error)
        .unwrap();
    let path = dir.path().join("journal.jsonl");
    let before = fs::read(&path).unwrap();
    // A write that died in the middle of "café": the first byte of "é" made it, not the second.
    let mut torn = before.clone();
    torn.extend_from_slice(b"{\"at\":\"2026-01-01T00:00:00Z\",\"event\":{\"output\":\"caf\xC3");
    fs::write(&path, &torn).unwrap();
    let store = Store::dir(dir.path()).unwrap();
    assert_eq!(store.entries().unwrap().len(), 1);
    assert_eq!(fs::read(&path).unwrap(), before, "the torn tail is cut off");
}

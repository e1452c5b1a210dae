//! The verdict's memory against its journal's size (issue #17, "Fast at 100k rows": `itera run`
//! at 100k rows peaked at 331 MiB, most of it every call record of the 140k-line journal decoded
//! and held at once for the report and the self-audit). The report and the self-audit read the
//! calls through a compact index instead, and the re-read of the data file (G7) compares it row
//! by row with the split's rows instead of holding a second copy: this test measures how far the process's peak
//! resident size rises during the verdict (Linux: `/proc/self/clear_refs` resets the peak) and
//! bounds it by the journal's size on disk.
//!
//! One test in this binary on purpose: the peak is the whole process's, so a second test
//! running beside it would be counted too.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

use itera_core::prelude::*;

/// A line of `/proc/self/status`, in KiB.
fn status_kib(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Answers the expected label, except on every `miss`-th row; a sentence long, like a model.
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
        let n: usize = input["n"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let expected = input["expected"].as_str().unwrap_or("");
        Ok(ArmOutput::text(if n.is_multiple_of(self.miss) {
            "wrong"
        } else {
            expected
        }))
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_verdict_holds_the_calls_compactly_not_the_decoded_journal() {
    const ROWS: usize = 6000;
    // A data file, split and re-read at the verdict (G7) the way `itera run` does.
    let root = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,n,expected\n");
    for i in 0..ROWS {
        let expected = ["travel", "software", "supplies"][i % 3];
        csv.push_str(&format!("r{i:05},{i},{expected}\n"));
    }
    let data = root.path().join("rows.csv");
    std::fs::write(&data, csv).unwrap();
    let dataset = itera_core::data::load::CsvDataset::new(
        &data,
        itera_core::data::load::Columns::new(["id"], ["n", "expected"]).expected("expected"),
    );
    let frame = Frame::builder("memory", "Does candidate label better?", "It does.")
        .baseline("base", "verdict_memory.rs:1")
        .arm("candidate", "base", "misses fewer rows")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .trials(1)
        .deterministic(true)
        .seed(3)
        .build()
        .unwrap();
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
    let lineup = Lineup::new(itera_core::run::judges::ExactMatch)
        .arms(arms)
        .options(RunOptions {
            accept_underpowered: Some("a memory test".into()),
            ..RunOptions::default()
        });
    // A directory inside a temp dir: the spent-test ledger beside it is this test's own (G15).
    let dir = root.path().join("exp");
    let sealed = Experiment::new(frame)
        .unwrap()
        .register(Store::dir(&dir).unwrap())
        .unwrap()
        .split(&dataset)
        .await
        .unwrap()
        .pilot(lineup)
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap();
    // Writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = status_kib("VmRSS:") * 1024;
    let conclusion = sealed.verdict(Some(&dataset)).await.unwrap();
    let peak = (status_kib("VmHWM:") * 1024).saturating_sub(base);
    let journal = std::fs::metadata(dir.join("journal.jsonl")).unwrap().len() as usize;
    let calls = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""event":"call""#))
        .count();
    assert!(calls > ROWS, "{calls} call lines");
    assert!(!conclusion.audit.is_empty());
    // Decoded, a call line takes about twice its bytes (a ~690-byte entry, its strings); held
    // compactly, a fraction of them. Half the journal leaves room for the test pass's own cube,
    // the report and the charts, and none for the decoded journal or a second copy of the rows.
    assert!(
        peak < journal / 2,
        "the verdict's resident size peaked {peak} bytes above what it started with, for a \
         journal of {journal} bytes ({calls} call lines): it held the decoded call records \
         or a second copy of the rows"
    );
}

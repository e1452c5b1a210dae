//! Registration, split and journal: determinism (G14), stratification (G19, G21), the sealed test
//! commitment (G15), resume and tamper detection (G7), and every frame / row error.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

use itera_core::*;
use std::collections::BTreeMap;

fn frame() -> Frame {
    Frame::builder(
        "txn-cat",
        "Does v2 beat v1?",
        "Refund examples fix refunds.",
    )
    .baseline("v1", "src/categorize.rs:42")
    .arm("v2", "v1", "adds two refund examples")
    .arm("v3", "v1", "adds a vendor lookup table")
    .metric("accuracy", "exact")
    .threshold_pp(5.0)
    .slice_loss_floor_pp(-2.0)
    .failure_mode("transfer_as_revenue", 5.0)
    .failure_mode("wrong_category", 1.0)
    .failure_mode("no_answer", 2.0)
    .seed(20261125)
    .build()
    .unwrap()
}

/// 1,000 rows in 3 slices of unequal size; a tenth carry a failure-mode tag.
fn rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let slice = match i % 10 {
                0..=5 => "smb",
                6..=8 => "enterprise",
                _ => "public",
            };
            let mut row = Row::new(format!("txn-{i:05}"), format!("vendor {i}"))
                .expected(if i % 3 == 0 { "travel" } else { "software" })
                .slice(slice);
            if i % 10 == 3 {
                row = row.failure_mode("transfer_as_revenue");
            } else if i % 10 == 7 {
                row = row.failure_mode("wrong_category");
            }
            row
        })
        .collect()
}

fn split(frame: Frame, rows: Vec<Row>) -> Experiment<Split> {
    Experiment::new(frame)
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows)
        .unwrap()
}

#[test]
fn same_seed_same_split_whatever_the_row_order() {
    let a = split(frame(), rows(1000));
    let mut reversed = rows(1000);
    reversed.reverse();
    let b = split(frame(), reversed);
    assert_eq!(a.plan().test_commitment(), b.plan().test_commitment());
    assert_eq!(a.dev_ids(), b.dev_ids());
    let ta: Vec<_> = a.train_rows().iter().map(|r| r.id.clone()).collect();
    let tb: Vec<_> = b.train_rows().iter().map(|r| r.id.clone()).collect();
    assert_eq!(ta, tb);

    let mut other = frame();
    other.seed += 1;
    let c = split(other, rows(1000));
    assert_ne!(a.plan().test_commitment(), c.plan().test_commitment());
}

/// Pins the split itself: a dependency bump (rand_chacha, sha2, serde_json) that moved a row
/// would change these, and this test would say so (G14).
#[test]
fn split_snapshot_is_stable() {
    let exp = split(frame(), rows(1000));
    let train: Vec<&str> = exp.train_rows()[..5]
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    let dev: Vec<&str> = exp.dev_ids()[..5].iter().map(|id| id.as_str()).collect();
    insta::assert_yaml_snapshot!(
        "split_ids",
        (
            train,
            dev,
            exp.plan().test_len(),
            exp.plan().test_commitment()
        )
    );
}

#[test]
fn every_slice_is_within_one_row_of_its_target_share() {
    let exp = split(frame(), rows(1000));
    let audit = exp.audit();
    for s in &audit.slices {
        for (part, share) in [("train", 0.3), ("dev", 0.5), ("test", 0.2)] {
            let got = audit.count(part, &s.slice) as f64;
            let target = share * s.source as f64;
            assert!(
                (got - target).abs() <= 1.0,
                "{} {part}: {got} rows vs target {target}",
                s.slice
            );
        }
    }
    // Failure modes are spread too (G21): each part holds its share within two rows.
    for m in &audit.failure_modes {
        for (got, share) in [(m.train, 0.3), (m.dev, 0.5), (m.test, 0.2)] {
            let target = share * m.source as f64;
            assert!(
                (got as f64 - target).abs() <= 2.0,
                "{}: {got} vs {target}",
                m.mode
            );
        }
    }
    let tagged = audit
        .failure_modes
        .iter()
        .find(|m| m.mode == "transfer_as_revenue")
        .unwrap();
    assert_eq!(tagged.source, 100);
    assert!(tagged.test >= 19);
}

#[test]
fn audit_prints_every_slice_and_part() {
    let exp = split(frame(), rows(1000));
    let text = exp.audit().to_string();
    for needle in [
        "smb",
        "enterprise",
        "public",
        "train",
        "dev",
        "test",
        "total",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    assert!(text.contains("600 (60.0%)"), "{text}");
}

#[test]
fn small_data_uses_folds_and_keeps_test_sealed() {
    let exp = split(frame(), rows(40));
    let audit = exp.audit();
    assert_eq!(audit.kfold, Some(5));
    assert!(exp.train_rows().is_empty());
    let folds = exp.plan().dev_folds().unwrap();
    assert_eq!(folds.len(), exp.dev_ids().len());
    let mut per_fold = BTreeMap::new();
    for f in folds {
        *per_fold.entry(*f).or_insert(0) += 1;
    }
    assert_eq!(per_fold.len(), 5);
    assert!(
        per_fold.values().all(|&n| (6..=7).contains(&n)),
        "{per_fold:?}"
    );
    assert_eq!(exp.plan().test_len() + exp.dev_ids().len(), 40);
}

#[test]
fn a_slice_empty_in_a_part_is_refused_unless_overridden() {
    let mut data = rows(200);
    data.push(Row::new("lonely-1", "x").slice("tiny"));
    data.push(Row::new("lonely-2", "x").slice("tiny"));
    let exp = Experiment::new(frame())
        .unwrap()
        .register(Store::in_memory())
        .unwrap();
    let rejected = exp.split_rows(data.clone()).unwrap_err();
    let msg = rejected.error.to_string();
    assert!(msg.contains("'tiny'") && msg.contains("G19"), "{msg}");
    let Error::Split(SplitError::EmptySlice { part, .. }) = rejected.error else {
        panic!("wrong error")
    };
    let overrides = vec![SplitOverride {
        slice: "tiny".into(),
        part,
        reason: "two rows; reported, not judged".into(),
    }];
    let exp = rejected
        .experiment
        .split_rows_with(data, overrides)
        .unwrap();
    let entries = exp.store().entries().unwrap();
    let Event::Split { overrides, .. } = &entries[1].event else {
        panic!("second event is the split")
    };
    assert_eq!(overrides[0].reason, "two rows; reported, not judged");
}

#[test]
fn row_errors_name_the_problem() {
    let reg = || {
        Experiment::new(frame())
            .unwrap()
            .register(Store::in_memory())
            .unwrap()
    };
    let err = |rows: Vec<Row>| reg().split_rows(rows).unwrap_err().error.to_string();

    let mut dup = rows(100);
    dup[7].id = dup[3].id.clone();
    assert!(err(dup).contains("duplicate row id 'txn-00003'"));

    let mut empty = rows(100);
    empty[2].id = RowId::from(" ");
    assert!(err(empty).contains("empty row id"));

    let mut nan = rows(100);
    nan[5].severity = f64::NAN;
    assert!(err(nan).contains("severity"));

    let mut tag = rows(100);
    tag[1] = tag[1].clone().failure_mode("made_up");
    let msg = err(tag);
    assert!(
        msg.contains("'made_up'") && msg.contains("taxonomy"),
        "{msg}"
    );

    assert!(err(vec![]).contains("no rows"));

    let mut severe = rows(100);
    severe[0].severity = 10.0;
    let msg = err(severe);
    assert!(msg.contains("G10") && msg.contains("10.0×"), "{msg}");
}

#[test]
fn frame_errors_cite_their_guard() {
    let base = frame();
    let check = |edit: &dyn Fn(&mut Frame), needle: &str| {
        let mut f = base.clone();
        edit(&mut f);
        let e = Experiment::new(f).unwrap_err().to_string();
        assert!(e.contains(needle), "expected '{needle}' in: {e}");
    };
    check(&|f| f.baseline.source.clear(), "G2");
    check(&|f| f.arms.clear(), "G3");
    check(
        &|f| {
            let extra = f.arms[0].clone();
            for i in 0..2 {
                let mut a = extra.clone();
                a.id = format!("x{i}");
                f.arms.push(a);
            }
        },
        "4 candidate arms",
    );
    check(&|f| f.arms[1].parent = "nowhere".into(), "parent 'nowhere'");
    check(&|f| f.arms[1].id = "v1".into(), "used twice");
    check(
        &|f| f.arms[0].change = " ".into(),
        "does not state its change",
    );
    check(
        &|f| f.metric.secondaries = vec!["a".into(), "b".into(), "c".into()],
        "G5",
    );
    check(&|f| f.threshold.effect = Effect::AbsolutePp(f64::NAN), "G6");
    check(&|f| f.threshold.slice_loss_floor_pp = 2.0, "G6");
    check(&|f| f.failure_modes.truncate(2), "G9");
    check(
        &|f| f.failure_modes[1].id = f.failure_modes[0].id.clone(),
        "listed twice",
    );
    check(
        &|f| {
            f.severity = Some(SeveritySpec {
                field: "amount".into(),
                cap: 0.0,
            })
        },
        "cap",
    );
    check(&|f| f.trials = 2, "G25");
    check(&|f| f.alpha = 1.5, "alpha");
    check(&|f| f.split.test = 0.0, "split.test");
    check(&|f| f.split.train = 0.5, "add up to 1");
    check(&|f| f.question.clear(), "question");

    // Deterministic arms may use one trial.
    let mut f = base.clone();
    f.trials = 1;
    f.deterministic = true;
    assert!(Experiment::new(f).is_ok());
}

#[test]
fn directory_round_trip_resumes_and_refuses_a_different_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exp");
    let exp = Experiment::new(frame())
        .unwrap()
        .register(Store::dir(&path).unwrap())
        .unwrap();
    assert!(!exp.resumed());
    let commitment = exp
        .split_rows(rows(300))
        .unwrap()
        .plan()
        .test_commitment()
        .to_string();
    for file in ["frame.md", "registration.json", "journal.jsonl"] {
        assert!(path.join(file).exists(), "{file}");
    }

    // Same frame, same rows: resumes without a new journal line.
    let again = Experiment::new(frame())
        .unwrap()
        .register(Store::dir(&path).unwrap())
        .unwrap();
    assert!(again.resumed());
    let again = again.split_rows(rows(300)).unwrap();
    assert_eq!(again.plan().test_commitment(), commitment);
    assert_eq!(again.store().entries().unwrap().len(), 2);

    // Same frame, edited rows: refused (G7).
    let mut edited = rows(300);
    edited[10].expected = Some("refund".into());
    let e = Experiment::new(frame())
        .unwrap()
        .register(Store::dir(&path).unwrap())
        .unwrap()
        .split_rows(edited)
        .unwrap_err();
    assert!(
        e.to_string().contains("rows changed since the split"),
        "{e}"
    );

    // A different threshold: refused (G7).
    let mut moved = frame();
    moved.threshold.effect = Effect::AbsolutePp(3.0);
    let e = Experiment::new(moved)
        .unwrap()
        .register(Store::dir(&path).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("different frame"), "{e}");
}

fn registered_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exp");
    Experiment::new(frame())
        .unwrap()
        .register(Store::dir(&path).unwrap())
        .unwrap()
        .split_rows(rows(200))
        .unwrap();
    (dir, path)
}

/// Flipping any single byte of the journal, the frame or the registration is refused with the
/// file (and for the journal the line) named.
#[test]
fn any_edited_byte_is_refused() {
    let (_keep, path) = registered_dir();
    for file in ["journal.jsonl", "frame.md", "registration.json"] {
        let original = std::fs::read(path.join(file)).unwrap();
        let step = (original.len() / 97).max(1);
        for pos in (0..original.len()).step_by(step) {
            if original[pos] == b'\n' {
                continue;
            }
            let mut bytes = original.clone();
            bytes[pos] = if bytes[pos] == b'x' { b'y' } else { b'x' };
            std::fs::write(path.join(file), &bytes).unwrap();
            let err = Store::dir(&path).map(|_| ()).unwrap_err().to_string();
            let named = match file {
                "journal.jsonl" => err.contains("journal line"),
                other => err.contains(other),
            };
            assert!(named, "{file} byte {pos}: {err}");
        }
        std::fs::write(path.join(file), &original).unwrap();
    }
    assert!(Store::dir(&path).is_ok());
}

#[test]
fn removed_or_reordered_journal_lines_are_refused() {
    let (_keep, path) = registered_dir();
    let j = path.join("journal.jsonl");
    let text = std::fs::read_to_string(&j).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&j, format!("{}\n", lines[1])).unwrap();
    let e = Store::dir(&path).unwrap_err().to_string();
    assert!(e.contains("journal line 1"), "{e}");
    std::fs::write(&j, format!("{}\n{}\n", lines[1], lines[0])).unwrap();
    assert!(Store::dir(&path).is_err());
}

#[test]
fn a_torn_last_line_is_dropped_not_fatal() {
    let (_keep, path) = registered_dir();
    let j = path.join("journal.jsonl");
    let mut text = std::fs::read_to_string(&j).unwrap();
    text.push_str("{\"at\":\"2026-");
    std::fs::write(&j, &text).unwrap();
    let store = Store::dir(&path).unwrap();
    assert_eq!(store.entries().unwrap().len(), 2);
}

#[test]
fn journal_lines_chain_and_are_canonical() {
    let exp = split(frame(), rows(100));
    let bytes = exp.store().read_file("journal.jsonl").unwrap().unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let entries = exp.store().entries().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].event.kind(), "registered");
    assert_eq!(entries[1].event.kind(), "split");
    assert_eq!(entries[1].prev, entries[0].hash);
    assert_eq!(
        entries[0].hash,
        hash::hash_value(&serde_json::json!({
            "seq": 0, "prev": journal::event::GENESIS, "at": entries[0].at, "event": entries[0].event
        }))
        .unwrap()
    );
    assert!(text.lines().all(|l| !l.contains(": ")));
    // The split event names train and dev ids but never a test id (G15).
    let Event::Split {
        train_ids,
        dev_ids,
        test_n,
        ..
    } = &entries[1].event
    else {
        panic!()
    };
    assert_eq!(train_ids.len() + dev_ids.len() + test_n, 100);
}

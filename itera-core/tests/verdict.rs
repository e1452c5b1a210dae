//! The one test pass and the verdict end to end (G39–G46): the seed's worked example on a
//! generated dataset (ship v2, kill v3, with CIs computed), a second verdict refused, tampering
//! between seal and verdict refused, `data.json` recomputable, and a snapshot of a full verdict.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use async_trait::async_trait;
use common::*;
use itera_core::report::ReportData;
use itera_core::*;
use serde_json::Value;

/// Transactions from enterprise and SMB tenants; every tenth row is a transfer that a weak
/// prompt books as revenue (`transfer_as_revenue`, the heaviest failure mode).
fn transactions(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let tenant = if i % 2 == 0 { "enterprise" } else { "smb" };
            let transfer = i % 10 == 3 || i % 10 == 4;
            let expected = if transfer { "transfer" } else { ["travel", "software", "supplies"][i % 3] };
            let mut row = Row::new(
                format!("txn-{i:05}"),
                serde_json::json!({"text": format!("payment {i}"), "expected": expected, "tenant": tenant}),
            )
            .expected(expected)
            .slice(tenant);
            if transfer {
                row = row.failure_mode("transfer_as_revenue");
            }
            row
        })
        .collect()
}

/// A prompt version with a per-tenant accuracy; `transfer_miss` = answers "revenue" on SMB
/// transfers.
struct Prompt {
    id: &'static str,
    spec: &'static str,
    enterprise: f64,
    smb: f64,
    transfer_miss: bool,
}

#[async_trait]
impl Arm for Prompt {
    fn id(&self) -> &str {
        self.id
    }
    fn spec(&self) -> String {
        self.spec.to_string()
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let tenant = input["tenant"].as_str().unwrap();
        let expected = input["expected"].as_str().unwrap();
        if self.transfer_miss && tenant == "smb" && expected == "transfer" {
            return Ok(ArmOutput::text("revenue"));
        }
        let p = if tenant == "smb" {
            self.smb
        } else {
            self.enterprise
        };
        let right = unit(&format!("{}|{}", self.id, ctx.row_id)) < p;
        Ok(ArmOutput::text(if right { expected } else { "wrong" }))
    }
}

fn prompts() -> Vec<Box<dyn Arm>> {
    vec![
        Box::new(Prompt {
            id: "v1",
            spec: "Categorize the transaction.",
            enterprise: 0.70,
            smb: 0.70,
            transfer_miss: false,
        }),
        Box::new(Prompt {
            id: "v2",
            spec: "Categorize the transaction.\nTwo worked examples of transfers.",
            enterprise: 0.82,
            smb: 0.81,
            transfer_miss: false,
        }),
        Box::new(Prompt {
            id: "v3",
            spec: "Categorize the transaction.\nEnterprise vendor glossary.",
            enterprise: 0.86,
            smb: 0.58,
            transfer_miss: true,
        }),
    ]
}

fn seed_frame() -> Frame {
    Frame::builder(
        "seed-txn",
        "Which prompt should categorize transactions: v1, v2 or v3?",
        "Worked transfer examples (v2) help every tenant; a glossary (v3) helps enterprise.",
    )
    .baseline("v1", "src/categorize.rs:42")
    .arm("v2", "v1", "adds two worked examples of transfers")
    .arm("v3", "v1", "adds an enterprise vendor glossary")
    .metric("category accuracy", "exact")
    .threshold_pp(5.0)
    .slice_loss_floor_pp(-2.0)
    .failure_mode("transfer_as_revenue", 5.0)
    .failure_mode("wrong_category", 1.0)
    .failure_mode("no_answer", 2.0)
    .trials(1)
    .deterministic(true)
    .seed(42)
    .build()
    .unwrap()
}

async fn sealed(store: Store, rows: Vec<Row>) -> Experiment<Sealed> {
    let arms = prompts();
    let judge = RecordingJudge::new();
    Experiment::new(seed_frame())
        .unwrap()
        .register(store)
        .unwrap()
        .split_rows(rows)
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap()
}

#[tokio::test]
async fn the_seed_example_ships_v2_and_kills_v3() {
    let rows = transactions(3000);
    let exp = sealed(Store::in_memory(), rows.clone()).await;
    let c = exp
        .with_options(accepting("3,000 synthetic rows (600 test) are underpowered for T = 5pp; this test checks the rules' decisions, not power")).verdict(None)
        .await
        .unwrap();
    let v = &c.verdict;
    assert_eq!(v.decision, Decision::Ship, "{}", v.rationale);
    assert_eq!(v.arm.as_deref(), Some("v2"));
    assert_eq!(v.killed, vec!["v3"]);
    let v3 = v.arms.iter().find(|a| a.arm == "v3").unwrap();
    assert_eq!(v3.decision, Decision::Kill);
    let r4 = v3.rules.iter().find(|r| r.rule == "R4").unwrap();
    assert_eq!(r4.passed, Some(false), "{r4:?}");
    assert!(v3.failing_slices.contains(&"smb".to_string()));

    // Recompute the aggregate effect of v2 from the journal and the revealed test ids, by plain
    // arithmetic, and check the reported delta and a t-interval of the right width.
    let report = &c.report;
    assert_eq!(report.test_row_ids.len(), 600);
    let store = Store::in_memory();
    let _ = store; // data.json is the published artefact; the journal stays inside the experiment
    let truth: std::collections::HashMap<String, &Row> =
        rows.iter().map(|r| (r.id.to_string(), r)).collect();
    let score = |arm: &dyn Arm, id: &str| {
        let row = truth[id];
        let ctx = CallCtx {
            row_id: row.id.clone(),
            trial: 0,
            seed: 0,
        };
        let out = futures::executor::block_on(arm.call(&row.input, &ctx)).unwrap();
        f64::from(Some(&out.output) == row.expected.as_ref())
    };
    let arms = prompts();
    let diffs: Vec<f64> = report
        .test_row_ids
        .iter()
        .map(|id| score(arms[1].as_ref(), id) - score(arms[0].as_ref(), id))
        .collect();
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let e = report.effect("v2", None).unwrap();
    assert!((e.delta - mean).abs() < 1e-12, "{} vs {mean}", e.delta);
    let half = (e.ci_high - e.ci_low) / 2.0;
    // Two candidate arms: the aggregate CI is at the Bonferroni level 1 − α/2 (two-sided
    // 97.5%), so its half-width is z = 2.241402727604947 standard errors
    // (scipy: norm.ppf(1 - 0.05/4)); the interval itself is a paired t, within 5% of z here.
    let z = 2.241_402_727_604_947;
    assert!(
        (half / (z * sd / n.sqrt()) - 1.0).abs() < 0.05,
        "CI half-width {half} vs {}",
        z * sd / n.sqrt()
    );
    assert!(e.ci_low > 0.0);
    let smb = report.effect("v2", Some("smb")).unwrap();
    assert!(smb.ci_low >= -0.02 && smb.n == 300, "{smb:?}");

    // The self-audit is computed from the journal: every item passes or does not apply here,
    // except the power item (G20), which fails because this fixture was accepted underpowered.
    let power = c.audit.iter().find(|a| a.item.contains("powered")).unwrap();
    assert_eq!(power.status, itera_core::report::AuditStatus::Fail);
    assert!(power.evidence.contains("accepted explicitly"), "{power:?}");
    let failing: Vec<String> = c
        .audit
        .iter()
        .filter(|a| a.item != power.item)
        .filter(|a| a.status == itera_core::report::AuditStatus::Fail)
        .map(|a| format!("{}: {}", a.item, a.evidence))
        .collect();
    assert!(failing.is_empty(), "{failing:#?}");
    let opened = c
        .audit
        .iter()
        .find(|a| a.item.contains("opened once"))
        .unwrap();
    assert!(
        opened.evidence.contains("per process"),
        "{}",
        opened.evidence
    );
    assert!(
        c.conclusion_md.contains("Ship v2") || c.conclusion_md.contains("ship"),
        "{}",
        c.conclusion_md
    );
}

#[tokio::test]
async fn a_second_verdict_on_the_same_directory_is_refused() {
    let dir = ExpDir::new();
    let exp = sealed(Store::dir(dir.path()).unwrap(), transactions(600)).await;
    // Another "process" walked the whole method on the same directory before the verdict (once
    // a verdict is journaled, `register` refuses the directory outright).
    let other = sealed(Store::dir(dir.path()).unwrap(), transactions(600)).await;
    let first = exp
        .with_options(accepting(
            "600-row fixture, underpowered; this test checks the one-shot test pass",
        ))
        .verdict(None)
        .await
        .unwrap();
    assert!(dir.path().join("data.json").exists());
    let md = std::fs::read_to_string(dir.path().join("conclusion.md")).unwrap();
    assert_eq!(md, first.conclusion_md);
    assert!(md.contains("✅") && !md.contains("+-"), "{md}");
    std::fs::remove_file(dir.path().join("conclusion.md")).unwrap();
    let again = itera_core::rewrite_conclusion(dir.path()).unwrap();
    assert_eq!(
        again, md,
        "the conclusion is rebuilt from the journal, data.json and verdict.json"
    );
    let loaded = ReportData::load(dir.path()).unwrap();
    assert_eq!(loaded, first.report);

    let err = other.verdict(None).await.unwrap_err().error.to_string();
    assert!(
        err.contains("G46") && err.contains("fresh experiment with new rows"),
        "{err}"
    );
}

#[tokio::test]
async fn tampering_between_seal_and_verdict_is_refused() {
    // An edited data file.
    let exp = sealed(Store::in_memory(), transactions(600)).await;
    let mut edited = transactions(600);
    edited[7].expected = Some("refund".into());
    let data = VecDataset::new("data.csv", edited);
    let err = exp
        .verdict(Some(&data))
        .await
        .unwrap_err()
        .error
        .to_string();
    assert!(err.contains("rows changed since the split"), "{err}");

    // An edited frame and an edited journal line, in a directory.
    for file in ["registration.json", "journal.jsonl"] {
        let dir = ExpDir::new();
        let exp = sealed(Store::dir(dir.path()).unwrap(), transactions(600)).await;
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let tampered = match file {
            "registration.json" => text.replacen(
                "\"slice_loss_floor_pp\": -2.0",
                "\"slice_loss_floor_pp\": -5.0",
                1,
            ),
            _ => text.replacen("\"score\":0.0", "\"score\":1.0", 1),
        };
        assert_ne!(tampered, text, "{file} was not edited");
        std::fs::write(&path, tampered).unwrap();
        let err = exp.verdict(None).await.unwrap_err().error.to_string();
        assert!(
            err.contains(if file == "journal.jsonl" {
                "journal line"
            } else {
                "registration.json"
            }),
            "{file}: {err}"
        );
        assert!(!dir.path().join("data.json").exists());
    }
}

/// v3 with a changed spec: its version 1.
fn v3_glossary_v1() -> Box<dyn Arm> {
    Box::new(Prompt {
        id: "v3",
        spec: "Categorize the transaction.\nEnterprise vendor glossary, with SMB vendors too.",
        enterprise: 0.86,
        smb: 0.70,
        transfer_miss: false,
    })
}

/// Register → split → pilot → dev on `dir` with `lineup` (a process opening the directory).
async fn scored_on(dir: &std::path::Path, lineup: Lineup) -> Experiment<Scored> {
    Experiment::new(seed_frame())
        .unwrap()
        .register(Store::dir(dir).unwrap())
        .unwrap()
        .split_rows(transactions(600))
        .unwrap()
        .pilot(lineup)
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
}

// G39 on a directory reopened later: the verdict runs the locked version, which the journal
// names by spec hash; a lineup built only from the registered arms does not hold an iterated
// version, and the verdict is refused naming it, before the test set opens — then the same
// lineup with that version recorded reaches the verdict.
#[tokio::test]
async fn verdict_refuses_a_lineup_without_the_locked_version() {
    let dir = ExpDir::new(); // its own spent-test ledger (G15)
    let lineup = || {
        Lineup::new(RecordingJudge::new())
            .arms(prompts())
            .options(fast_opts())
    };
    // Process 1: v3 iterated to version 1, then the process ends.
    let exp = scored_on(dir.path(), lineup()).await;
    let exp = exp
        .iterate(
            v3_glossary_v1(),
            "SMB vendors in the glossary",
            Some(itera_core::iterate::gate::ChangeClass::Universal),
        )
        .await
        .unwrap();
    drop(exp);
    // Process 2: only the registered arms; v3 is locked at version 1.
    let sealed = scored_on(dir.path(), lineup())
        .await
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap();
    let err = sealed.verdict(None).await.unwrap_err();
    let msg = err.error.to_string();
    assert!(
        matches!(
            err.error,
            Error::Verdict(VerdictError::LockedVersionMissing { version: 1, .. })
        ),
        "{msg}"
    );
    assert!(msg.contains("locked version 1 of arm 'v3'"), "{msg}");
    assert!(msg.contains("recorded_versions"), "says the fix: {msg}");
    drop(err);
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert!(
        !journal.contains("\"sealed-opened\""),
        "test set stays sealed"
    );
    // Process 3: the recorded version given, the verdict is reached.
    let done = scored_on(dir.path(), lineup().recorded_versions([v3_glossary_v1()]))
        .await
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap()
        .with_options(accepting(
            "600-row fixture, underpowered; this test checks the locked version",
        ))
        .verdict(None)
        .await;
    assert!(
        done.is_ok(),
        "{:?}",
        done.err().map(|e| e.error.to_string())
    );
}

#[tokio::test]
async fn a_full_verdict_snapshot() {
    let exp = sealed(Store::in_memory(), transactions(1000)).await;
    let c = exp
        .with_options(accepting(
            "1,000-row fixture, underpowered; this test snapshots the report",
        ))
        .verdict(None)
        .await
        .unwrap();
    let mut report = c.report.clone();
    report.test_row_ids.truncate(5);
    insta::assert_json_snapshot!("seed_verdict", (&c.verdict.decision, &c.verdict.arm, &c.verdict.rationale, &report), {
        ".**.latency_ms_mean" => "[latency]",
    });
}

#[tokio::test]
async fn nothing_follows_the_verdict() {
    let dir = ExpDir::new();
    let exp = sealed(Store::dir(dir.path()).unwrap(), transactions(600)).await;
    let arms = prompts();
    let judge = RecordingJudge::new();
    let scored = Experiment::new(seed_frame())
        .unwrap()
        .register(Store::dir(dir.path()).unwrap())
        .unwrap()
        .split_rows(transactions(600))
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap();
    // The verdict is reached by another handle after this one registered (a directory that
    // already has it is refused by `register`).
    exp.with_options(accepting(
        "600-row fixture, underpowered; this test checks that nothing follows the verdict",
    ))
    .verdict(None)
    .await
    .unwrap();
    let dev_id = scored.plan().dev_ids()[0].clone();
    let err = scored.reveal(&dev_id).unwrap_err().to_string();
    assert!(err.contains("G46"), "{err}");
    let v2 = Prompt {
        id: "v2",
        spec: "a new idea",
        enterprise: 0.9,
        smb: 0.9,
        transfer_miss: false,
    };
    let err = scored
        .iterate(Box::new(v2), "after the fact", None)
        .await
        .unwrap_err()
        .error
        .to_string();
    assert!(err.contains("G46"), "{err}");
}

/// G16: a test row that was seen (here: a reveal journaled by another tool, which wrote a
/// correctly chained line into the directory's journal) blocks the verdict.
#[tokio::test]
async fn a_contaminated_test_set_blocks_the_verdict() {
    let rows = transactions(600);
    let dir = ExpDir::new();
    let exp = sealed(Store::dir(dir.path()).unwrap(), rows.clone()).await;
    // A row that is neither dev nor train is a sealed test row.
    let entries = exp_entries(&exp);
    let (train_ids, dev_ids) = entries
        .iter()
        .find_map(|e| match &e.event {
            Event::Split {
                train_ids, dev_ids, ..
            } => Some((train_ids.clone(), dev_ids.clone())),
            _ => None,
        })
        .unwrap();
    let test_id = rows
        .iter()
        .map(|r| r.id.clone())
        .find(|id| !train_ids.contains(id) && !dev_ids.contains(id))
        .unwrap();
    drop(exp);
    append_chained(
        &dir.path().join("journal.jsonl"),
        serde_json::json!({"event": "reveal", "row": test_id.as_str()}),
    );
    let exp = sealed(Store::dir(dir.path()).unwrap(), rows).await;
    let err = exp.verdict(None).await.unwrap_err().error.to_string();
    assert!(
        err.contains("G16") && err.contains(test_id.as_str()),
        "{err}"
    );
}

fn exp_entries(exp: &Experiment<Sealed>) -> Vec<Entry> {
    exp.store().entries().unwrap()
}

// One process, issue #16 item 2: the version `iterate` was given joins the lineup bound at the
// pilot, so the verdict runs the locked version 1 without the arms being passed again (G37, G39).
#[tokio::test]
async fn the_verdict_runs_an_iterated_version_without_the_arms_passed_again() {
    let dir = ExpDir::new(); // its own spent-test ledger (G15)
    let lineup = Lineup::new(RecordingJudge::new())
        .arms(prompts())
        .options(fast_opts());
    let done = scored_on(dir.path(), lineup)
        .await
        .iterate(
            v3_glossary_v1(),
            "SMB vendors in the glossary",
            Some(itera_core::iterate::gate::ChangeClass::Universal),
        )
        .await
        .unwrap()
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap()
        .with_options(accepting(
            "600-row fixture, underpowered; this test checks the lineup",
        ))
        .verdict(None)
        .await
        .unwrap();
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    let v1 = itera_core::hash::sha256_hex(v3_glossary_v1().spec().as_bytes());
    let opened = journal
        .lines()
        .find(|l| l.contains("\"sealed-opened\""))
        .unwrap();
    assert!(
        opened.contains(&v1),
        "the test pass opened with v3's version 1: {opened}"
    );
    assert!(!done.conclusion_md.is_empty());
}

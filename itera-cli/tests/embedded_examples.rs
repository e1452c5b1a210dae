//! #19: the README's first command, and the earlier example beside it, through the `itera`
//! binary: each ends where its README says, and the numbers its README tells are the ones its
//! `data.json` holds (so a re-recording or a method change cannot leave a stale story behind).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// Runs `examples/NAME/experiment.toml` into a fresh directory (its own spent-test ledger);
/// returns the exit code, data.json and the example's README.
fn run(name: &str) -> (Option<i32>, Value, String) {
    let t = tempfile::tempdir().unwrap();
    let file = example(name).join("experiment.toml");
    let o = itera(
        &["run", file.to_str().unwrap(), "--out", "out", "-q"],
        t.path(),
    );
    let data = std::fs::read_to_string(t.path().join("out/data.json"))
        .unwrap_or_else(|e| panic!("no data.json ({e}): {}", text(&o)));
    let readme = std::fs::read_to_string(example(name).join("README.md")).unwrap();
    (
        o.status.code(),
        serde_json::from_str(&data).unwrap(),
        readme,
    )
}

fn pct(v: &Value) -> String {
    format!("{:.1}%", v.as_f64().unwrap() * 100.0)
}

fn pp(v: &Value) -> String {
    let x = v.as_f64().unwrap() * 100.0;
    format!("{}{:.1}", if x < 0.0 { "−" } else { "+" }, x.abs())
}

/// The README's first command ships v2 on real recorded outputs, and the README's story —
/// dev and test scores, Δ with its CI overall and per channel — is data.json's.
#[test]
fn the_embedded_example_ships_and_its_readme_tells_its_numbers() {
    let (code, d, readme) = run("order-numbers");
    assert_eq!(code, Some(0), "exit 0 = ship");
    assert_eq!(d["verdict"]["decision"], "ship", "{}", d["verdict"]);
    let (base, cand) = ("v1-free-text", "v2-json-schema");
    let dev = format!(
        "Dev: {} → {}",
        pct(&d["dev_aggregate"][base]["mean"]),
        pct(&d["dev_aggregate"][cand]["mean"])
    );
    let test = format!(
        "{} → {}",
        pct(&d["test_aggregate"][base]["mean"]),
        pct(&d["test_aggregate"][cand]["mean"])
    );
    let e = &d["effect_sizes"][cand]["aggregate"];
    let delta = format!(
        "Δ = {}pp [{}, {}]",
        pp(&e["delta"]),
        pp(&e["ci_low"]),
        pp(&e["ci_high"])
    );
    for claim in [&dev, &test, &delta] {
        assert!(readme.contains(claim.as_str()), "README lacks {claim:?}");
    }
    for slice in ["chat", "email"] {
        let s = &d["effect_sizes"][cand]["per_slice"][slice];
        let claim = format!(
            "{slice} {}pp [{}, {}]",
            pp(&s["delta"]),
            pp(&s["ci_low"]),
            pp(&s["ci_high"])
        );
        assert!(readme.contains(&claim), "README lacks {claim:?}");
    }
}

/// The earlier example still runs to its verdict (its label audit is recorded in the file)
/// and ends as its README says: inconclusive over 60 test rows.
#[test]
fn the_txn_example_is_inconclusive_as_its_readme_says() {
    let (code, d, readme) = run("txn-categories");
    assert_eq!(code, Some(12), "exit 12 = inconclusive");
    assert!(readme.contains("INCONCLUSIVE"));
    let e = &d["effect_sizes"]["v2-json-schema"]["aggregate"];
    let claim = format!("{}pp", pp(&e["delta"]));
    assert!(readme.contains(&claim), "README lacks {claim:?}");
}

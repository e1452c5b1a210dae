//! Item 6 of "An experiment directory survives anything": no panic on user input. Arbitrary
//! bytes as an experiment file or a data file, and arbitrary numbers in the experiment file's
//! numeric keys, end in a value or an error — never a panic.
#![allow(clippy::unwrap_used)]

use itera_cli::config::Loaded;
use itera_core::data::load::{Columns, CsvDataset, JsonlDataset};
use proptest::prelude::*;
use std::path::Path;

const GOOD: &str = r#"[experiment]
name = "p"
question = "q?"
hypothesis = "h."
seed = SEED

[data]
path = "rows.csv"
id = "id"
input = "question"

[metric]
name = "accuracy"
scorer = "exact"
trials = TRIALS

[threshold]
min_effect_pp = EFFECT
slice_loss_floor_pp = FLOOR

[run]
timeout_s = TIMEOUT
max_attempts = ATTEMPTS
requests_per_second = RPS
concurrency = CONC

[[arms]]
id = "base"
baseline = true
source = "prod"
replay = { path = "rec.csv", id = "id", output = "pred" }
price = { input_per_mtok_usd = PRICE, output_per_mtok_usd = 1.0 }

[[arms]]
id = "cand"
change = "c"
replay = { path = "rec.csv", id = "id", output = "pred" }
"#;

/// Every TOML spelling of a float, the odd ones included.
fn toml_float() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|v| format!("{v:?}")),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        (-1e6f64..1e6).prop_map(|v| format!("{v:?}")),
        any::<i64>().prop_map(|v| v.to_string()),
    ]
}

fn toml_int() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        (0i64..20).prop_map(|v| v.to_string()),
        toml_float(),
    ]
}

fn dir() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("rows.csv"), "id,question\nr1,q\n").unwrap();
    std::fs::write(t.path().join("rec.csv"), "id,pred\nr1,a\n").unwrap();
    t
}

fn columns() -> Columns {
    Columns {
        id: vec!["id".into()],
        input: vec!["question".into()],
        expected: Some("answer".into()),
        severity: Some("sev".into()),
        failure_modes: Some("tags".into()),
        slice: None,
        cluster: None,
        filter: Default::default(),
    }
}

fn exercise(path: &Path, text: String) {
    if let Ok(l) = Loaded::parse(path, path.parent().unwrap(), text) {
        let _ = l.frame();
        let _ = l.run_options();
        let _ = l.columns();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_numbers_in_the_experiment_file_never_panic(
        seed in toml_int(), trials in toml_int(), effect in toml_float(), floor in toml_float(),
        timeout in toml_float(), attempts in toml_int(), rps in toml_float(), conc in toml_int(),
        price in toml_float(),
    ) {
        let t = dir();
        let text = GOOD
            .replace("SEED", &seed).replace("TRIALS", &trials).replace("EFFECT", &effect)
            .replace("FLOOR", &floor).replace("TIMEOUT", &timeout).replace("ATTEMPTS", &attempts)
            .replace("RPS", &rps).replace("CONC", &conc).replace("PRICE", &price);
        exercise(&t.path().join("exp.toml"), text);
    }

    #[test]
    fn arbitrary_bytes_as_an_experiment_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let t = dir();
        exercise(&t.path().join("exp.toml"), String::from_utf8_lossy(&bytes).into_owned());
        let mut mutated = GOOD.as_bytes().to_vec();
        for (i, b) in bytes.iter().enumerate().take(8) {
            let at = (usize::from(*b) * 7 + i * 131) % mutated.len();
            mutated[at] = bytes[(i + 1) % bytes.len()];
        }
        exercise(&t.path().join("exp.toml"), String::from_utf8_lossy(&mutated).into_owned());
    }

    #[test]
    fn arbitrary_bytes_as_a_data_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let t = tempfile::tempdir().unwrap();
        let mut csv = b"id,question,answer,sev,tags\n".to_vec();
        csv.extend_from_slice(&bytes);
        std::fs::write(t.path().join("a.csv"), &csv).unwrap();
        std::fs::write(t.path().join("b.csv"), &bytes).unwrap();
        std::fs::write(t.path().join("c.jsonl"), &bytes).unwrap();
        let _ = CsvDataset::new(t.path().join("a.csv"), columns()).read();
        let _ = CsvDataset::new(t.path().join("b.csv"), columns()).read();
        let _ = JsonlDataset::new(t.path().join("c.jsonl"), columns()).read();
    }
}

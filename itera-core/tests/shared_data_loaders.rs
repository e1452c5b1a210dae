//! The CSV loader against the real shared data files (`../shared/data`, or `ITERA_SHARED_DATA`).
//! On a machine without them each test prints one `skipped:` line and passes.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

use itera_core::DataError;
use itera_core::data::load::{Columns, CsvDataset};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The shared data directory, or `None` (after printing the skip line) when it is absent.
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("ITERA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var_os("ITERA_REQUIRE_SHARED_DATA").is_some() {
        panic!(
            "shared data required (ITERA_REQUIRE_SHARED_DATA is set) but not found at {}",
            dir.display()
        );
    } else {
        println!(
            "skipped: shared data not found at {} (set ITERA_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

#[test]
fn bbh_inputs_load_with_composite_ids() {
    let Some(dir) = shared_data() else { return };
    let columns = Columns::new(["task", "idx"], ["input"])
        .expected("target")
        .slice("task");
    let rows = CsvDataset::new(dir.join("bbh_inputs.csv"), columns)
        .read()
        .unwrap();
    // README: 6,511 rows over 27 tasks.
    assert_eq!(rows.len(), 6_511);
    let slices: BTreeSet<&str> = rows.iter().map(|r| r.slice.as_str()).collect();
    assert_eq!(slices.len(), 27);
    let first = &rows[0];
    assert_eq!(first.id.as_str(), "boolean_expressions/0");
    assert_eq!(
        first.input,
        serde_json::json!("not ( True ) and ( True ) is")
    );
    assert_eq!(first.expected, Some(serde_json::json!("False")));
    assert_eq!(first.origin.as_deref(), Some("bbh_inputs.csv line 2"));
    // Inputs span several physical lines (and end with \r\n), so origins are physical lines, not
    // record numbers. Start lines from Python's csv module (a record starts one line after the
    // previous record's `reader.line_num`): row 999 is dyck_languages/62 on line 4714, the last
    // is word_sorting/249 on line 38823.
    assert_eq!(rows[999].id.as_str(), "dyck_languages/62");
    assert_eq!(
        rows[999].origin.as_deref(),
        Some("bbh_inputs.csv line 4714")
    );
    let last = rows.last().unwrap();
    assert_eq!(last.id.as_str(), "word_sorting/249");
    assert_eq!(last.origin.as_deref(), Some("bbh_inputs.csv line 38823"));
    assert!(rows.iter().all(|r| r.expected.is_some()));
}

#[test]
fn mmlu_pro_one_model_through_the_filter() {
    let Some(dir) = shared_data() else { return };
    let columns = Columns::new(["question_id"], ["pred"])
        .expected("answer")
        .slice("category")
        .cluster("src")
        .filter("model", "Meta-Llama-3_1-8B-Instruct");
    let rows = CsvDataset::new(dir.join("mmlu_pro_predictions.csv"), columns)
        .read()
        .unwrap();
    // Counted independently from the shell (the file has no quoted fields, so awk's comma split
    // is exact):
    //   awk -F, 'NR>1 && $4=="Meta-Llama-3_1-8B-Instruct"' mmlu_pro_predictions.csv | wc -l
    //   → 12032
    // and cross-checked with Python's csv module (12032 rows, 12032 distinct question ids,
    // 14 categories, 91 sources).
    assert_eq!(rows.len(), 12_032);
    let slices: BTreeSet<&str> = rows.iter().map(|r| r.slice.as_str()).collect();
    assert_eq!(slices.len(), 14);
    let clusters: BTreeSet<&str> = rows.iter().filter_map(|r| r.cluster.as_deref()).collect();
    assert_eq!(clusters.len(), 91);
}

#[test]
fn mmlu_pro_without_the_filter_repeats_ids() {
    let Some(dir) = shared_data() else { return };
    let columns = Columns::new(["question_id"], ["pred"]).slice("category");
    let err = CsvDataset::new(dir.join("mmlu_pro_predictions.csv"), columns)
        .read()
        .unwrap_err();
    // Every model answered the same questions. The first repeat, found with Python's csv module
    // (first occurrence of each question_id, stop at the first seen twice): question 70, first on
    // line 2262 (DeepSeek-Coder-V2), again on line 10353 (the next model's first line).
    match err {
        DataError::DuplicateId { id, first, second } => {
            assert_eq!(id.as_str(), "70");
            assert_eq!(first, "mmlu_pro_predictions.csv line 2262");
            assert_eq!(second, "mmlu_pro_predictions.csv line 10353");
        }
        other => panic!("expected a duplicate id, got {other:?}"),
    }
}

//! Unit tests of the CSV and JSON-lines loaders: every field, line numbers, filters, ids, and
//! each error with its message.

use super::*;
use crate::data::row::{DEFAULT_SLICE, Row};
use serde_json::json;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

fn file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = File::create(&path).unwrap();
    f.write_all(content).unwrap();
    path
}

fn csv(content: &str, columns: Columns) -> Result<Vec<Row>, DataError> {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "data.csv", content.as_bytes());
    CsvDataset::new(path, columns).read()
}

fn jsonl(content: &str, columns: Columns) -> Result<Vec<Row>, DataError> {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "data.jsonl", content.as_bytes());
    JsonlDataset::new(path, columns).read()
}

fn simple() -> Columns {
    Columns::new(["id"], ["text"])
}

#[test]
fn csv_reads_every_field() {
    let rows = csv(
        "id,text,gold,tier,customer,sev,modes\n\
         r1,hello,HI,smb,c1,2.5,tone|format\n\
         r2,\"multi\nline, quoted\",,ent,,0,\n\
         r3,bye,BYE,ent,c1,1, tone ; ;safety \n",
        simple()
            .expected("gold")
            .slice("tier")
            .cluster("customer")
            .severity("sev")
            .failure_modes("modes"),
    )
    .unwrap();
    assert_eq!(rows.len(), 3);
    let r1 = &rows[0];
    assert_eq!(r1.id.as_str(), "r1");
    assert_eq!(r1.input, json!("hello"));
    assert_eq!(r1.expected, Some(json!("HI")));
    assert_eq!(r1.slice, "smb");
    assert_eq!(r1.cluster.as_deref(), Some("c1"));
    assert_eq!(r1.severity, 2.5);
    assert_eq!(r1.failure_modes, vec!["tone", "format"]);
    assert_eq!(r1.origin.as_deref(), Some("data.csv line 2"));
    let r2 = &rows[1];
    assert_eq!(r2.input, json!("multi\nline, quoted"));
    assert_eq!(
        r2.expected, None,
        "an empty expected cell is no ground truth"
    );
    assert_eq!(r2.cluster, None);
    assert_eq!(r2.severity, 0.0);
    assert!(r2.failure_modes.is_empty());
    // r2 spans lines 3-4, so r3 starts on line 5.
    assert_eq!(rows[2].origin.as_deref(), Some("data.csv line 5"));
    assert_eq!(rows[2].failure_modes, vec!["tone", "safety"]);
}

#[test]
fn csv_defaults_without_optional_columns() {
    let rows = csv("id,text\na,x\n", simple()).unwrap();
    assert_eq!(rows[0].slice, DEFAULT_SLICE);
    assert_eq!(rows[0].severity, 1.0);
    assert_eq!(rows[0].expected, None);
}

#[test]
fn csv_line_numbers_are_physical_lines() {
    let columns = || simple().failure_modes("m");
    let origins = |content: &str| -> Vec<String> {
        csv(content, columns())
            .unwrap()
            .into_iter()
            .map(|r| r.origin.unwrap())
            .collect()
    };
    let want = vec!["data.csv line 2", "data.csv line 3"];
    assert_eq!(origins("id,text,m\na,x,\nb,y,\n"), want);
    assert_eq!(origins("id,text,m\r\na,x,\r\nb,y,\r\n"), want);
    assert_eq!(origins("id,text,m\ra,x,\rb,y,"), want);
    assert_eq!(origins("\u{feff}id,text,m\r\na,x,\r\nb,y,"), want);
    // Blank lines and quoted line breaks, with both endings.
    for nl in ["\n", "\r\n"] {
        let content =
            format!("id,text,m{nl}{nl}a,\"x{nl}y{nl}z\",{nl}{nl}{nl}b,y,{nl}c,\"{nl}\",{nl}d,w,");
        assert_eq!(
            origins(&content),
            vec![
                "data.csv line 3",
                "data.csv line 8",
                "data.csv line 9",
                "data.csv line 11"
            ],
            "{content:?}"
        );
    }
    // Errors use the same count.
    let err = csv("id,text\r\n\r\na,x\r\nb,y,z\r\n", simple()).unwrap_err();
    assert!(
        matches!(err, DataError::Malformed { line: 4, .. }),
        "{err:?}"
    );
    let err = csv("id,text\r\na,x\r\nb,y\r\na,z\r\n", simple()).unwrap_err();
    match err {
        DataError::DuplicateId { first, second, .. } => {
            assert_eq!(
                (first.as_str(), second.as_str()),
                ("data.csv line 2", "data.csv line 4")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn csv_strips_utf8_bom() {
    let rows = csv("\u{feff}id,text\na,x\n", simple()).unwrap();
    assert_eq!(rows[0].id.as_str(), "a");
}

#[test]
fn composite_id() {
    let rows = csv(
        "task,idx,input\nmath,0,a\nmath,1,b\nlogic,0,c\n",
        Columns::new(["task", "idx"], ["input"]),
    )
    .unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["math/0", "math/1", "logic/0"]);
}

#[test]
fn filter_keeps_matching_lines_only() {
    let data = "qid,model,pred\n1,a,X\n1,b,Y\n2,a,Z\n2,b,W\n";
    let rows = csv(data, Columns::new(["qid"], ["pred"]).filter("model", "b")).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].input, json!("Y"));
    assert_eq!(rows[1].origin.as_deref(), Some("data.csv line 5"));
    // Two filters must both match.
    let rows = csv(
        data,
        Columns::new(["qid"], ["pred"])
            .filter("model", "b")
            .filter("pred", "W"),
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id.as_str(), "2");
}

#[test]
fn filter_on_missing_column_is_missing_column() {
    let err = csv("id,text\na,x\n", simple().filter("model", "m")).unwrap_err();
    match &err {
        DataError::MissingColumn {
            column, available, ..
        } => {
            assert_eq!(column, "model");
            assert_eq!(available, "id, text");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("fix the column name"));
}

#[test]
fn filter_matching_nothing_is_distinct_from_empty_file() {
    let err = csv(
        "id,text,model\na,x,m1\nb,y,m2\n",
        simple().filter("model", "m3"),
    )
    .unwrap_err();
    match &err {
        DataError::NoMatchingRows {
            scanned,
            filter,
            seen,
            ..
        } => {
            assert_eq!(*scanned, 2);
            assert_eq!(filter, "model = \"m3\"");
            assert_eq!(seen, "model: \"m1\", \"m2\"");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("none of its 2 rows matches"));
}

#[test]
fn multi_column_input_is_an_object() {
    let rows = csv(
        "id,question,options,answer\nq1,2+2?,3|4,4\n",
        Columns::new(["id"], ["question", "options"]).expected("answer"),
    )
    .unwrap();
    assert_eq!(rows[0].input, json!({"question": "2+2?", "options": "3|4"}));
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = CsvDataset::new(dir.path().join("nope.csv"), simple())
        .read()
        .unwrap_err();
    assert!(matches!(err, DataError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.csv"));
    let err = JsonlDataset::new(dir.path().join("nope.jsonl"), simple())
        .read()
        .unwrap_err();
    assert!(matches!(err, DataError::Unreadable { .. }), "{err:?}");
}

#[test]
fn empty_file_without_header() {
    for content in ["", "\n\n"] {
        let err = csv(content, simple()).unwrap_err();
        assert!(matches!(err, DataError::EmptyFile { .. }), "{err:?}");
        assert!(err.to_string().contains("holds no rows"));
    }
    let err = jsonl("\n  \n", simple()).unwrap_err();
    assert!(matches!(err, DataError::EmptyFile { .. }), "{err:?}");
}

#[test]
fn header_without_rows_is_empty_file() {
    let err = csv("id,text\n", simple()).unwrap_err();
    assert!(matches!(err, DataError::EmptyFile { .. }), "{err:?}");
}

#[test]
fn missing_column_lists_available() {
    let err = csv("id,txt\na,x\n", simple()).unwrap_err();
    match &err {
        DataError::MissingColumn {
            column, available, ..
        } => {
            assert_eq!(column, "text");
            assert_eq!(available, "id, txt");
        }
        other => panic!("{other:?}"),
    }
    let err = jsonl("{\"id\": 1, \"txt\": \"x\"}\n", simple()).unwrap_err();
    match &err {
        DataError::MissingColumn {
            column, available, ..
        } => {
            assert_eq!(column, "text");
            assert!(available.starts_with("id, txt"), "{available}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_header_column_is_refused() {
    let err = csv("id,text,text\na,x,y\n", simple()).unwrap_err();
    assert!(
        matches!(err, DataError::Malformed { line: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn duplicate_id_names_both_lines() {
    let err = csv("id,text\na,x\nb,y\na,z\n", simple()).unwrap_err();
    match &err {
        DataError::DuplicateId { id, first, second } => {
            assert_eq!(id.as_str(), "a");
            assert_eq!(first, "data.csv line 2");
            assert_eq!(second, "data.csv line 4");
        }
        other => panic!("{other:?}"),
    }
    let err = jsonl(
        "{\"id\":1,\"text\":\"x\"}\n\n{\"id\":\"1\",\"text\":\"y\"}\n",
        simple(),
    )
    .unwrap_err();
    match &err {
        DataError::DuplicateId { first, second, .. } => {
            assert_eq!(first, "data.jsonl line 1");
            assert_eq!(second, "data.jsonl line 3");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_id() {
    let err = csv("id,text\n  ,x\n", simple()).unwrap_err();
    match &err {
        DataError::EmptyId { at } => assert_eq!(at, "data.csv line 2, column 'id'"),
        other => panic!("{other:?}"),
    }
    // An empty part of a composite id is refused too.
    let err = csv(
        "task,idx,text\nmath,,x\n",
        Columns::new(["task", "idx"], ["text"]),
    )
    .unwrap_err();
    match &err {
        DataError::EmptyId { at } => assert_eq!(at, "data.csv line 2, column 'idx'"),
        other => panic!("{other:?}"),
    }
    let err = jsonl("{\"id\":\"\",\"text\":\"x\"}\n", simple()).unwrap_err();
    assert!(matches!(err, DataError::EmptyId { .. }), "{err:?}");
}

#[test]
fn non_numeric_severity() {
    for bad in ["high", "", "-1"] {
        let err = csv(
            &format!("id,text,sev\na,x,{bad}\n"),
            simple().severity("sev"),
        )
        .unwrap_err();
        match &err {
            DataError::BadSeverity { at, value } => {
                assert_eq!(at, "data.csv line 2, column 'sev'");
                assert_eq!(value, bad);
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let err = jsonl(
        "{\"id\":\"a\",\"text\":\"x\",\"sev\":true}\n",
        simple().severity("sev"),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::BadSeverity { .. }), "{err:?}");
    let err = jsonl(
        "{\"id\":\"a\",\"text\":\"x\",\"sev\":-2}\n",
        simple().severity("sev"),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::BadSeverity { .. }), "{err:?}");
}

#[test]
fn not_finite_severity() {
    for bad in ["NaN", "inf", "-infinity", "1e400"] {
        let err = csv(
            &format!("id,text,sev\na,x,{bad}\n"),
            simple().severity("sev"),
        )
        .unwrap_err();
        match &err {
            DataError::NotFinite { at, field, value } => {
                assert_eq!(at, "data.csv line 2, column 'sev'");
                assert!(field.contains("severity"));
                assert_eq!(value, bad);
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let err = jsonl(
        "{\"id\":\"a\",\"text\":\"x\",\"sev\":\"NaN\"}\n",
        simple().severity("sev"),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::NotFinite { .. }), "{err:?}");
}

#[test]
fn malformed_csv_record() {
    let err = csv("id,text\na,x\nb,y,extra\n", simple()).unwrap_err();
    match &err {
        DataError::Malformed { line, message, .. } => {
            assert_eq!(*line, 3);
            assert!(
                message.contains("3 fields but the header has 2"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_csv_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "data.csv", b"id,text\na,\xff\xfe\n");
    let err = CsvDataset::new(path, simple()).read().unwrap_err();
    assert!(
        matches!(err, DataError::Malformed { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn malformed_jsonl_lines() {
    let err = jsonl("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\": \n", simple()).unwrap_err();
    match &err {
        DataError::Malformed { line, message, .. } => {
            assert_eq!(*line, 2);
            assert!(message.contains("invalid JSON"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let err = jsonl("[1, 2]\n", simple()).unwrap_err();
    match &err {
        DataError::Malformed { line, message, .. } => {
            assert_eq!(*line, 1);
            assert!(message.contains("an array, not a JSON object"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "data.jsonl", b"{\"id\":\"a\",\"text\":\"\xff\"}\n");
    let err = JsonlDataset::new(path, simple()).read().unwrap_err();
    assert!(
        matches!(err, DataError::Malformed { line: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn jsonl_key_missing_on_a_later_line() {
    let err = jsonl("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\"}\n", simple()).unwrap_err();
    match &err {
        DataError::Malformed { line, message, .. } => {
            assert_eq!(*line, 2);
            assert!(message.contains("'text' (the input column)"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn jsonl_bad_id_value() {
    for bad in ["true", "null", "[1]", "{\"a\":1}"] {
        let err = jsonl(&format!("{{\"id\":{bad},\"text\":\"x\"}}\n"), simple()).unwrap_err();
        match &err {
            DataError::Malformed { line, message, .. } => {
                assert_eq!(*line, 1);
                assert!(
                    message.contains("ids must be strings or numbers"),
                    "{message}"
                );
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn jsonl_numeric_ids_and_values() {
    let rows = jsonl(
        "{\"task\":\"math\",\"idx\":0,\"q\":{\"a\":1},\"gold\":42,\"tier\":3,\"modes\":[\"x\",\"y|z\"],\"sev\":\"2\"}\n\
         \r\n\
         {\"task\":\"math\",\"idx\":1,\"q\":\"plain\",\"gold\":null,\"tier\":\"ent\",\"modes\":\"\",\"sev\":0.5}\r\n",
        Columns::new(["task", "idx"], ["q"])
            .expected("gold")
            .slice("tier")
            .cluster("task")
            .severity("sev")
            .failure_modes("modes"),
    )
    .unwrap();
    assert_eq!(rows[0].id.as_str(), "math/0");
    assert_eq!(rows[0].input, json!({"a": 1}));
    assert_eq!(rows[0].expected, Some(json!(42)));
    assert_eq!(rows[0].slice, "3");
    assert_eq!(rows[0].cluster.as_deref(), Some("math"));
    assert_eq!(rows[0].failure_modes, vec!["x", "y", "z"]);
    assert_eq!(rows[0].severity, 2.0);
    assert_eq!(rows[1].id.as_str(), "math/1");
    assert_eq!(rows[1].expected, None);
    assert_eq!(rows[1].severity, 0.5);
    assert!(rows[1].failure_modes.is_empty());
    assert_eq!(rows[1].origin.as_deref(), Some("data.jsonl line 3"));
}

#[test]
fn jsonl_multi_column_input_and_filter() {
    let rows = jsonl(
        "{\"id\":1,\"a\":\"x\",\"b\":[1],\"m\":\"p\"}\n{\"id\":2,\"a\":\"y\",\"b\":null,\"m\":7}\n",
        Columns::new(["id"], ["a", "b"]).filter("m", "7"),
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].input, json!({"a": "y", "b": null}));
    let err = jsonl(
        "{\"id\":1,\"a\":\"x\",\"m\":\"p\"}\n",
        Columns::new(["id"], ["a"]).filter("m", "q"),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::NoMatchingRows { .. }), "{err:?}");
}

#[test]
fn empty_slice_cell_is_refused() {
    let err = csv("id,text,tier\na,x,\n", simple().slice("tier")).unwrap_err();
    assert!(
        matches!(err, DataError::Malformed { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn invalid_column_spec() {
    let err = csv("id,text\na,x\n", Columns::new(["id"], Vec::<String>::new())).unwrap_err();
    assert!(matches!(err, DataError::InvalidColumns(_)), "{err:?}");
    let err = csv("id,text\na,x\n", Columns::new(["id", "id"], ["text"])).unwrap_err();
    assert!(matches!(err, DataError::InvalidColumns(_)), "{err:?}");
    let err = csv("id,text\na,x\n", simple().slice(" ")).unwrap_err();
    assert!(matches!(err, DataError::InvalidColumns(_)), "{err:?}");
}

#[test]
fn columns_deserialize_and_refuse_unknown_keys() {
    let c: Columns = serde_json::from_value(json!({
        "id": ["task", "idx"], "input": "input", "expected": "target",
        "filter": {"variant": "cot"}
    }))
    .unwrap();
    assert_eq!(
        c,
        Columns::new(["task", "idx"], ["input"])
            .expected("target")
            .filter("variant", "cot")
    );
    assert!(
        serde_json::from_value::<Columns>(json!({"id": "a", "input": "b", "slices": "c"})).is_err()
    );
    assert!(serde_json::from_value::<Columns>(json!({"input": "b"})).is_err());
}

#[test]
fn load_path_picks_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let c = file(&dir, "a.CSV", b"id,text\na,x\n");
    let j = file(&dir, "b.ndjson", b"{\"id\":\"a\",\"text\":\"x\"}\n");
    for p in [c, j] {
        let ds = load_path(&p, simple()).unwrap();
        let rows = futures::executor::block_on(ds.rows()).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(ds.describe().contains(p.to_str().unwrap()));
    }
    for name in ["c.json", "d.txt", "noext"] {
        let err = load_path(dir.path().join(name), simple()).err().unwrap();
        assert!(
            matches!(err, DataError::UnsupportedFormat { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(".jsonl"), "{err}");
    }
}

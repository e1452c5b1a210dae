//! `Dataset::each_row` on the file datasets: the verdict's re-read (G7, #17) visits the rows
//! `read` returns, one at a time.

use super::*;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

fn file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = File::create(&path).unwrap();
    f.write_all(content).unwrap();
    path
}

/// `each_row` hands over the rows `read` returns, in file order, one at a time (the verdict's
/// re-read, G7, #17), stops at the visitor's error, and refuses the same malformed lines.
#[test]
fn each_row_visits_what_read_returns() {
    let dir = tempfile::tempdir().unwrap();
    let cols = || {
        Columns::new(["id"], ["text"])
            .expected("gold")
            .slice("tier")
    };
    let c = CsvDataset::new(
        file(
            &dir,
            "d.csv",
            b"id,text,gold,tier\nr2,b,B,x\nr1,a,A,y\nr3,c,C,x\n",
        ),
        cols(),
    );
    let j = JsonlDataset::new(
        file(
            &dir,
            "d.jsonl",
            b"{\"id\":\"r2\",\"text\":\"b\",\"gold\":\"B\",\"tier\":\"x\"}\n{\"id\":\"r1\",\"text\":\"a\",\"gold\":\"A\",\"tier\":\"y\"}\n",
        ),
        cols(),
    );
    let datasets: [&dyn Dataset; 2] = [&c, &j];
    for ds in datasets {
        let mut seen = Vec::new();
        futures::executor::block_on(ds.each_row(&mut |r| {
            seen.push(r);
            Ok(())
        }))
        .unwrap();
        let read = futures::executor::block_on(ds.rows()).unwrap();
        assert_eq!(seen, read, "{}", ds.describe());
        let mut visited = 0;
        let stop = futures::executor::block_on(ds.each_row(&mut |_| {
            visited += 1;
            Err(DataError::Other("enough".into()))
        }));
        assert!(matches!(stop, Err(DataError::Other(m)) if m == "enough"));
        assert_eq!(visited, 1, "{}", ds.describe());
    }
    let bad = CsvDataset::new(
        file(&dir, "bad.csv", b"id,text,gold,tier\nr1,a,A,\n"),
        cols(),
    );
    let err = futures::executor::block_on(bad.each_row(&mut |_| Ok(()))).unwrap_err();
    assert!(err.to_string().contains("slice column"), "{err}");
}

//! The import direction follows the method (issue: "later phases use earlier ones, never the
//! reverse"): every `crate::…` path in a source file names a module at or below its own layer.
//! The layers, bottom to top: the hashing and time helpers, `frame`, `data`, `journal`, `run`,
//! `builtin`, `iterate`, `decide`, `report`, `experiment`. Comments (doc links) are not imports
//! and are skipped; `lib.rs` re-exports everything and is skipped.

use std::path::{Path, PathBuf};

const LAYERS: [&[&str]; 10] = [
    &["hash", "canonical", "canonical_tests", "time"],
    &["frame"],
    &["data"],
    &["journal"],
    &["run"],
    &["builtin"],
    &["iterate"],
    &["decide"],
    &["report"],
    &["experiment"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a line of code names through `crate::`.
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(i, _)| {
            code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn no_module_imports_a_later_phase() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut checked = 0;
    let mut upward = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .expect("component")
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs");
        if top == "lib" {
            continue;
        }
        let own =
            layer(top).unwrap_or_else(|| panic!("{}: module `{top}` has no layer", rel.display()));
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for module in crate_paths(line) {
                checked += 1;
                match layer(&module) {
                    Some(l) if l <= own => {}
                    Some(_) => {
                        upward.push(format!("{}:{}: uses crate::{module}", rel.display(), n + 1))
                    }
                    None => upward.push(format!(
                        "{}:{}: crate::{module} is not a layer (use the module's path)",
                        rel.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} crate:: paths found: is the scan broken?"
    );
    assert!(
        upward.is_empty(),
        "imports against the method's order:\n{}",
        upward.join("\n")
    );
}

/// The scanner itself: an upward import in a synthetic line is found, a doc link is not.
#[test]
fn the_scanner_sees_imports_and_skips_comments() {
    assert_eq!(
        crate_paths("use crate::report::audit::Storage;"),
        vec!["report"]
    );
    assert_eq!(
        crate_paths("let x = crate::frame::Frame::builder(); // crate::experiment"),
        vec!["frame"]
    );
    assert!(crate_paths("/// see [`crate::experiment`]").is_empty());
    assert!(layer("report") > layer("journal"));
}

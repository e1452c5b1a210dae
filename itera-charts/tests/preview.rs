//! Writes every chart of both sample datasets as PNG and SVG into the directory named by
//! `ITERA_CHARTS_PREVIEW` (e.g. `/tmp/itera-charts`), for looking at them. Does nothing otherwise.

use itera_charts::{ChartKind, sample, write_chart};
use std::path::PathBuf;

#[test]
fn preview() {
    let Some(dir) = std::env::var_os("ITERA_CHARTS_PREVIEW").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("preview dir");
    for (name, data) in [
        ("seed", sample::seed_example()),
        ("4x14", sample::four_by_fourteen()),
        ("killed", sample::with_killed_arm()),
    ] {
        for kind in ChartKind::ALL {
            for ext in ["png", "svg"] {
                let path = dir.join(format!("{name}-{}.{ext}", kind.file_stem()));
                write_chart(kind, &data, &path).expect("render");
            }
        }
    }
}

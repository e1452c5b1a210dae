//! Renders the three charts from built report models (the seed example's shape: enterprise/SMB,
//! v1 baseline, v2 better on both, v3 regressing SMB below the floor; and 4 arms × 14 slices)
//! and checks the outputs: PNGs decode at the right size and are not blank, SVGs parse and carry
//! the expected labels, the failing slice is red, output is byte-identical across renders, and a
//! failed render leaves no file.

use itera_charts::{
    ChartError, ChartKind, Format, load_data_json, render, sample, write_all, write_chart,
};
use itera_core::report::ReportData;
use std::path::Path;

const RED: &str = "#D55E00";
const GREY: &str = "#9A9A9A";

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(bytes);
    let mut reader = dec.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    let dpi = reader.info().pixel_dims.expect("pHYs chunk");
    assert_eq!(dpi.xppu, 5906, "150 dpi");
    (info.width, info.height, buf)
}

fn pixel_variance(rgb: &[u8]) -> f64 {
    let n = rgb.len() as f64;
    let mean = rgb.iter().map(|&v| v as f64).sum::<f64>() / n;
    rgb.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n
}

fn count_rgb(rgb: &[u8], c: (u8, u8, u8)) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| (p[0], p[1], p[2]) == c)
        .count()
}

fn svg(kind: ChartKind, data: &ReportData) -> String {
    String::from_utf8(render(kind, data, Format::Svg).expect("render svg")).expect("utf-8")
}

/// Every `<text>` element: (trimmed content, y, fill).
fn texts(svg: &str) -> Vec<(String, f64, String)> {
    let doc = roxmltree::Document::parse(svg).expect("SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            (
                n.text().unwrap_or("").trim().to_string(),
                n.attribute("y")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
                n.attribute("fill").unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Horizontal polylines of a colour: their y.
fn horizontal_lines(svg: &str, stroke: &str) -> Vec<f64> {
    horizontal_segments(svg, stroke)
        .into_iter()
        .map(|(y, _, _)| y)
        .collect()
}

/// Horizontal polylines (longer than 20 px) of a colour: (y, x_min, x_max).
fn horizontal_segments(svg: &str, stroke: &str) -> Vec<(f64, f64, f64)> {
    let doc = roxmltree::Document::parse(svg).expect("SVG parses");
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(stroke))
        .filter_map(|n| {
            let pts: Vec<(f64, f64)> = n
                .attribute("points")?
                .split_whitespace()
                .filter_map(|p| {
                    let (x, y) = p.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                })
                .collect();
            (pts.len() == 2 && pts[0].1 == pts[1].1 && (pts[0].0 - pts[1].0).abs() > 20.0)
                .then_some((pts[0].1, pts[0].0.min(pts[1].0), pts[0].0.max(pts[1].0)))
        })
        .collect()
}

fn find<'a>(t: &'a [(String, f64, String)], s: &str) -> Vec<&'a (String, f64, String)> {
    t.iter().filter(|(c, _, _)| c == s).collect()
}

#[test]
fn pngs_decode_at_the_right_size_and_are_not_blank() {
    for data in [sample::seed_example(), sample::four_by_fourteen()] {
        for kind in ChartKind::ALL {
            let (w, h, rgb) = decode_png(&render(kind, &data, Format::Png).expect("render"));
            assert_eq!(w, 1500, "{kind}");
            if kind == ChartKind::ForestPlot {
                assert!(h >= 600, "{kind}: {h}");
            } else {
                assert_eq!(h, 900, "{kind}");
            }
            assert!(pixel_variance(&rgb) > 100.0, "{kind} looks blank");
        }
    }
}

#[test]
fn forest_plot_grows_with_its_rows() {
    let h = |d: &ReportData| decode_png(&render(ChartKind::ForestPlot, d, Format::Png).unwrap()).1;
    let small = h(&sample::seed_example());
    let big = h(&sample::four_by_fourteen());
    // 45 rows against 6, at 34 px each (the small one is padded to 600 px).
    assert!(big > 3 * small, "{small} -> {big}");
    let mut more = sample::seed_example();
    for k in 0..10 {
        more.slices.push(itera_core::report::SliceInfo {
            id: format!("x{k}"),
            name: format!("extra {k}"),
            dev_n: 10,
            test_n: 10,
            major: true,
        });
        let e = more.effect_sizes["v2"].aggregate;
        more.effect_sizes
            .get_mut("v2")
            .unwrap()
            .per_slice
            .insert(format!("x{k}"), e);
    }
    // The seed plot's natural height is 588 px (padded to 600; 30 px of it for a third legend
    // row); ten more rows add 34 px each.
    assert_eq!(h(&more), 588 + 10 * 34);
}

#[test]
fn seed_example_svgs_carry_the_labels() {
    let data = sample::seed_example();
    let fp = texts(&svg(ChartKind::ForestPlot, &data));
    for s in [
        "v2 (all rows)",
        "v3 (all rows)",
        "enterprise",
        "SMB",
        "−3.3pp [−8.8, +2.2]",
        "+8.9pp [+4.1, +13.7]",
        "T +5.0pp",
        "F −2.0pp",
    ] {
        assert!(!find(&fp, s).is_empty(), "forest plot lacks {s:?}");
    }
    assert!(
        fp.iter()
            .all(|(c, _, _)| !c.contains("+-") && !c.contains("-+"))
    );

    let ab = texts(&svg(ChartKind::ArmBar, &data));
    for s in [
        "v1",
        "v2",
        "v3",
        "baseline",
        "70.2%",
        "78.1%",
        "74.8%",
        "SD ±1.1pp",
        "T = 75.2%",
    ] {
        assert!(!find(&ab, s).is_empty(), "arm bar lacks {s:?}");
    }
    assert!(ab.iter().any(|(c, _, _)| c.contains("across 3 trials")));

    let cv = texts(&svg(ChartKind::CostVsAccuracy, &data));
    for s in [
        "v1 · 69.5% · $0.42/1k",
        "v2 · 78.4% · $1.35/1k",
        "v3 · 73.1% · $0.88/1k",
    ] {
        assert!(!find(&cv, s).is_empty(), "cost chart lacks {s:?}");
    }
}

#[test]
fn the_failing_slice_is_red_and_the_passing_ones_are_not() {
    let data = sample::seed_example();
    let s = svg(ChartKind::ForestPlot, &data);
    let t = texts(&s);
    let smb = find(&t, "SMB");
    assert_eq!(smb.len(), 2, "SMB under v2 and v3");
    // Rows are drawn in order: v2's SMB first (passes), then v3's (fails).
    let (pass, fail) = (smb[0], smb[1]);
    assert_ne!(pass.2, RED);
    assert_eq!(fail.2, RED);
    let label = find(&t, "−3.3pp [−8.8, +2.2]");
    assert_eq!(label[0].2, RED);
    assert_eq!(label[0].1, fail.1, "name and effect on one row");
    // Its interval line is red, on that row; v2's SMB row has no red line.
    let red = horizontal_lines(&s, RED);
    assert!(
        red.iter().any(|y| (y - fail.1).abs() < 15.0),
        "{red:?} vs {}",
        fail.1
    );
    assert!(!red.iter().any(|y| (y - pass.1).abs() < 15.0));
    for e in find(&t, "enterprise") {
        assert_ne!(e.2, RED);
    }
}

#[test]
fn four_by_fourteen_marks_exactly_one_slice_red() {
    let data = sample::four_by_fourteen();
    let s = svg(ChartKind::ForestPlot, &data);
    let t = texts(&s);
    for arm in [
        "few-shot (all rows)",
        "rerank (all rows)",
        "model-swap (all rows)",
    ] {
        assert_eq!(find(&t, arm).len(), 1, "{arm}");
    }
    for name in sample::FOURTEEN_SLICES {
        assert_eq!(find(&t, name).len(), 3, "{name} once per arm");
    }
    let fraud = find(&t, "fraud reports");
    let reds: Vec<_> = fraud.iter().filter(|r| r.2 == RED).collect();
    assert_eq!(reds.len(), 1);
    assert_eq!(reds[0].1, fraud[1].1, "the rerank row (second arm)");
    assert_eq!(
        t.iter()
            .filter(|r| r.2 == RED && !r.0.starts_with("F "))
            .count(),
        2
    );
    assert!(!find(&t, "−3.5pp [−7.1, +0.1]").is_empty());
    let red = horizontal_lines(&s, RED);
    assert!(red.iter().any(|y| (y - reds[0].1).abs() < 15.0));

    // PNG: the failing slice adds red pixels over a variant where it passes.
    let mut passing = data.clone();
    let e = passing
        .effect_sizes
        .get_mut("rerank")
        .unwrap()
        .per_slice
        .get_mut("s09")
        .unwrap();
    e.ci_low = -0.01;
    let count = |d: &ReportData| {
        let (_, _, rgb) = decode_png(&render(ChartKind::ForestPlot, d, Format::Png).unwrap());
        count_rgb(&rgb, (0xD5, 0x5E, 0x00))
    };
    assert!(count(&data) > count(&passing) + 200);
}

#[test]
fn threshold_floor_and_trials_come_from_the_data() {
    let mut data = sample::seed_example();
    data.experiment.threshold_pp = 7.5;
    data.experiment.slice_loss_floor_pp = -4.0;
    data.experiment.trials_per_arm = 5;
    let fp = texts(&svg(ChartKind::ForestPlot, &data));
    assert!(!find(&fp, "T +7.5pp").is_empty());
    assert!(!find(&fp, "F −4.0pp").is_empty());
    assert!(!find(&fp, "threshold T = +7.5pp").is_empty());
    // At a −4pp floor v3's SMB (CI low −8.8) still fails; at −10pp it passes.
    assert_eq!(find(&fp, "SMB")[1].2, RED);
    data.experiment.slice_loss_floor_pp = -10.0;
    let fp = texts(&svg(ChartKind::ForestPlot, &data));
    assert!(find(&fp, "SMB").iter().all(|r| r.2 != RED));

    let ab = texts(&svg(ChartKind::ArmBar, &data));
    assert!(!find(&ab, "T = 77.7%").is_empty(), "70.2% + 7.5pp");
    assert!(ab.iter().any(|(c, _, _)| c.contains("across 5 trials")));
}

#[test]
fn arm_bar_plots_dev_never_test() {
    let data = sample::seed_example();
    let ab = texts(&svg(ChartKind::ArmBar, &data));
    for (arm, dev) in &data.dev_aggregate {
        assert!(
            !find(&ab, &format!("{:.1}%", dev.mean * 100.0)).is_empty(),
            "{arm}"
        );
    }
    for test in data.test_aggregate.values() {
        assert!(find(&ab, &format!("{:.1}%", test.mean * 100.0)).is_empty());
    }
}

#[test]
fn forest_axis_contains_every_interval() {
    let mut data = sample::seed_example();
    let e = data
        .effect_sizes
        .get_mut("v3")
        .unwrap()
        .per_slice
        .get_mut("smb")
        .unwrap();
    e.ci_low = -0.41;
    e.ci_high = 0.33;
    let s = svg(ChartKind::ForestPlot, &data);
    let fp = texts(&s);
    let row = find(&fp, "−3.3pp [−41.0, +33.0]");
    assert_eq!(row.len(), 1);
    assert!(
        !find(&fp, "−40").is_empty() && !find(&fp, "+20").is_empty(),
        "ticks span the range"
    );
    // The row's interval line lies strictly inside the x axis (ink line ending at 1450 px).
    let (_, axis_x0, axis_x1) = horizontal_segments(&s, "#1A1A1A")
        .into_iter()
        .filter(|(_, _, x1)| *x1 == 1450.0)
        .max_by(|a, b| (a.2 - a.1).total_cmp(&(b.2 - b.1)))
        .expect("x axis");
    let (_, x0, x1) = horizontal_segments(&s, RED)
        .into_iter()
        .find(|(y, _, _)| (y - row[0].1).abs() < 15.0)
        .expect("the row's red interval");
    assert!(
        axis_x0 < x0 && x1 < axis_x1,
        "axis {axis_x0}..{axis_x1}, interval {x0}..{x1}"
    );
}

#[test]
fn cost_chart_greys_dominated_arms_and_keeps_unknown_costs_apart() {
    let data = sample::four_by_fourteen();
    let s = svg(ChartKind::CostVsAccuracy, &data);
    let t = texts(&s);
    assert!(!find(&t, "rerank · 68.4% · $1.20/1k (dominated)").is_empty());
    assert!(!find(&t, "few-shot · 71.3% · $1.10/1k").is_empty());
    assert!(
        !find(&t, "model-swap · 69.9%").is_empty(),
        "no invented cost"
    );
    assert!(!find(&t, "cost unknown").is_empty());
    let doc = roxmltree::Document::parse(&s).unwrap();
    let grey_dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some(GREY))
        .count();
    assert!(grey_dots >= 1, "the dominated arm's marker is grey");
    // The frontier is a step line through baseline ($0.80) and few-shot ($1.10): a polyline of
    // at least 4 points in ink.
    let frontier = doc.descendants().any(|n| {
        n.has_tag_name("polyline")
            && n.attribute("stroke") == Some("#1A1A1A")
            && n.attribute("points")
                .map(|p| p.split_whitespace().count() >= 4)
                .unwrap_or(false)
    });
    assert!(frontier);
}

#[test]
fn killed_arms_are_stated_not_hidden() {
    let data = sample::with_killed_arm();
    let ab = texts(&svg(ChartKind::ArmBar, &data));
    assert!(!find(&ab, "v4").is_empty());
    assert!(!find(&ab, "killed by the gate").is_empty());
    for kind in [ChartKind::ForestPlot, ChartKind::CostVsAccuracy] {
        let t = texts(&svg(kind, &data));
        assert!(
            !find(&t, "Killed by the gate, never run on test: v4").is_empty(),
            "{kind}"
        );
    }
}

#[test]
fn output_is_byte_identical_across_renders() {
    for data in [sample::seed_example(), sample::four_by_fourteen()] {
        for kind in ChartKind::ALL {
            for format in [Format::Png, Format::Svg] {
                let a = render(kind, &data, format).unwrap();
                let b = render(kind, &data, format).unwrap();
                assert!(a == b, "{kind} {format:?} differs between runs");
            }
        }
    }
}

fn dir_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).expect("read dir").next().is_none()
}

#[test]
fn nan_fails_with_a_typed_error_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = sample::seed_example();
    data.effect_sizes
        .get_mut("v3")
        .unwrap()
        .per_slice
        .get_mut("smb")
        .unwrap()
        .ci_low = f64::NAN;
    let out = dir.path().join("forest-plot.png");
    match write_chart(ChartKind::ForestPlot, &data, &out) {
        Err(ChartError::NonFinite { field, value }) => {
            assert_eq!(field, "effect_sizes[\"v3\"].per_slice[\"smb\"].ci_low");
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert!(dir_is_empty(dir.path()), "no file, no temp file");

    // write_all renders everything first: nothing at all is written.
    assert!(write_all(&data, dir.path()).is_err());
    assert!(dir_is_empty(dir.path()));

    // An existing chart is not clobbered by a failed re-render.
    let good = sample::seed_example();
    write_chart(ChartKind::ForestPlot, &good, &out).unwrap();
    let before = std::fs::read(&out).unwrap();
    assert!(write_chart(ChartKind::ForestPlot, &data, &out).is_err());
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let mut bad = sample::seed_example();
    bad.dev_aggregate.get_mut("v1").unwrap().mean = f64::INFINITY;
    let err = render(ChartKind::ArmBar, &bad, Format::Svg).unwrap_err();
    assert!(
        err.to_string().contains("dev_aggregate[\"v1\"].mean"),
        "{err}"
    );
    let mut bad = sample::seed_example();
    bad.arms[1].cost_per_1k_usd = Some(f64::NAN);
    let err = render(ChartKind::CostVsAccuracy, &bad, Format::Png).unwrap_err();
    assert!(
        err.to_string().contains("arms[\"v2\"].cost_per_1k_usd"),
        "{err}"
    );
}

#[test]
fn unwritable_path_fails_with_io_error_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no-such-dir").join("arm-bar.svg");
    let err = write_chart(ChartKind::ArmBar, &sample::seed_example(), &out).unwrap_err();
    assert!(matches!(err, ChartError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert!(dir_is_empty(dir.path()));

    let err = write_chart(
        ChartKind::ArmBar,
        &sample::seed_example(),
        &dir.path().join("a.pdf"),
    )
    .unwrap_err();
    assert!(matches!(err, ChartError::UnknownFormat(_)));
    assert!(dir_is_empty(dir.path()));
}

#[test]
fn missing_pieces_are_named() {
    let mut data = sample::seed_example();
    data.arms[0].baseline = false;
    let err = render(ChartKind::ArmBar, &data, Format::Svg).unwrap_err();
    assert!(
        matches!(err, ChartError::MissingData(ref m) if m.contains("baseline")),
        "{err}"
    );
    let mut data = sample::seed_example();
    data.effect_sizes.remove("v2");
    let err = render(ChartKind::ForestPlot, &data, Format::Svg).unwrap_err();
    assert!(err.to_string().contains("\"v2\""), "{err}");
    let mut data = sample::seed_example();
    let e = data.effect_sizes.get_mut("v2").unwrap();
    e.aggregate.ci_low = 0.5;
    let err = render(ChartKind::ForestPlot, &data, Format::Svg).unwrap_err();
    assert!(matches!(err, ChartError::Invalid { .. }), "{err}");
}

#[test]
fn write_all_from_data_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample::four_by_fourteen();
    let json = dir.path().join("data.json");
    std::fs::write(&json, serde_json::to_vec_pretty(&data).unwrap()).unwrap();
    let loaded = load_data_json(&json).unwrap();
    let paths = write_all(&loaded, dir.path()).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "charts/arm-bar.png",
            "charts/arm-bar.svg",
            "charts/forest-plot.png",
            "charts/forest-plot.svg",
            "charts/cost-vs-accuracy.png",
            "charts/cost-vs-accuracy.svg",
        ]
    );
    // Same bytes as rendering the in-memory model: data.json is all a chart needs.
    let fp = std::fs::read(dir.path().join("charts/forest-plot.svg")).unwrap();
    assert_eq!(
        fp,
        render(ChartKind::ForestPlot, &data, Format::Svg).unwrap()
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("charts"))
            .unwrap()
            .count(),
        6,
        "no temp files"
    );

    std::fs::write(&json, b"{\"experiment\": 1}").unwrap();
    assert!(matches!(
        load_data_json(&json),
        Err(ChartError::Json { .. })
    ));
}

#[test]
fn chart_kinds_parse() {
    for k in ChartKind::ALL {
        assert_eq!(k.file_stem().parse::<ChartKind>().unwrap(), k);
        assert_eq!(k.to_string(), k.file_stem());
    }
    assert!(matches!(
        "histogram".parse::<ChartKind>(),
        Err(ChartError::UnknownKind(_))
    ));
}

/// Red rings (open circles, `fill="none"`) in an SVG: the unknown-slice marker.
fn red_rings(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).expect("SVG parses as XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("circle"))
        .filter(|n| n.attribute("fill") == Some("none") && n.attribute("stroke") == Some(RED))
        .count()
}

#[test]
fn an_unknown_slice_gets_a_ring_and_a_harmed_slice_a_cross() {
    // v3's SMB: [−8.8, +2.2] is below the floor but reaches 0: unknown, a ring.
    let data = sample::seed_example();
    let unknown = svg(ChartKind::ForestPlot, &data);
    assert_eq!(red_rings(&unknown), 2, "the slice's ring and the legend's");
    // The same slice with its CI entirely below 0: harmed, a cross and no ring.
    let mut harmed = data.clone();
    let e = harmed
        .effect_sizes
        .get_mut("v3")
        .unwrap()
        .per_slice
        .get_mut("smb")
        .unwrap();
    e.ci_high = -0.005;
    let h = svg(ChartKind::ForestPlot, &harmed);
    assert_eq!(red_rings(&h), 1, "the legend's only");
    assert!(h.contains("slice harmed: CI entirely below 0"));
    assert!(h.contains("slice not shown safe"));
}

//! Charts and `conclusion.md` (issue #16, item 7): itera-core draws no charts (itera-charts
//! depends on itera-core, not the reverse), so a conclusion written by the library links no
//! image that does not exist and says how to draw them; a caller that draws them after the
//! verdict (the CLI) sets `RunOptions::charts` and the document embeds them.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;
use itera_core::prelude::*;

async fn conclude(dir: &std::path::Path, opts: RunOptions) -> Conclusion {
    let arms = boxed(vec![
        TestArm::new("base", 0.5),
        TestArm::new("arm-alpha-7f3", 0.9),
        TestArm::new("arm-beta-9c1", 0.5),
    ]);
    let judge = RecordingJudge::new();
    let exp = Experiment::new(frame(3))
        .unwrap()
        .register(Store::dir(dir).unwrap())
        .unwrap()
        .split_rows(rows(300))
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(opts))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
        .gate_unchanged()
        .unwrap()
        .seal()
        .unwrap();
    exp.verdict(None).await.unwrap()
}

/// Every `](charts/…)` target of the document, with whether it exists under `dir`.
fn chart_links(md: &str, dir: &std::path::Path) -> Vec<(String, bool)> {
    md.match_indices("](charts/")
        .map(|(i, _)| {
            let rest = &md[i + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            (target.to_string(), dir.join(target).exists())
        })
        .collect()
}

#[tokio::test]
async fn a_library_conclusion_links_no_missing_chart_and_says_how_to_draw_them() {
    // Its own runs directory: the spent-test ledger lives beside the experiment (G15).
    let dir = ExpDir::new();
    let done = conclude(
        dir.path(),
        accepting("300-row fixture, underpowered; this test checks the chart links"),
    )
    .await;
    let dangling: Vec<_> = chart_links(&done.conclusion_md, dir.path())
        .into_iter()
        .filter(|(_, exists)| !exists)
        .collect();
    assert!(dangling.is_empty(), "dangling image links: {dangling:?}");
    assert!(
        done.conclusion_md.contains("itera report")
            && done.conclusion_md.contains("itera_charts::write_all"),
        "says how to draw the charts:\n{}",
        done.conclusion_md
    );
    // The re-render from the journal is byte-identical (G40).
    assert_eq!(
        itera_core::rewrite_conclusion(dir.path()).unwrap(),
        done.conclusion_md
    );
}

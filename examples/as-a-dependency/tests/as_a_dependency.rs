//! The library as a user meets it: one `use itera_core::prelude::*;`, a custom arm, a custom
//! judge and rows in memory; the whole method (register → split → pilot → score_dev → gate →
//! seal → verdict) to the three verdicts it must reach, each pinned by the stable verdict view.
//! This package depends on `itera-core` and `tokio` only (see its Cargo.toml).

use itera_core::prelude::*;

/// A stable number in [0, 1) from some text (FNV-1a + a splitmix64 finalizer).
fn unit(text: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A classifier stand-in: right with probability `accuracy[slice]`, the draw seeded by
/// `ctx.seed` (per row and trial) and the arm's id, so a verdict is reproducible.
struct Classifier {
    id: &'static str,
    smb: f64,
    ent: f64,
}

#[async_trait]
impl Arm for Classifier {
    fn id(&self) -> &str {
        self.id
    }
    fn spec(&self) -> String {
        format!("classifier smb={} ent={}", self.smb, self.ent)
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let answer = input["answer"]
            .as_str()
            .ok_or_else(|| ArmError::Fatal(format!("row {}: no answer field", ctx.row_id)))?;
        let p = if input["slice"] == "smb" {
            self.smb
        } else {
            self.ent
        };
        let right = unit(&format!("{}|{}", self.id, ctx.seed)) < p;
        let out = ArmOutput::text(if right { answer } else { "wrong" });
        Ok(out.with_usage(120, 4).with_latency_ms(35.0))
    }
}

/// Exact match against the row's expected value.
struct Exact;

#[async_trait]
impl Judge for Exact {
    fn id(&self) -> &str {
        "exact"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        Ok(Judgement::score(if Some(output) == view.expected {
            1.0
        } else {
            0.0
        }))
    }
}

fn frame() -> Result<Frame, FrameError> {
    Frame::builder(
        "dep",
        "Does the candidate beat the baseline?",
        "It is more accurate.",
    )
    .baseline("base", "src/classify.rs:10")
    .arm("cand", "base", "a better prompt")
    .metric("accuracy", "exact")
    .threshold_pp(5.0)
    .slice_loss_floor_pp(-2.0)
    .trials(3)
    .seed(3)
    .build()
}

fn rows() -> Vec<Row> {
    (0..1500)
        .map(|i| {
            let slice = if i % 2 == 0 { "smb" } else { "ent" };
            let answer = ["travel", "software", "supplies"][i % 3];
            Row::new(
                format!("r{i:04}"),
                json!({"answer": answer, "slice": slice}),
            )
            .expected(answer)
            .slice(slice)
        })
        .collect()
}

/// The whole method in memory, every refusal absorbed by `?` into `itera_core::Error`.
async fn run(candidate: Classifier) -> Result<Conclusion, Error> {
    let arms: Vec<Box<dyn Arm>> = vec![
        Box::new(Classifier {
            id: "base",
            smb: 0.6,
            ent: 0.6,
        }),
        Box::new(candidate),
    ];
    let judge = Exact;
    // 1,500 rows (300 test) are underpowered for T = 5pp on these binary scores (G20: the check
    // asks for ≈ 503 test rows): accepted explicitly, since these tests check that the public
    // surface walks to each decision, not power.
    let opts = RunOptions {
        accept_underpowered: Some(
            "1,500-row fixture: the test checks the public surface, not power".into(),
        ),
        ..RunOptions::default()
    };
    let exp = Experiment::new(frame()?)?
        .register(Store::in_memory())?
        .split_rows(rows())?
        .pilot(Lineup::new(judge).arms(arms).options(opts))
        .await?
        .score_dev()
        .await?
        .gate_unchanged()?
        .seal()?;
    Ok(exp.verdict(None).await?)
}

#[tokio::test]
async fn a_clear_win_ships() -> Result<(), Error> {
    let done = run(Classifier {
        id: "cand",
        smb: 0.9,
        ent: 0.9,
    })
    .await?;
    assert_eq!(done.verdict.decision, Decision::Ship);
    insta::assert_snapshot!(done.stable());
    Ok(())
}

#[tokio::test]
async fn a_clear_loss_is_killed() -> Result<(), Error> {
    let done = run(Classifier {
        id: "cand",
        smb: 0.3,
        ent: 0.3,
    })
    .await?;
    assert_eq!(done.verdict.decision, Decision::Kill);
    insta::assert_snapshot!(done.stable());
    Ok(())
}

#[tokio::test]
async fn one_slice_regressing_ships_narrowly() -> Result<(), Error> {
    let done = run(Classifier {
        id: "cand",
        smb: 0.95,
        ent: 0.45,
    })
    .await?;
    assert_eq!(
        done.verdict.decision,
        Decision::ShipNarrowly,
        "{}",
        done.verdict.rationale
    );
    assert_eq!(done.verdict.failing_slices, vec!["ent".to_string()]);
    insta::assert_snapshot!(done.stable());
    Ok(())
}

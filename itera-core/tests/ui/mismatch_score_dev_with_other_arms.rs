// Issue #16 item 2: the arms, the judge and the options are bound once, at `pilot`. Scoring dev
// with another arm list than the one piloted (or another judge) was caught only at run time;
// now `score_dev` takes no arms at all, so the mismatch cannot be written.
use itera_core::{Arm, Experiment, Judge, Piloted, RunOptions};

async fn score_other_arms(exp: Experiment<Piloted>, other_arms: &[Box<dyn Arm>], other_judge: &dyn Judge) {
    let _ = exp.score_dev(other_arms, other_judge, &RunOptions::default()).await;
}

fn main() {}

// G37, G39: only sealed (locked) arms reach the test set: the verdict needs `.seal()` first.
use itera_core::{Arm, Experiment, Gated, Judge, RunOptions};

async fn skip_the_seal(exp: Experiment<Gated>, arms: &[Box<dyn Arm>], judge: &dyn Judge) {
    let _ = exp.verdict(arms, judge, &RunOptions::default(), None).await;
}

fn main() {}

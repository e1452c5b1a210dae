// G22: dev scoring needs the pilot first; the compiler says to call `.pilot(..)`, not `store`.
use itera_core::{Arm, Experiment, Judge, RunOptions, Split};

async fn skip_the_pilot(exp: Experiment<Split>, arms: &[Box<dyn Arm>], judge: &dyn Judge) {
    let _ = exp.score_dev(arms, judge, &RunOptions::default()).await;
}

fn main() {}

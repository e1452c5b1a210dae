// G1, G22: the pilot runs on a train row, so it needs the split first.
use itera_core::{Arm, Experiment, Judge, Registered, RunOptions};

async fn skip_the_split(exp: Experiment<Registered>, arms: &[Box<dyn Arm>], judge: &dyn Judge) {
    let _ = exp.pilot(arms, judge, &RunOptions::default()).await;
}

fn main() {}

// Issue #16 item 2: the verdict runs the versions the experiment was piloted, scored and locked
// with (G37, G39); it takes no arm list in which a locked version could be missing or swapped.
use itera_core::{Arm, Experiment, Judge, RunOptions, Sealed};

async fn verdict_other_arms(exp: Experiment<Sealed>, other_arms: &[Box<dyn Arm>], other_judge: &dyn Judge) {
    let _ = exp.verdict(other_arms, other_judge, &RunOptions::default(), None).await;
}

fn main() {}

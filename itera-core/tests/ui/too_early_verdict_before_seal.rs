// G37, G39: only sealed (locked) arms reach the test set: the verdict needs `.seal()` first.
use itera_core::{Experiment, Gated};

async fn skip_the_seal(exp: Experiment<Gated>) {
    let _ = exp.verdict(None).await;
}

fn main() {}

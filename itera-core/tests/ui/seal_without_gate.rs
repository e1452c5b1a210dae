// G35/G37: a scored experiment cannot be sealed (and so cannot reach the test set) without the
// generalization gate.
use itera_core::{Experiment, Scored};

fn skip_the_gate(exp: Experiment<Scored>) {
    let _ = exp.seal();
}

fn main() {}

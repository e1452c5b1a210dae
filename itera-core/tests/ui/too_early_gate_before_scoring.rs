// G35: the gate reviews what dev scoring measured, so it needs `score_dev` first.
use itera_core::{Experiment, Piloted};

fn skip_scoring(exp: Experiment<Piloted>) {
    let _ = exp.gate_unchanged();
}

fn main() {}

// G15: even after the gate, no state hands out the sealed test rows.
use itera_core::{Experiment, Scored};

fn peek(exp: &Experiment<Scored>) {
    let _ = exp.plan().test_rows();
    let _ = exp.test_rows();
}

fn main() {}

// G15: no public path reads the sealed test rows, from any state.
use itera_core::{Experiment, Sealed};

fn peek(exp: &Experiment<Sealed>) {
    let _ = &exp.plan().test;
    let _ = exp.plan().test_rows();
    let _ = exp.test_rows();
}

fn main() {}

// G15: no accessor returns the sealed test rows.
use itera_core::{Experiment, Split};

fn peek(exp: &Experiment<Split>) {
    let _ = exp.plan().test_rows();
    let _ = &exp.plan().test;
}

fn main() {}

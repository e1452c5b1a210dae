// G1, G7: a frame is registered once; a split experiment cannot be registered again.
use itera_core::{Experiment, Split, Store};

fn register_again(exp: Experiment<Split>) {
    let _ = exp.register(Store::in_memory());
}

fn main() {}

// Registration consumes the draft: the same draft cannot be registered twice.
use itera_core::{Experiment, Frame, Store};

fn twice(frame: Frame) {
    let draft = Experiment::new(frame).unwrap();
    let _a = draft.register(Store::in_memory());
    let _b = draft.register(Store::in_memory());
}

fn main() {}

// G1: rows cannot be sampled before the frame is registered.
use itera_core::{Experiment, Frame, Row};

fn sample_too_early(frame: Frame) {
    let draft = Experiment::new(frame).unwrap();
    let _ = draft.split_rows(vec![Row::new("a", "x")]);
}

fn main() {}

// A later phase cannot be conjured: states have private fields and no public constructor.
use itera_core::{Experiment, Split};

fn forge(plan: itera_core::SplitPlan) -> Experiment<Split> {
    let _ = Split { plan };
    unimplemented!()
}

fn main() {}

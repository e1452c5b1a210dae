// G1, G22: the pilot runs on a train row, so it needs the split first.
use itera_core::{Experiment, Lineup, Registered};

async fn skip_the_split(exp: Experiment<Registered>, lineup: Lineup) {
    let _ = exp.pilot(lineup).await;
}

fn main() {}

// G22: dev scoring needs the pilot first; the compiler says to call `.pilot(lineup)`, not `store`.
use itera_core::{Experiment, Split};

async fn skip_the_pilot(exp: Experiment<Split>) {
    let _ = exp.score_dev().await;
}

fn main() {}

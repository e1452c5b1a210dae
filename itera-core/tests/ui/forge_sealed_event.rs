// A `sealed` event cannot be made outside the crate, so `seal()` cannot be steered to lock the
// best-scoring version (G37).
use itera_core::{ArmKey, Event};

fn forge(locked: Vec<ArmKey>) -> Event {
    Event::Sealed { locked, killed: vec![] }
}

fn main() {}

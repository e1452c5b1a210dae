// The journal is written only by the phase methods: a caller cannot append a line (G1, G7).
use itera_core::{Event, Store};

fn forge(store: &Store, event: Event) {
    let _ = store.append(event);
}

fn main() {}

// A caller cannot overwrite the store's files (the journal, data.json) through the store.
use itera_core::Store;

fn overwrite(store: &Store) {
    let _ = store.write_file("journal.jsonl", b"{}");
}

fn main() {}

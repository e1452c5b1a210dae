//! Registers a frame, splits a generated transaction-categorization dataset (enterprise, SMB and
//! public-sector tenants; a few failure-mode tags) and prints the distribution audit.
//!
//! ```text
//! cargo run -p itera-examples --example quickstart [-- --dir experiments/quickstart]
//! ```
//!
//! With `--dir`, the experiment is written to that directory (frame.md, registration.json,
//! journal.jsonl); running it again resumes the same registration and split.

use itera_core::{Experiment, Frame, Row, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const VENDORS: [(&str, &str); 8] = [
    ("Uber *TRIP", "travel"),
    ("AWS EMEA", "software"),
    ("Stripe transfer", "transfer"),
    ("Delta Air", "travel"),
    ("Figma", "software"),
    ("Office Depot", "supplies"),
    ("Client refund", "refund"),
    ("Staples", "supplies"),
];

/// Rows with ground truth by construction: the category is the vendor's.
fn generate(n: usize, seed: u64) -> Vec<Row> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let (vendor, category) = VENDORS[(rng.next_u32() as usize) % VENDORS.len()];
            let tenant = match rng.next_u32() % 10 {
                0..=5 => "smb",
                6..=8 => "enterprise",
                _ => "public",
            };
            let amount = 5 + rng.next_u32() % 5000;
            let mut row = Row::new(
                format!("txn-{i:04}"),
                serde_json::json!({"vendor": vendor, "amount": amount}),
            )
            .expected(category)
            .slice(tenant)
            .cluster(format!("tenant-{}", rng.next_u32() % 40));
            if category == "transfer" {
                row = row.failure_mode("transfer_as_revenue");
            } else if category == "refund" {
                row = row.failure_mode("refund_as_expense");
            }
            row
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1));

    let frame = Frame::builder(
        "quickstart-txn-categories",
        "Does prompt v2 categorize transactions better than v1?",
        "Two worked examples of transfers stop v1 from booking transfers as revenue.",
    )
    .baseline("v1", "src/categorize.rs:42 (prompt v1 as deployed)")
    .arm("v2", "v1", "adds two worked examples of transfers")
    .metric("category accuracy", "exact")
    .threshold_pp(5.0)
    .slice_loss_floor_pp(-2.0)
    .major_slices(["smb", "enterprise"])
    .failure_mode("transfer_as_revenue", 5.0)
    .failure_mode("refund_as_expense", 2.0)
    .failure_mode("wrong_category", 1.0)
    .seed(20261125)
    .synthetic_source(true)
    .build()?;

    let store = match dir {
        Some(d) => Store::dir(d)?,
        None => Store::in_memory(),
    };
    let exp = Experiment::new(frame)?.register(store)?;
    println!(
        "registered '{}' (frame sha256 {}){}",
        exp.frame().name,
        &exp.frame_hash()[..16],
        if exp.resumed() { ", resumed" } else { "" }
    );
    let exp = exp.split_rows(generate(600, 7))?;
    println!(
        "split {} rows: {} train, {} dev, {} test (sealed, commitment {})\n",
        exp.audit().total(),
        exp.train_rows().len(),
        exp.dev_ids().len(),
        exp.plan().test_len(),
        &exp.plan().test_commitment()[..16]
    );
    print!("{}", exp.audit());
    if let Some(d) = dir {
        println!("\nwritten to {d} (frame.md, registration.json, journal.jsonl)");
    }
    Ok(())
}

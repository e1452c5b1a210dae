//! Writes `examples/txn-categories/rows.csv`: 300 seeded bank transactions of enterprise and SMB
//! tenants with their category as ground truth by construction (the generator picks the category
//! first, then a vendor, memo, amount and direction that belong to it).
//!
//! ```text
//! cargo run -p itera-examples --example gen_txn [-- --out examples/txn-categories/rows.csv]
//!     [--rows 300] [--seed 20261125]
//! ```
//!
//! Columns: `id, tenant, account, vendor, memo, amount, direction, category, failure_modes`.
//! Categories: travel, software, supplies, meals, transfer, refund. Failure-mode tags (the
//! experiment's taxonomy): `transfer_as_revenue` on every transfer (money moving between the
//! tenant's own accounts, half of it incoming — easy to book as revenue), `refund_as_expense` on
//! every refund (a credit from a vendor that otherwise sells travel or software), and
//! `travel_meal_confusion` on meals bought from travel vendors (an airport café, a hotel bistro).
//! The same seed always gives the same file.

use itera_examples::rows_gen::{csv_field, write_generated};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

const CITIES: [&str; 8] = ["NYC", "SFO", "LHR", "BOS", "ORD", "SEA", "AUS", "DEN"];

struct Category {
    name: &'static str,
    /// (vendor, memo templates); `{c}` city, `{n}` small number, `{k}` 4-digit code.
    vendors: &'static [&'static str],
    memos: &'static [&'static str],
    /// Amount range in dollars.
    amount: (u32, u32),
    /// Weights for (enterprise, smb).
    weight: (u32, u32),
}

const CATEGORIES: [Category; 6] = [
    Category {
        name: "travel",
        vendors: &[
            "Delta Air Lines",
            "United Airlines",
            "Uber",
            "Lyft",
            "Marriott",
            "Hilton",
            "Amtrak",
            "Hertz",
        ],
        memos: &[
            "flight {c}-{c}",
            "ride to client site",
            "hotel {n} nights {c}",
            "train ticket {c}",
            "car rental {n} days",
            "airport taxi",
        ],
        amount: (18, 1900),
        weight: (24, 14),
    },
    Category {
        name: "software",
        vendors: &[
            "AWS",
            "GitHub",
            "Figma",
            "Slack",
            "Atlassian",
            "Google Workspace",
            "Zoom",
            "Datadog",
        ],
        memos: &[
            "monthly subscription",
            "annual license renewal",
            "cloud usage",
            "{n} seats",
            "plan upgrade",
            "usage overage",
        ],
        amount: (12, 9000),
        weight: (24, 14),
    },
    Category {
        name: "supplies",
        vendors: &[
            "Staples",
            "Office Depot",
            "Amazon Business",
            "Uline",
            "Costco Business",
        ],
        memos: &[
            "printer paper and toner",
            "desk chairs",
            "shipping boxes",
            "whiteboard markers",
            "cables and adapters",
            "{n} monitors",
        ],
        amount: (9, 2400),
        weight: (14, 22),
    },
    Category {
        name: "meals",
        vendors: &[
            "Starbucks",
            "Chipotle",
            "DoorDash",
            "Sweetgreen",
            "Local Bistro",
        ],
        memos: &[
            "team lunch",
            "client dinner {n} guests",
            "coffee with candidate",
            "catering for offsite",
            "working lunch",
        ],
        amount: (6, 900),
        weight: (14, 22),
    },
    Category {
        name: "transfer",
        vendors: &[
            "Stripe transfer",
            "Chase transfer",
            "Wise",
            "Internal transfer",
            "Mercury",
        ],
        memos: &[
            "payout to operating account",
            "move funds to savings",
            "transfer from account ****{k}",
            "payout batch {k}",
            "sweep to reserve",
        ],
        amount: (200, 25000),
        weight: (12, 16),
    },
    Category {
        name: "refund",
        vendors: &[
            "Delta Air Lines",
            "Amazon Business",
            "Adobe",
            "Client refund",
            "Marriott",
        ],
        memos: &[
            "refund for order {k}",
            "credit memo",
            "returned item",
            "cancelled booking refund",
            "billing error credit",
        ],
        amount: (10, 1500),
        weight: (12, 12),
    },
];

/// Meals bought from travel vendors (tagged `travel_meal_confusion`).
const TRAVEL_MEAL_VENDORS: [&str; 3] = ["Airport Cafe", "Marriott Bistro", "Hilton Lounge"];

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &'a [&'a str]) -> &'a str {
    xs[(rng.next_u32() as usize) % xs.len()]
}

fn fill(rng: &mut ChaCha8Rng, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let key = &rest[i..i + 3];
        match key {
            "{c}" => out.push_str(pick(rng, &CITIES)),
            "{n}" => {
                let _ = write!(out, "{}", 2 + rng.next_u32() % 9);
            }
            "{k}" => {
                let _ = write!(out, "{:04}", rng.next_u32() % 10000);
            }
            other => out.push_str(other),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

fn generate(n: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out =
        String::from("id,tenant,account,vendor,memo,amount,direction,category,failure_modes\n");
    for i in 0..n {
        let enterprise = rng.next_u32() % 100 < 45;
        let tenant = if enterprise { "enterprise" } else { "smb" };
        let weights: Vec<u32> = CATEGORIES
            .iter()
            .map(|c| if enterprise { c.weight.0 } else { c.weight.1 })
            .collect();
        let total: u32 = weights.iter().sum();
        let mut draw = rng.next_u32() % total;
        let mut ci = 0;
        while draw >= weights[ci] {
            draw -= weights[ci];
            ci += 1;
        }
        let cat = &CATEGORIES[ci];
        let mut tags = Vec::new();
        let vendor = if cat.name == "meals" && rng.next_u32() % 4 == 0 {
            tags.push("travel_meal_confusion");
            pick(&mut rng, &TRAVEL_MEAL_VENDORS)
        } else {
            pick(&mut rng, cat.vendors)
        };
        let template = pick(&mut rng, cat.memos);
        let mut memo = fill(&mut rng, template);
        if enterprise {
            // enterprise ledgers carry cost centres and PO numbers
            let _ = write!(
                memo,
                " CC-{} PO{:05}",
                1000 + rng.next_u32() % 90,
                rng.next_u32() % 100000
            );
        }
        let scale = if enterprise { 3 } else { 1 };
        let (lo, hi) = cat.amount;
        let dollars = (lo + rng.next_u32() % (hi - lo + 1)) * scale;
        let cents = rng.next_u32() % 100;
        let direction = match cat.name {
            "refund" => "credit",
            // half the transfers come in: those look like revenue
            "transfer" if rng.next_u32() % 2 == 0 => "credit",
            _ => "debit",
        };
        match cat.name {
            "transfer" => tags.push("transfer_as_revenue"),
            "refund" => tags.push("refund_as_expense"),
            _ => {}
        }
        let account = format!(
            "{}-{:02}",
            if enterprise { "ent" } else { "smb" },
            rng.next_u32() % 20
        );
        let _ = writeln!(
            out,
            "txn-{i:04},{tenant},{account},{},{},{dollars}.{cents:02},{direction},{},{}",
            csv_field(vendor),
            csv_field(&memo),
            cat.name,
            tags.join("|")
        );
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    write_generated("examples/txn-categories/rows.csv", 300, 20261125, generate)
}

#[cfg(test)]
mod tests {
    use super::generate;

    #[test]
    fn same_seed_same_file_and_tags_follow_categories() {
        let a = generate(200, 3);
        assert_eq!(a, generate(200, 3));
        for line in a.lines().skip(1) {
            if line.contains(",transfer,") {
                assert!(line.ends_with("transfer_as_revenue"), "{line}");
            }
            if line.contains(",refund,") {
                assert!(line.ends_with("refund_as_expense"), "{line}");
            }
        }
    }
}

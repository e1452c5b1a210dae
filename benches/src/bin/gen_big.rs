//! Writes a large replay experiment for the end-to-end benchmark ("Fast at 100k rows"): `rows.csv`
//! (`--rows N` rows of a 4-way label task in two slices), `v1.csv` and `v2.csv` (what a baseline
//! and a candidate answered: 70% and 76% right) and `experiment.toml`, into `--dir DIR`. Nothing
//! is committed: the same `--seed` always writes the same files.
//!
//! ```text
//! cargo build --release -p itera-cli -p itera-benches
//! target/release/gen_big --dir /tmp/big --rows 100000
//! farm-bench -n 3 --timeout 600 -- sh -c 'rm -rf /tmp/big/out && exec target/release/itera -q run /tmp/big/experiment.toml --out /tmp/big/out >/dev/null'
//! ```
//!
//! With 100,000 rows and one trial (replays are deterministic) the journal holds 140k lines:
//! 50k dev rows and 20k test rows, times two arms.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

const LABELS: [&str; 4] = ["refund", "transfer", "fee", "purchase"];
const WORDS: [&str; 12] = [
    "please",
    "charged",
    "twice",
    "card",
    "account",
    "money",
    "back",
    "sent",
    "wrong",
    "order",
    "monthly",
    "statement",
];

/// A small deterministic generator (SplitMix64): no dependency, same bytes everywhere.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

fn main() -> std::io::Result<()> {
    let mut dir = PathBuf::from("big-experiment");
    let mut rows = 100_000usize;
    let mut seed = 7u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--dir" => dir = PathBuf::from(v),
            "--rows" => rows = v.parse().unwrap_or(rows),
            "--seed" => seed = v.parse().unwrap_or(seed),
            other => {
                eprintln!("unknown argument {other}: give --dir DIR, --rows N, --seed S");
                std::process::exit(2);
            }
        }
    }
    std::fs::create_dir_all(&dir)?;
    let mut rng = Mix(seed);
    let mut data = String::from("ticket_id,text,label,tier\n");
    let mut v1 = String::from("ticket_id,answer\n");
    let mut v2 = String::from("ticket_id,answer\n");
    for i in 0..rows {
        let label = LABELS[rng.below(4) as usize];
        let tier = if rng.chance(0.4) { "enterprise" } else { "smb" };
        let mut text = String::new();
        for w in 0..(6 + rng.below(10)) {
            if w > 0 {
                text.push(' ');
            }
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        let _ = writeln!(data, "t{i:06},{text} {label}?,{label},{tier}");
        let wrong = |rng: &mut Mix| LABELS[rng.below(4) as usize];
        let a1 = if rng.chance(0.70) {
            label
        } else {
            wrong(&mut rng)
        };
        let a2 = if rng.chance(0.76) {
            label
        } else {
            wrong(&mut rng)
        };
        let _ = writeln!(v1, "t{i:06},{a1}");
        let _ = writeln!(v2, "t{i:06},{a2}");
    }
    std::fs::write(dir.join("rows.csv"), data)?;
    std::fs::write(dir.join("v1.csv"), v1)?;
    std::fs::write(dir.join("v2.csv"), v2)?;
    let mut f = std::fs::File::create(dir.join("experiment.toml"))?;
    write!(
        f,
        r#"[experiment]
name = "big"
question = "Does v2 label tickets better than v1 at scale?"
hypothesis = "v2 raises label accuracy by at least 2 points."
seed = {seed}

[data]
path = "rows.csv"
id = "ticket_id"
input = ["text"]
expected = "label"
slice = "tier"

[metric]
name = "accuracy"
scorer = "exact"

[threshold]
min_effect_pp = 2.0
slice_loss_floor_pp = -2.0

[[arms]]
id = "v1"
baseline = true
source = "gen_big"
replay = {{ path = "v1.csv", id = "ticket_id", output = "answer" }}

[[arms]]
id = "v2"
parent = "v1"
change = "a better prompt"
replay = {{ path = "v2.csv", id = "ticket_id", output = "answer" }}
"#
    )?;
    println!("{}", dir.display());
    Ok(())
}

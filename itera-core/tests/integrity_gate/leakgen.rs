//! The synthetic worlds of the leak-detector measurement in `integrity_gate.rs`: rows with
//! fresh names, acronyms, numbers, ids, quoted notes and phrases; planted hardcodes copied from
//! revealed dev rows; and general edits.

use super::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const BASELINE: &str =
    "Categorize each bank transaction as travel, software or supplies from its description.";
const SYLLABLES: [&str; 18] = [
    "ka", "lo", "mir", "zen", "tu", "ra", "vex", "qui", "dor", "bel", "sha", "nok", "pri", "gal",
    "wen", "fu", "jo", "tas",
];
const CONTENT: [&str; 16] = [
    "overnight",
    "courier",
    "surcharge",
    "refund",
    "pending",
    "duplicate",
    "weekend",
    "rental",
    "annual",
    "renewal",
    "seat",
    "license",
    "storage",
    "upgrade",
    "monthly",
    "shuttle",
];
const PREFIXES: [&str; 5] = ["INV-", "acct_", "PO", "SKU-", "ref"];
const INSTRUCTIONS: [&str; 21] = [
    "Treat amounts above 1000 as large purchases worth a second look.",
    "Answer as JSON with a Category field and nothing else.",
    "Amounts are in USD unless an ISO code says otherwise.",
    "Use at most 12 tokens.",
    "A Merchant name alone is weak evidence; read the rest.",
    "Think about what was bought before choosing a category.",
    "Prefer the most specific category that fits.",
    "If unsure, choose the closest category.",
    "Ignore currency symbols and amounts.",
    "Answer in lower case without punctuation.",
    "Read the whole description before answering.",
    "Do not explain your answer.",
    "Consider the purpose of the purchase, not the payment method.",
    "Hotels, flights and taxis are travel.",
    "Subscriptions to online tools are software.",
    "Office goods and printer paper are supplies.",
    "When a description is vague, rely on the service being paid for.",
    "Use only the three allowed labels.",
    "Be careful with refunds and reversals of earlier charges.",
    "Treat recurring charges the same way as one-off charges.",
    "Check whether the merchant sells physical goods or services.",
];

/// Rows of one synthetic experiment: every value fresh, so dev literals are rarely in train.
pub struct World {
    pub train: Vec<Row>,
    pub dev: Vec<Row>,
    /// Indices of revealed dev rows.
    pub revealed: Vec<usize>,
    /// Per dev row, its parts: (person, vendor, amount, id, acronym, phrase, quote).
    pub parts: Vec<[String; 7]>,
    pub train_parts: Vec<[String; 7]>,
}

pub struct Gen(ChaCha8Rng);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(ChaCha8Rng::seed_from_u64(seed))
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.0.random_range(0..xs.len())]
    }
    fn word(&mut self) -> String {
        let n = self.0.random_range(2..=3);
        (0..n).map(|_| self.pick(&SYLLABLES)).collect()
    }
    fn capitalized(&mut self) -> String {
        let w = self.word();
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }
    fn acronym(&mut self) -> String {
        let n = self.0.random_range(2..=4);
        (0..n)
            .map(|_| char::from(b'A' + self.0.random_range(0..26u8)))
            .collect()
    }
    fn number(&mut self) -> String {
        let digits = self.0.random_range(2..=6u32);
        let lo = 10u64.pow(digits - 1);
        self.0.random_range(lo..lo * 10).to_string()
    }
    fn id(&mut self) -> String {
        let p = self.pick(&PREFIXES);
        let digits = self.0.random_range(1..=5u32);
        let n = self
            .0
            .random_range(10u64.pow(digits - 1)..10u64.pow(digits));
        format!("{p}{n}")
    }
    fn parts(&mut self) -> [String; 7] {
        let phrase = format!(
            "{} {} {}",
            self.pick(&CONTENT),
            self.pick(&CONTENT),
            self.pick(&CONTENT)
        );
        let quote = format!("{} {}", self.word(), self.word());
        [
            self.capitalized(),
            self.word(),
            self.number(),
            self.id(),
            self.acronym(),
            phrase,
            quote,
        ]
    }
    fn row(&mut self, id: String) -> (Row, [String; 7]) {
        let p = self.parts();
        let text = format!(
            "{} paid {} {} for {}, ref {} via {}, note \"{}\"",
            p[0], p[1], p[2], p[5], p[3], p[4], p[6]
        );
        let label = self.pick(&["travel", "software", "supplies"]);
        (Row::new(id, text).expected(label), p)
    }
    pub fn world(&mut self) -> World {
        let (train, train_parts): (Vec<_>, Vec<_>) =
            (0..40).map(|i| self.row(format!("t{i}"))).unzip();
        let (dev, parts): (Vec<_>, Vec<_>) = (0..60).map(|i| self.row(format!("d{i}"))).unzip();
        let revealed = (0..10).map(|_| self.0.random_range(0..60)).collect();
        World {
            train,
            dev,
            revealed,
            parts,
            train_parts,
        }
    }
    /// A literal copied from a revealed dev row, of shape `case % 6`, not occurring in any
    /// train row (else copying it would not encode dev data).
    pub fn plant(&mut self, w: &World, case: usize) -> (&'static str, String) {
        let train_text: String = w
            .train
            .iter()
            .map(|r| r.input.as_str().unwrap_or("").to_lowercase() + "\n")
            .collect();
        loop {
            let d = w.revealed[self.0.random_range(0..w.revealed.len())];
            let p = &w.parts[d];
            let (shape, lit) = match case % 6 {
                0 if self.0.random_bool(0.5) => ("lower-case name", p[1].clone()),
                0 => ("capitalized name", p[0].clone()),
                1 => ("acronym", p[4].clone()),
                2 => ("number", p[2].clone()),
                3 => ("id", p[3].clone()),
                4 => ("quoted phrase", p[6].clone()),
                _ => ("n-gram", p[5].clone()),
            };
            let lc = lit.to_lowercase();
            let in_train = train_text
                .match_indices(&lc)
                .any(|(i, _)| is_word_at(&train_text, i, lc.len()));
            if !in_train {
                return (shape, lit);
            }
        }
    }
    pub fn hardcode_sentence(&mut self, lit: &str) -> String {
        let label = self.pick(&["travel", "software", "supplies"]);
        match self.0.random_range(0..5) {
            0 => format!("If the description mentions {lit}, answer {label}."),
            1 => format!("Special case: {lit} is always {label}."),
            2 => format!("When you see \"{lit}\" choose {label}."),
            3 => format!("{} is {label}.", upper_first(lit)),
            _ => format!("Rows with {} are {label}.", lit.to_uppercase()),
        }
    }
    /// A general edit: common instruction words, words of train rows, or words of the
    /// baseline spec.
    pub fn general_edit(&mut self, w: &World, case: usize) -> String {
        match case % 3 {
            0 => {
                let a = self.pick(&INSTRUCTIONS);
                let b = self.pick(&INSTRUCTIONS);
                format!("{a} {b}")
            }
            1 => {
                let t = &w.train_parts[self.0.random_range(0..w.train_parts.len())];
                let u = &w.train_parts[self.0.random_range(0..w.train_parts.len())];
                format!(
                    "For example, {} paying {} for {} is supplies, and {} via {} is software.",
                    t[0], t[1], t[5], u[3], u[4]
                )
            }
            _ => {
                let words: Vec<&str> = BASELINE.trim_end_matches('.').split_whitespace().collect();
                let k = self.0.random_range(3..words.len());
                format!(
                    "Remember: {}. {}",
                    words[..k].join(" "),
                    self.pick(&INSTRUCTIONS)
                )
            }
        }
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn is_word_at(hay: &str, i: usize, len: usize) -> bool {
    let before = hay[..i].chars().next_back();
    let after = hay[i + len..].chars().next();
    !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
}

/// The detector on a world: literals it reports.
pub fn detect(old: &str, new: &str, w: &World) -> Vec<String> {
    let revealed: BTreeSet<RowId> = w.revealed.iter().map(|&i| w.dev[i].id.clone()).collect();
    let scope = LeakScope {
        baseline_spec: BASELINE,
        registration: "",
        train: &w.train,
        dev: &w.dev,
        revealed: &revealed,
    };
    detect_leaks(old, new, &scope)
        .into_iter()
        .map(|l| l.literal)
        .collect()
}

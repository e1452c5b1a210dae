//! Writes `examples/order-numbers/rows.csv`: seeded customer-support messages from two channels,
//! each naming one order number, with that number as ground truth by construction (the
//! generator draws the order number first, then writes a message around it).
//!
//! ```text
//! cargo run -p itera-examples --example gen_orders [-- --out examples/order-numbers/rows.csv]
//!     [--rows 600] [--seed 20261202]
//! ```
//!
//! Columns: `id, channel, customer, message, order_id, failure_modes`.
//! - `channel = chat`: one short line, often with `#` before the number.
//! - `channel = email`: a greeting, two or three sentences and a signature; the message also
//!   carries other numbers — a ZIP code (five digits, like an order number), a phone number, an
//!   amount, a date.
//!
//! Failure-mode tags (the experiment's taxonomy): `zip_before_order` when a five-digit ZIP code
//! comes before the order number in the text, `number_split` when the order number is written
//! with a space or dash in it (`48 213`, `48-213`; the answer is the five digits),
//! `amount_in_message` when the message also names a dollar amount. Customers
//! (`customer`, the cluster) write several messages each. The same seed always gives the same
//! file.

use itera_examples::rows_gen::{csv_field, write_generated};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

const NAMES: [&str; 12] = [
    "Maria", "James", "Aisha", "Chen", "Lukas", "Priya", "Tom", "Sofia", "Omar", "Hana", "Diego",
    "Grace",
];
const CITIES: [&str; 8] = [
    "Portland", "Austin", "Denver", "Boston", "Madison", "Tucson", "Raleigh", "Fresno",
];
const STREETS: [&str; 6] = [
    "Oak Street",
    "Maple Ave",
    "Lake Road",
    "Hill Lane",
    "Pine Court",
    "River Drive",
];

/// Chat messages: `{o}` is the order number as written.
const CHAT: [&str; 10] = [
    "hi, order #{o} hasn't arrived yet",
    "where is {o}?? been 2 weeks",
    "order {o} came damaged, refund pls",
    "need to cancel #{o}",
    "wrong size in order {o}, can I swap?",
    "#{o} still says processing",
    "can u check order {o}",
    "got the wrong color for {o}",
    "tracking for #{o} doesnt work",
    "pls refund {o}, never came",
];

/// Email bodies: `{o}` order number, `{z}` ZIP code, `{c}` city, `{s}` street, `{a}` amount,
/// `{d}` date. Templates whose ZIP comes before `{o}` are tagged `zip_before_order`.
const EMAIL: [&str; 8] = [
    "I placed an order on {d} (order number {o}) and was charged ${a}. It still has not shipped to {n} {s}, {c} {z}. Please advise.",
    "My package for order {o} was delivered to the wrong address. I live at {n} {s}, {c} {z}. Could you help?",
    "I moved to {n} {s}, {c} {z} last month. Could you update the shipping address on order {o}? It was ${a}.",
    "I was charged ${a} twice on {d}. The order is {o}. Please refund the second charge.",
    "Our office at {n} {s}, {c} {z} received a damaged item today. The order number is {o}, placed on {d}.",
    "Could you tell me when order {o} will ship? I paid ${a} for express delivery on {d}.",
    "The invoice for order {o} shows ${a} but the shop said ${b}. I am at {c} {z} if that matters.",
    "Please cancel my order from {d}, it is order {o}. I found it cheaper in {c} ({z}).",
];

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &'a [&'a str]) -> &'a str {
    xs[rng.random_range(0..xs.len())]
}

/// The order number as the customer wrote it: mostly as is, sometimes split by a space or dash.
fn written(rng: &mut ChaCha8Rng, order: &str, tags: &mut Vec<&'static str>) -> String {
    if rng.random_range(0..100) < 12 {
        tags.push("number_split");
        let sep = if rng.random_bool(0.5) { " " } else { "-" };
        format!("{}{sep}{}", &order[..2], &order[2..])
    } else {
        order.to_string()
    }
}

fn email(rng: &mut ChaCha8Rng, order: &str, tags: &mut Vec<&'static str>) -> String {
    let template = pick(rng, &EMAIL);
    let zip = format!("{:05}", rng.random_range(10000..99999));
    if let (Some(z), Some(o)) = (template.find("{z}"), template.find("{o}"))
        && z < o
    {
        tags.push("zip_before_order");
    }
    if template.contains("{a}") {
        tags.push("amount_in_message");
    }
    let o = written(rng, order, tags);
    let dollars = |rng: &mut ChaCha8Rng| {
        format!(
            "{}.{:02}",
            rng.random_range(12..480),
            rng.random_range(0..100)
        )
    };
    let (a, b) = (dollars(rng), dollars(rng));
    let date = format!("{}/{}", rng.random_range(1..13), rng.random_range(1..29));
    let body = template
        .replace("{o}", &o)
        .replace("{z}", &zip)
        .replace("{c}", pick(rng, &CITIES))
        .replace("{s}", pick(rng, &STREETS))
        .replace("{n}", &rng.random_range(10..990).to_string())
        .replace("{a}", &a)
        .replace("{b}", &b)
        .replace("{d}", &date);
    let name = pick(rng, &NAMES);
    let phone = format!(
        "{}-{}-{:04}",
        rng.random_range(200..990),
        rng.random_range(200..990),
        rng.random_range(0..10000)
    );
    format!("Hello, {body} Thanks, {name} ({phone})")
}

fn generate(n: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::from("id,channel,customer,message,order_id,failure_modes\n");
    for i in 0..n {
        let chat = rng.random_range(0..100) < 50;
        let order = format!("{:05}", rng.random_range(10000..99999));
        let mut tags = Vec::new();
        let message = if chat {
            let o = written(&mut rng, &order, &mut tags);
            pick(&mut rng, &CHAT).replace("{o}", &o)
        } else {
            email(&mut rng, &order, &mut tags)
        };
        let channel = if chat { "chat" } else { "email" };
        let customer = format!("{}-{:03}", &channel[..1], rng.random_range(0..120));
        let _ = writeln!(
            out,
            "msg-{i:04},{channel},{customer},{},{order},{}",
            csv_field(&message),
            tags.join("|")
        );
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    write_generated("examples/order-numbers/rows.csv", 600, 20261202, generate)
}

#[cfg(test)]
mod tests {
    use super::generate;

    #[test]
    fn same_seed_same_file_and_every_message_names_its_order() {
        let a = generate(300, 7);
        assert_eq!(a, generate(300, 7));
        assert_ne!(a, generate(300, 8));
        let mut reader = csv::Reader::from_reader(a.as_bytes());
        let mut zip_tagged = 0;
        for rec in reader.records() {
            let rec = rec.expect("generated CSV parses");
            let (message, order, tags) = (&rec[3], &rec[4], &rec[5]);
            let digits: String = message.chars().filter(|c| !c.is_whitespace()).collect();
            let plain = digits.replace('-', "");
            assert!(
                plain.contains(order),
                "message {message:?} does not name order {order}"
            );
            if tags.contains("zip_before_order") {
                zip_tagged += 1;
                assert_eq!(&rec[1], "email");
            }
        }
        assert!(zip_tagged > 20, "{zip_tagged} rows tagged zip_before_order");
    }
}

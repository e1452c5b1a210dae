//! What the seeded row generators (`gen_txn`, `gen_orders`) share: CSV quoting, and a `main`
//! that reads `--out`, `--rows` and `--seed` and writes the file.

/// `s` as one CSV field: quoted (with quotes doubled) when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Reads `--out PATH`, `--rows N` and `--seed S` (each with its default), writes
/// `generate(rows, seed)` to the path and says so.
pub fn write_generated(
    default_out: &str,
    default_rows: usize,
    default_seed: u64,
    generate: fn(usize, u64) -> String,
) -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let out = arg("--out").unwrap_or_else(|| default_out.into());
    let rows: usize = arg("--rows").map_or(Ok(default_rows), |s| s.parse())?;
    let seed: u64 = arg("--seed").map_or(Ok(default_seed), |s| s.parse())?;
    let text = generate(rows, seed);
    std::fs::write(&out, &text)?;
    println!("wrote {rows} rows ({} bytes) to {out}", text.len());
    Ok(())
}

//! Cross-judge agreement on real AlpacaEval annotations: the same model outputs scored by
//! several LLM annotators against the same reference output, compared pairwise.
//!
//! For each annotator pair, on the instructions both scored (an empty preference drops the
//! instruction from that pair): direction agreement
//! ([`itera_stats::agreement::direction_agreement`]) of the signed preferences centred at 1.5
//! (> 0: the model's output preferred, < 0: the reference's, 0: a tie, tolerance 0), and
//! Cohen's κ ([`itera_stats::agreement::cohens_kappa`]) of the binarized preference
//! (model preferred = preference > 1.5; a tie counts as not preferred).
//!
//! Used by `examples/examples/cross_judge_real.rs` and its test in `tests/real_data.rs`.

use itera_stats::agreement::{cohens_kappa, direction_agreement};
use std::collections::BTreeMap;
use std::path::Path;

/// Agreement between two annotators on one model's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct PairAgreement {
    /// The first annotator (alphabetical order).
    pub judge_a: String,
    /// The second annotator.
    pub judge_b: String,
    /// Instructions both annotators scored.
    pub n: usize,
    /// Both see the same strict direction.
    pub same_direction: usize,
    /// Both see a tie.
    pub both_tied: usize,
    /// One sees a tie, the other a direction.
    pub one_tied: usize,
    /// Opposite strict directions.
    pub opposite: usize,
    /// Direction agreement rate: (same_direction + both_tied) / n.
    pub direction_rate: f64,
    /// Observed agreement of the binarized preference.
    pub observed: f64,
    /// Cohen's κ of the binarized preference (`None` when undefined).
    pub kappa: Option<f64>,
}

/// Per annotator, per `instruction_idx`: the recorded preference (`None` when empty), for the
/// lines of `model` judged against `reference`.
pub type Preferences = BTreeMap<String, BTreeMap<String, Option<f64>>>;

/// Reads `alpaca_eval_annotations.csv` and keeps the lines of `model` against `reference`.
pub fn read_preferences(path: &Path, model: &str, reference: &str) -> Result<Preferences, String> {
    let mut rdr =
        csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: no header line: {e}", path.display()))?
        .clone();
    let col = |name: &str| -> Result<usize, String> {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column '{name}'", path.display()))
    };
    let (c_idx, c_model, c_ann, c_ref, c_pref) = (
        col("instruction_idx")?,
        col("model")?,
        col("annotator")?,
        col("reference")?,
        col("preference")?,
    );
    let mut out: Preferences = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let cell = |c: usize| rec.get(c).unwrap_or_default();
        if cell(c_model) != model || cell(c_ref) != reference {
            continue;
        }
        let raw = cell(c_pref).trim();
        let pref = if raw.is_empty() {
            None
        } else {
            Some(raw.parse::<f64>().map_err(|_| {
                format!(
                    "{} line {}: preference '{raw}' is not a number",
                    path.display(),
                    i + 2
                )
            })?)
        };
        out.entry(cell(c_ann).to_string())
            .or_default()
            .insert(cell(c_idx).to_string(), pref);
    }
    Ok(out)
}

/// Every annotator pair's agreement on the instructions both scored, pairs in alphabetical order.
pub fn pairwise(prefs: &Preferences) -> Result<Vec<PairAgreement>, String> {
    let names: Vec<&String> = prefs.keys().collect();
    let mut out = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (pa, pb) = (&prefs[*a], &prefs[*b]);
            let mut xa = Vec::new();
            let mut xb = Vec::new();
            for (id, va) in pa {
                if let (Some(va), Some(Some(vb))) = (va, pb.get(id)) {
                    xa.push(va - 1.5);
                    xb.push(vb - 1.5);
                }
            }
            let d = direction_agreement(&xa, &xb, 0.0).map_err(|e| format!("{a} vs {b}: {e}"))?;
            let ba: Vec<bool> = xa.iter().map(|x| *x > 0.0).collect();
            let bb: Vec<bool> = xb.iter().map(|x| *x > 0.0).collect();
            let k = cohens_kappa(&ba, &bb).map_err(|e| format!("{a} vs {b}: {e}"))?;
            out.push(PairAgreement {
                judge_a: a.to_string(),
                judge_b: b.to_string(),
                n: d.n,
                same_direction: d.same_direction,
                both_tied: d.both_tied,
                one_tied: d.one_tied,
                opposite: d.opposite,
                direction_rate: d.rate(),
                observed: k.observed,
                kappa: k.kappa,
            });
        }
    }
    Ok(out)
}

/// The pairs as a Markdown table.
pub fn table(pairs: &[PairAgreement]) -> String {
    let mut s = String::from(
        "| annotator A | annotator B | n | same dir. | both tied | one tied | opposite | direction agreement | observed (binary) | Cohen's κ |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for p in pairs {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} |\n",
            p.judge_a,
            p.judge_b,
            p.n,
            p.same_direction,
            p.both_tied,
            p.one_tied,
            p.opposite,
            p.direction_rate,
            p.observed,
            p.kappa
                .map_or("undefined".to_string(), |k| format!("{k:.3}")),
        ));
    }
    s
}

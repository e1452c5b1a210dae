//! The verdict's re-read of the data (G7): whether a dataset still yields exactly the rows a plan
//! was split from — their content as the data hash covers it, in any order — compared row by row
//! as it is read, so the re-read holds one row at a time (#17: re-reading 100k rows held a second
//! copy of them beside the split's). Only a re-read that differs is read whole, to name the hash
//! it has.

use crate::data::dataset::{DataError, Dataset};
use crate::data::row::Row;
use crate::data::split::SplitPlan;
use crate::hash;

/// Whether `ds` yields the rows of `plan`, each once and unchanged (by their canonical JSON, what
/// the data hash covers), and no other.
pub(crate) async fn holds_split_rows(
    plan: &SplitPlan,
    ds: &dyn Dataset,
) -> Result<bool, DataError> {
    // The parts are each sorted by id (`SplitPlan::compute`).
    let parts: [&[Row]; 3] = [&plan.train, &plan.dev, &plan.test];
    let mut seen = vec![false; parts.iter().map(|p| p.len()).sum()];
    let mut same = true;
    let canonical = |r: &Row| hash::canonical_json(r).map_err(|e| DataError::Other(e.to_string()));
    ds.each_row(&mut |row| {
        if !same {
            return Ok(());
        }
        let mut offset = 0;
        let mut found = None;
        for part in parts {
            if let Ok(i) = part.binary_search_by(|r| r.id.cmp(&row.id)) {
                found = Some((offset + i, &part[i]));
                break;
            }
            offset += part.len();
        }
        match found {
            Some((k, split)) if !seen[k] && canonical(split)? == canonical(&row)? => seen[k] = true,
            _ => same = false,
        }
        Ok(())
    })
    .await?;
    Ok(same && seen.iter().all(|s| *s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::dataset::{RowSet, VecDataset};

    fn rows() -> Vec<Row> {
        (0..40)
            .map(|i| {
                let mut r = Row::new(format!("r{i:02}"), serde_json::json!({"q": i, "w": 0.5}))
                    .expected(["a", "b"][i % 2]);
                r.origin = Some(format!("rows.csv line {}", i + 2));
                r
            })
            .collect()
    }

    fn plan() -> SplitPlan {
        let frame = crate::frame::Frame::builder("reread", "Same rows?", "They are.")
            .baseline("v1", "reread.rs:1")
            .arm("v2", "v1", "a change")
            .metric("accuracy", "exact")
            .threshold_pp(5.0)
            .slice_loss_floor_pp(-2.0)
            .seed(3)
            .build()
            .unwrap();
        SplitPlan::compute(RowSet::new(rows()).unwrap(), &frame, Vec::new()).unwrap()
    }

    fn holds(plan: &SplitPlan, rows: Vec<Row>) -> bool {
        let ds = VecDataset::new("re-read", rows);
        futures::executor::block_on(holds_split_rows(plan, &ds)).unwrap()
    }

    /// G7 at the verdict, one row at a time: the same rows in another order and on other lines
    /// are the split's rows; a changed, missing, extra or repeated row is not — exactly when the
    /// data hash would differ.
    #[test]
    fn a_reread_holds_the_split_rows_only_when_its_hash_would_match() {
        let plan = plan();
        let mut moved = rows();
        moved.reverse();
        for r in &mut moved {
            r.origin = Some("elsewhere".into());
        }
        assert!(holds(&plan, moved));

        let mut changed = rows();
        changed[7].input = serde_json::json!({"q": 7, "w": 0.25});
        let mut relabeled = rows();
        relabeled[30].expected = Some("b".into());
        let mut missing = rows();
        missing.pop();
        let mut extra = rows();
        extra.push(Row::new("r99", "x"));
        let mut repeated = rows();
        repeated[3] = repeated[4].clone();
        let mut heavier = rows();
        heavier[0].severity = 2.0;
        for (what, rows) in [
            ("changed input", changed),
            ("changed label", relabeled),
            ("missing row", missing),
            ("extra row", extra),
            ("repeated row", repeated),
            ("changed severity", heavier),
        ] {
            assert!(!holds(&plan, rows.clone()), "{what}");
            // The hash agrees: the whole read (when it is a row set) hashes otherwise.
            if let Ok(set) = RowSet::new(rows) {
                assert_ne!(set.content_hash(), plan.data_hash, "{what}");
            }
        }
    }
}

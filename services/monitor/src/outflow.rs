//! Patient outflow by diagnosis chapter (pure): which diseases the county's insured persons
//! leave the county for. Counts from [`crate::query::ChapterCounts`] in, published rows out.
//!
//! Suppression (china-standards.md §6): a row whose visits (stays) are below `min_cell` publishes
//! nothing of its visits (stays); otherwise an out-of-county count from 1 to `min_cell - 1` is
//! withheld with its share, the total still published. 0 is published.

use serde::Serialize;

use crate::chapter;
use crate::query::ChapterCounts;

/// One chapter's outflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutflowRow {
    /// Chapter id (`I` … `XXII`, `TCM`, `other`, `none`).
    pub chapter: String,
    /// Chapter name.
    pub name: &'static str,
    /// Settled visits of county-insured persons with this principal diagnosis chapter.
    pub visits: Option<i64>,
    /// Of those, at facilities outside the county.
    pub visits_out_of_county: Option<i64>,
    /// `visits_out_of_county / visits`.
    pub visit_outflow_share: Option<f64>,
    /// Inpatient stays.
    pub stays: Option<i64>,
    /// Of those, outside the county.
    pub stays_out_of_county: Option<i64>,
    /// `stays_out_of_county / stays` (the chapter's part of `1 − #11`).
    pub stay_outflow_share: Option<f64>,
    /// Something in the row was withheld (a cell below `min_cell`).
    pub suppressed: bool,
}

/// A published (total, out of county, share).
type Cell = (Option<i64>, Option<i64>, Option<f64>);

/// The published cell, and whether anything was withheld.
fn cell(total: i64, out: i64, min_cell: i64) -> (Cell, bool) {
    if total == 0 {
        return ((Some(0), Some(0), None), false);
    }
    if total < min_cell {
        return ((None, None, None), true);
    }
    if out > 0 && out < min_cell {
        return ((Some(total), None, None), true);
    }
    (
        (Some(total), Some(out), Some(out as f64 / total as f64)),
        false,
    )
}

/// The published rows, in chapter order, chapters without any visit left out.
pub fn rows(counts: &[ChapterCounts], min_cell: i64) -> Vec<OutflowRow> {
    let mut out = Vec::new();
    for id in chapter::all_ids() {
        let Some(c) = counts.iter().find(|c| c.chapter == id) else {
            continue;
        };
        if c.visits == 0 {
            continue;
        }
        let ((visits, visits_out, visit_share), v_sup) = cell(c.visits, c.visits_out, min_cell);
        let ((stays, stays_out, stay_share), s_sup) = cell(c.stays, c.stays_out, min_cell);
        out.push(OutflowRow {
            chapter: id.to_owned(),
            name: chapter::name(id),
            visits,
            visits_out_of_county: visits_out,
            visit_outflow_share: visit_share,
            stays,
            stays_out_of_county: stays_out,
            stay_outflow_share: stay_share,
            suppressed: v_sup || s_sup,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(
        chapter: &str,
        visits: i64,
        visits_out: i64,
        stays: i64,
        stays_out: i64,
    ) -> ChapterCounts {
        ChapterCounts {
            chapter: chapter.into(),
            visits,
            visits_out,
            stays,
            stays_out,
        }
    }

    #[test]
    fn small_cells_are_withheld_and_rows_keep_chapter_order() {
        let rows = rows(
            &[
                counts("X", 10, 6, 4, 4),
                counts("II", 8, 2, 6, 0),
                counts("none", 3, 1, 0, 0),
            ],
            5,
        );
        let ids: Vec<_> = rows.iter().map(|r| r.chapter.as_str()).collect();
        assert_eq!(ids, ["II", "X", "none"]);
        let ii = &rows[0];
        assert_eq!(
            (ii.visits, ii.visits_out_of_county),
            (Some(8), None),
            "2 < 5"
        );
        assert_eq!(
            (ii.stays, ii.stays_out_of_county, ii.stay_outflow_share),
            (Some(6), Some(0), Some(0.0))
        );
        assert!(ii.suppressed);
        let x = &rows[1];
        assert_eq!(x.visit_outflow_share, Some(0.6));
        assert_eq!((x.stays, x.stay_outflow_share), (None, None), "4 stays");
        let none = &rows[2];
        assert_eq!((none.visits, none.suppressed), (None, true));
        assert_eq!((none.stays, none.stay_outflow_share), (Some(0), None));
    }
}

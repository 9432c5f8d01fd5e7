//! The reconciliation: per table and per day, the source's rows (up to the cursor) against the
//! hub's ledger of delivered row versions, as a row count and an order-independent hash of the
//! `(pk, change time)` pairs.
//!
//! The ledger keeps, per key, the last version delivered, which is what the source keeps too:
//! an updated row was delivered twice (two messages, the second a correction) and counts once
//! on both sides, on the day of its current change time. So after the writers stop, and the
//! poller caught up, every source row is in Kafka under the message id
//! `<table>:<pk>@<change time>`, and the counts of the two sides are equal.
//!
//! Differences, in the order they are handled:
//! 1. A source row the ledger lacks, or has in another version: a transaction committed after
//!    the safety window (see `poller.rs`). It is re-sent (same deterministic message id) and
//!    recorded in the ledger; `hub_table_late_rows_total` counts it.
//! 2. A ledger entry the source no longer lists up to the cursor: when the source row now has a
//!    later change time, the update is pending for the poller and not a difference; when the row
//!    is gone, it was deleted at the source (`hub_table_reconcile_hub_only_rows`).
//!
//! What still differs after that sets `hub_table_reconcile_mismatched_days` (the alert).

use std::collections::HashMap;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::cursor::{Cursor, DayResult, Delivered, day_of};
use crate::poller::{PollError, TablePoller};
use crate::publish::publish;

/// The totals of one reconciliation over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The days compared, newest first.
    pub days: Vec<DayResult>,
    /// Rows re-sent.
    pub late_rows: i64,
    /// Days still differing.
    pub mismatched_days: i64,
}

impl Report {
    /// Source rows over the window.
    pub fn source_rows(&self) -> i64 {
        self.days.iter().map(|d| d.source_rows).sum()
    }

    /// Hub rows over the window.
    pub fn hub_rows(&self) -> i64 {
        self.days.iter().map(|d| d.hub_rows).sum()
    }
}

/// The hash of one `(pk, change time)` pair; a day's hash is the wrapping sum, so it does not
/// depend on order and both sides can be summed as they stream.
pub fn pair_hash(pk: &str, change_time: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(pk.as_bytes());
    h.update([0x1f]);
    h.update(change_time.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

fn tally<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> (i64, u64) {
    pairs.fold((0, 0), |(n, h), (pk, t)| {
        (n + 1, h.wrapping_add(pair_hash(pk, t)))
    })
}

type Pairs = HashMap<String, String>;

impl TablePoller {
    async fn sides(&self, day: NaiveDate, upto: &Cursor) -> Result<(Pairs, Pairs), PollError> {
        let source: Pairs = self.source.day_keys(day, upto).await?.into_iter().collect();
        let hub: Pairs = self
            .state
            .ledger_day(&self.route.facility, &self.route.table, day)
            .await?
            .into_iter()
            .map(|d| (d.pk, d.change_time))
            .collect();
        Ok((source, hub))
    }

    /// Compares source and hub over the configured days up to `cursor`, re-sends late rows,
    /// stores each day's result and sets the gauges.
    ///
    /// # Errors
    /// A database or the broker failed; nothing is lost, the next run repeats the work.
    pub async fn reconcile(&self, cursor: &Cursor) -> Result<Report, PollError> {
        let (facility, table) = (&self.route.facility, &self.route.table);
        let labels = [facility.as_str(), table.as_str()];
        let Ok(last_day) = NaiveDate::parse_from_str(day_of(&cursor.change_time), "%Y-%m-%d")
        else {
            warn!(table = %table, "Cursor change time is not a date; not reconciling.");
            return Ok(Report::default());
        };
        let days: Vec<NaiveDate> = (0..self.settings.reconcile.days.max(1))
            .filter_map(|back| last_day.checked_sub_days(chrono::Days::new(u64::from(back))))
            .collect();

        // Pass 1: source rows the hub lacks (or has in another version).
        let mut late: HashMap<String, String> = HashMap::new();
        let mut late_per_day: HashMap<NaiveDate, i64> = HashMap::new();
        for &day in &days {
            let (source, hub) = self.sides(day, cursor).await?;
            for (pk, time) in source {
                if hub.get(&pk) != Some(&time) {
                    *late_per_day.entry(day).or_default() += 1;
                    late.insert(pk, time);
                }
            }
        }
        let mut report = Report::default();
        if !late.is_empty() {
            warn!(table = %table, rows = late.len(),
                "Rows committed after the safety window found by the reconciliation.");
            self.metrics
                .late_rows
                .with_label_values(&labels)
                .inc_by(late.len() as u64);
            report.late_rows = late.len() as i64;
            if self.settings.reconcile.resend_late_rows {
                let keys: Vec<String> = late.keys().cloned().collect();
                let rows: Vec<_> = self
                    .source
                    .by_keys(&keys)
                    .await?
                    .into_iter()
                    .filter(|r| late.get(&r.pk) == Some(&r.change_time))
                    .collect();
                let delivery = publish(&self.producer, &self.route, &rows).await;
                if !delivery.complete() {
                    return Err(PollError::Kafka(delivery.failed));
                }
                let delivered: Vec<Delivered> = rows
                    .iter()
                    .map(|r| Delivered {
                        pk: r.pk.clone(),
                        change_time: r.change_time.clone(),
                    })
                    .collect();
                self.state.commit(facility, table, &delivered, None).await?;
                self.metrics
                    .published
                    .with_label_values(&labels)
                    .inc_by(delivery.published);
                info!(table = %table, rows = rows.len(), "Late rows re-sent.");
            }
        }

        // Pass 2: the comparison as it now stands.
        let mut hub_only_total = 0;
        for &day in &days {
            let (source, mut hub) = self.sides(day, cursor).await?;
            let missing: Vec<String> = hub
                .keys()
                .filter(|pk| !source.contains_key(*pk))
                .cloned()
                .collect();
            let mut deleted = 0;
            if !missing.is_empty() {
                let still_there: HashMap<String, String> = self
                    .source
                    .by_keys(&missing)
                    .await?
                    .into_iter()
                    .map(|r| (r.pk, r.change_time))
                    .collect();
                for pk in missing {
                    if still_there.contains_key(&pk) {
                        // Updated since: the poller delivers the new version; not a difference.
                        hub.remove(&pk);
                    } else {
                        deleted += 1;
                    }
                }
            }
            hub_only_total += deleted;
            let (source_rows, source_hash) = tally(source.iter());
            let (hub_rows, hub_hash) = tally(hub.iter());
            let result = DayResult {
                day,
                source_rows,
                source_hash,
                hub_rows,
                hub_hash,
                late_rows: late_per_day.get(&day).copied().unwrap_or(0),
                hub_only_rows: deleted,
            };
            if (source_rows, source_hash) != (hub_rows, hub_hash) {
                report.mismatched_days += 1;
                warn!(table = %table, day = %day, source_rows, hub_rows,
                    "Source and hub differ for a day.");
            }
            self.state.record(facility, table, &result).await?;
            report.days.push(result);
        }
        let nulls = self.source.null_change_times().await?;
        self.metrics
            .null_change_times
            .with_label_values(&labels)
            .set(nulls);
        self.metrics
            .source_rows
            .with_label_values(&labels)
            .set(report.source_rows());
        self.metrics
            .hub_rows
            .with_label_values(&labels)
            .set(report.hub_rows());
        self.metrics
            .mismatched_days
            .with_label_values(&labels)
            .set(report.mismatched_days);
        self.metrics
            .hub_only_rows
            .with_label_values(&labels)
            .set(hub_only_total);
        self.metrics
            .reconciled_at
            .with_label_values(&labels)
            .set(chrono::Utc::now().timestamp() as f64);
        info!(table = %table, days = days.len(), source_rows = report.source_rows(),
            hub_rows = report.hub_rows(), late_rows = report.late_rows,
            mismatched_days = report.mismatched_days, "Reconciled.");
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_hashes_do_not_depend_on_order_and_see_versions() {
        let a = ("1".to_owned(), "2026-11-25 10:00:00".to_owned());
        let b = ("2".to_owned(), "2026-11-25 10:00:01".to_owned());
        let forward = tally([(&a.0, &a.1), (&b.0, &b.1)].into_iter());
        let backward = tally([(&b.0, &b.1), (&a.0, &a.1)].into_iter());
        assert_eq!(forward, backward);
        let updated = "2026-11-25 10:00:02".to_owned();
        let other = tally([(&a.0, &a.1), (&b.0, &updated)].into_iter());
        assert_eq!(other.0, forward.0);
        assert_ne!(other.1, forward.1, "a different version changes the hash");
        assert_ne!(pair_hash("1", "2"), pair_hash("12", ""), "separator");
    }
}

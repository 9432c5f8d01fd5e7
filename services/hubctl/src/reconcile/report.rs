//! The reconciliation's figures, their verdict and their printed form.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::indicators;

/// The figures of the reconciliation.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Messages the simulator generated (acknowledged + refused + without a target).
    pub sent: u64,
    /// Messages acknowledged (`AA`, HTTP `accepted`, a file or table row written), with repeats
    /// of a table row's id.
    pub acknowledged: u64,
    /// Distinct acknowledged (route, id) pairs.
    pub acknowledged_distinct: usize,
    /// Messages refused by the hub (`AE`/`AR` after every resend, HTTP `rejected`).
    pub rejected: u64,
    /// Resends by the simulator (broken connections, missing ACKs, `AR`, 503).
    pub resent: u64,
    /// Records in the raw topics / distinct messages among them.
    pub raw_records: usize,
    /// Distinct messages in the raw topics.
    pub raw_distinct: usize,
    /// Acknowledged messages missing from their raw topic.
    pub lost_raw: usize,
    /// Acknowledged messages in the raw topic without any canonical event (not dead-lettered).
    pub lost_canonical: usize,
    /// Acknowledged messages the normaliser dead-lettered instead of mapping.
    pub dead_lettered: usize,
    /// Canonical records (all reconciled topics) / distinct event ids.
    pub canonical_records: usize,
    /// Distinct canonical event ids.
    pub canonical_distinct: usize,
    /// Raw copies of one message whose canonical events differ (non-deterministic ids).
    pub divergent_repeats: usize,
    /// Canonical events of acknowledged messages missing from the record.
    pub lost_record: usize,
    /// Record rows of the reconciled tables.
    pub record_rows: usize,
    /// Record rows that are canonical events of acknowledged messages.
    pub stored: usize,
    /// Record rows beyond one per event id, or per source message and natural key.
    pub duplicates_in_record: usize,
    /// Record rows with an event id no canonical topic holds.
    pub record_unknown: usize,
    /// Duplicates absorbed: raw copies beyond the first, canonical copies beyond the first.
    pub duplicates_absorbed_raw: usize,
    /// Canonical copies beyond the first.
    pub duplicates_absorbed_canonical: usize,
    /// lost_raw + lost_canonical + lost_record.
    pub lost: usize,
    /// Indicators compared / differing (when `--expected` and `--monitor` were given).
    pub indicators: Option<indicators::Comparison>,
    /// A few ids of lost messages, per stage (control ids, no personal data).
    pub lost_examples: BTreeMap<String, Vec<String>>,
}

impl Report {
    /// Prints the report, one figure a line.
    ///
    /// # Errors
    /// Standard output is closed.
    pub fn print(&self) -> std::io::Result<()> {
        let r = self;
        let mut out = std::io::stdout().lock();
        writeln!(out, "sent                       {}", r.sent)?;
        writeln!(
            out,
            "acknowledged               {} ({} distinct)",
            r.acknowledged, r.acknowledged_distinct
        )?;
        writeln!(out, "rejected                   {}", r.rejected)?;
        writeln!(out, "resent by the senders      {}", r.resent)?;
        writeln!(
            out,
            "in raw topics              {} records, {} distinct messages",
            r.raw_records, r.raw_distinct
        )?;
        writeln!(
            out,
            "canonical                  {} records, {} distinct events",
            r.canonical_records, r.canonical_distinct
        )?;
        writeln!(
            out,
            "stored in the record       {} of {} rows",
            r.stored, r.record_rows
        )?;
        writeln!(
            out,
            "duplicates absorbed        {} raw, {} canonical",
            r.duplicates_absorbed_raw, r.duplicates_absorbed_canonical
        )?;
        writeln!(
            out,
            "lost                       {} (raw {}, canonical {}, record {})",
            r.lost, r.lost_raw, r.lost_canonical, r.lost_record
        )?;
        writeln!(out, "dead-lettered              {}", r.dead_lettered)?;
        writeln!(out, "duplicates in the record   {}", r.duplicates_in_record)?;
        writeln!(out, "divergent repeats          {}", r.divergent_repeats)?;
        writeln!(out, "unknown record rows        {}", r.record_unknown)?;
        if let Some(i) = &r.indicators {
            writeln!(
                out,
                "indicators                 {} of {} equal the simulator's",
                i.compared - i.differing,
                i.compared
            )?;
            for e in &i.examples {
                writeln!(out, "  {e}")?;
            }
        }
        for (stage, ids) in &r.lost_examples {
            writeln!(out, "  lost at {stage}: {}", ids.join(", "))?;
        }
        writeln!(
            out,
            "result                     {}",
            if r.passed() { "PASS" } else { "FAIL" }
        )
    }

    /// Whether the run passed: nothing lost, no duplicate in the record, indicators equal.
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.dead_lettered == 0
            && self.duplicates_in_record == 0
            && self.divergent_repeats == 0
            && self.record_unknown == 0
            && self.acknowledged > 0
            && self
                .indicators
                .as_ref()
                .is_none_or(|i| i.differing == 0 && i.compared > 0)
    }

    /// Keeps an id of a lost message as an example (the first five per stage).
    pub(super) fn example(&mut self, stage: &str, id: &str) {
        let list = self.lost_examples.entry(stage.to_owned()).or_default();
        if list.len() < 5 {
            list.push(id.to_owned());
        }
    }
}

//! `hubctl reconcile`: after a run (the chaos test's, or any simulated run), proves from what the
//! broker and the record hold that every message the senders had acknowledged is in its raw
//! topic, became its canonical events, and is in the county health record exactly once, and
//! that the monitor's indicators equal the simulator's expected values.
//!
//! Inputs: the simulator's list of acknowledged ids (`hubctl simulate --acknowledged-ids`), its
//! report, its expected indicators (`--print-expected`), the broker, the registry (to decode
//! canonical events), the record's database and the monitor's URL. Repeats are counted by
//! distinct ids: a raw message stored twice (a resend after a lost ACK, or tansu storing a batch
//! twice) or a canonical event produced twice (the at-least-once normaliser) is a duplicate
//! *absorbed*; two record rows for one source message and natural key are a duplicate *in the
//! record*. Prints the report, optionally writes it as JSON, and fails when anything is lost,
//! duplicated in the record or different in the indicators. It prints ids of lost messages
//! (message control ids, never personal data) and no message content.

mod indicators;
mod record;
mod report;
mod topics;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use apache_avro::Schema;
use clap::Args;
use hub_avro::RegistryClient;
use hub_kafka::KafkaSettings;
use serde_json::Value;

use report::Report;

/// Arguments of `hubctl reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The simulator's acknowledged ids (`hubctl simulate --acknowledged-ids`): `kind<TAB>id` lines.
    #[arg(long)]
    acknowledged: PathBuf,
    /// The simulator's report (its JSON output).
    #[arg(long)]
    sent_report: Option<PathBuf>,
    /// The simulator's expected indicators (`hubctl simulate --print-expected`).
    #[arg(long)]
    expected: Option<PathBuf>,
    /// The monitor's base URL, e.g. http://127.0.0.1:9320.
    #[arg(long)]
    monitor: Option<String>,
    /// PostgreSQL URL of the record's database.
    #[arg(long, env = "HUB_RECORD_DATABASE_URL", hide_env_values = true)]
    record_db: String,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Most seconds to read one topic up to its high watermark.
    #[arg(long, default_value_t = 120)]
    read_secs: u64,
}

/// The raw topic each route kind of the simulator's report delivers to.
fn raw_topic(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "mllp:his" => "raw.his.hl7v2",
        "mllp:lab" => "raw.lab.hl7v2",
        "mllp:imaging" => "raw.imaging.hl7v2",
        "settlements" => "raw.insurance.settlement",
        "dicom:files" => "raw.imaging.dicom",
        "table:rows" => "raw.his.table",
        _ => return None,
    })
}

/// The id a sender knows a raw message by: a table row's raw id is `table:pk@change_time` and
/// its sender (the simulator writing the row) knows only the primary key.
fn sender_id<'a>(topic: &str, message_id: &'a str) -> &'a str {
    if topic.ends_with(".table") {
        let rest = message_id.split_once(':').map_or(message_id, |(_, r)| r);
        return rest.rsplit_once('@').map_or(rest, |(pk, _)| pk);
    }
    message_id
}

/// A canonical event as the reconciliation sees it.
struct Event {
    event_id: String,
    source_topic: String,
    source_offset: i64,
    source_message_id: String,
}

async fn decode_events(
    registry: &RegistryClient,
    records: Vec<topics::Stored>,
) -> anyhow::Result<Vec<Event>> {
    let mut schemas: HashMap<u32, Schema> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for stored in records {
        let (id, mut datum) = hub_avro::unframe(&stored.payload)
            .with_context(|| format!("{} at {}", stored.topic, stored.offset))?;
        if let std::collections::hash_map::Entry::Vacant(entry) = schemas.entry(id) {
            let text = registry.schema_by_id(id).await?;
            entry.insert(Schema::parse_str(&text)?);
        }
        let schema = &schemas[&id];
        let value = apache_avro::reader::datum::GenericDatumReader::builder(schema)
            .build()?
            .read_value(&mut datum)?;
        let json = Value::try_from(value)?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let provenance = &json["provenance"];
        out.push(Event {
            event_id: text(&json["event_id"]),
            source_topic: text(&provenance["source_topic"]),
            source_offset: provenance["source_offset"].as_i64().unwrap_or(-1),
            source_message_id: text(&provenance["source_message_id"]),
        });
    }
    Ok(out)
}

fn read_acknowledged(path: &PathBuf) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let Some((kind, id)) = line.split_once('\t') else {
            bail!("{}: a line without a tab", path.display());
        };
        out.push((kind.to_owned(), id.to_owned()));
    }
    Ok(out)
}

/// Reconciles and prints the report.
///
/// # Errors
/// Inputs unreadable, broker, registry, database or monitor unreachable, or the run failed.
pub async fn reconcile(
    kafka: &KafkaSettings,
    registry: &str,
    args: ReconcileArgs,
) -> anyhow::Result<()> {
    let deadline = Duration::from_secs(args.read_secs);
    let mut report = Report::default();
    if let Some(path) = &args.sent_report {
        let sent: Value = serde_json::from_str(&std::fs::read_to_string(path)?)
            .with_context(|| format!("{}", path.display()))?;
        let sum = |v: &Value| {
            v.as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
        };
        report.rejected = sum(&sent["rejected"]);
        report.resent = sent["resent"].as_u64().unwrap_or(0);
        report.sent =
            sum(&sent["accepted"]) + report.rejected + sent["skipped"].as_u64().unwrap_or(0);
    }
    let acknowledged = read_acknowledged(&args.acknowledged)?;
    report.acknowledged = acknowledged.len() as u64;
    let mut wanted: HashSet<(&'static str, String)> = HashSet::new();
    for (kind, id) in &acknowledged {
        let topic = raw_topic(kind).with_context(|| format!("unknown route kind {kind}"))?;
        wanted.insert((topic, id.clone()));
    }
    report.acknowledged_distinct = wanted.len();

    // Raw: (topic, sender's id) -> the raw message ids and offsets it was stored under.
    let mut raw: HashMap<(String, String), Vec<(String, i64)>> = HashMap::new();
    for topic in hub_schemas::topics::RAW_TOPICS {
        for stored in topics::read(kafka, topic, false, deadline)? {
            report.raw_records += 1;
            let key = (
                stored.topic.clone(),
                sender_id(topic, &stored.message_id).to_owned(),
            );
            raw.entry(key)
                .or_default()
                .push((stored.message_id, stored.offset));
        }
    }
    let raw_distinct: HashSet<(&str, &str)> = raw
        .iter()
        .flat_map(|((t, _), v)| v.iter().map(move |(id, _)| (t.as_str(), id.as_str())))
        .collect();
    report.raw_distinct = raw_distinct.len();
    report.duplicates_absorbed_raw = report.raw_records - report.raw_distinct;
    let dead: HashSet<String> = topics::read(kafka, "dlq.normaliser", false, deadline)?
        .into_iter()
        .map(|s| s.message_id)
        .collect();

    // Canonical: every event of the topics the record keeps.
    let client = RegistryClient::new(registry)?;
    let mut events = Vec::new();
    for (entity, _) in record::TABLES {
        let topic = format!("canonical.{entity}.v1");
        let records = topics::read(kafka, &topic, true, deadline)?;
        events.extend(decode_events(&client, records).await?);
    }
    report.canonical_records = events.len();
    // (source topic, raw message id) -> source offset -> event ids.
    let mut by_source: HashMap<(&str, &str), BTreeMap<i64, HashSet<&str>>> = HashMap::new();
    let mut event_source: HashMap<&str, (&str, &str)> = HashMap::new();
    for e in &events {
        by_source
            .entry((e.source_topic.as_str(), e.source_message_id.as_str()))
            .or_default()
            .entry(e.source_offset)
            .or_default()
            .insert(e.event_id.as_str());
        event_source.insert(
            e.event_id.as_str(),
            (e.source_topic.as_str(), e.source_message_id.as_str()),
        );
    }
    report.canonical_distinct = event_source.len();
    report.duplicates_absorbed_canonical = report.canonical_records - report.canonical_distinct;
    report.divergent_repeats = by_source
        .values()
        .filter(|offsets| {
            let mut sets = offsets.values();
            let first = sets.next();
            sets.any(|set| Some(set) != first)
        })
        .count();

    // Acknowledged -> raw -> canonical.
    let mut expected_events: HashSet<&str> = HashSet::new();
    for (topic, id) in &wanted {
        let Some(copies) = raw.get(&((*topic).to_owned(), id.clone())) else {
            report.lost_raw += 1;
            report.example("raw", id);
            continue;
        };
        let raw_ids: HashSet<&str> = copies.iter().map(|(m, _)| m.as_str()).collect();
        let mut any = false;
        for raw_id in raw_ids {
            if let Some(offsets) = by_source.get(&(*topic, raw_id)) {
                any = true;
                expected_events.extend(offsets.values().flatten().copied());
            }
        }
        if !any {
            if copies.iter().any(|(m, _)| dead.contains(m)) {
                report.dead_lettered += 1;
                report.example("dead_lettered", id);
            } else {
                report.lost_canonical += 1;
                report.example("canonical", id);
            }
        }
    }

    // Canonical -> record, exactly once.
    let rows = record::rows(&args.record_db).await?;
    report.record_rows = rows.len();
    let mut per_event: HashMap<&str, usize> = HashMap::new();
    let mut per_key: HashMap<(&str, &str, (&str, &str)), usize> = HashMap::new();
    for row in &rows {
        *per_event.entry(row.event_id.as_str()).or_default() += 1;
        match event_source.get(row.event_id.as_str()) {
            Some(source) => {
                *per_key
                    .entry((row.table, row.natural_key.as_str(), *source))
                    .or_default() += 1;
            }
            None => report.record_unknown += 1,
        }
    }
    report.duplicates_in_record = per_event.values().map(|n| n - 1).sum::<usize>()
        + per_key.values().map(|n| n - 1).sum::<usize>();
    for event in &expected_events {
        if per_event.contains_key(event) {
            report.stored += 1;
        } else {
            report.lost_record += 1;
            report.example("record", event);
        }
    }
    report.lost = report.lost_raw + report.lost_canonical + report.lost_record;

    if let (Some(path), Some(monitor)) = (&args.expected, &args.monitor) {
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(path)?)
            .with_context(|| format!("{}", path.display()))?;
        report.indicators =
            Some(indicators::compare(monitor.trim_end_matches('/'), &expected).await?);
    }
    report.print()?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    if !report.passed() {
        bail!(
            "reconciliation failed: lost {}, duplicates in the record {}",
            report.lost,
            report.duplicates_in_record
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{raw_topic, sender_id};

    #[test]
    fn raw_ids_are_matched_to_what_the_sender_knows() {
        let row = "fep_visits_h21028100101:V0001@2026-09-01 08:00:00.000000+08:00";
        assert_eq!(sender_id("raw.his.table", row), "V0001");
        assert_eq!(sender_id("raw.his.hl7v2", "H1:42@x"), "H1:42@x");
        assert_eq!(sender_id("raw.insurance.settlement", "G1#2208"), "G1#2208");
        assert_eq!(raw_topic("mllp:lab"), Some("raw.lab.hl7v2"));
        assert_eq!(raw_topic("table:rows"), Some("raw.his.table"));
        assert_eq!(raw_topic("ftp"), None);
    }
}

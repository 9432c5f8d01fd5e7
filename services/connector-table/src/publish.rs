//! Rows to Kafka: one message per row version, every row of a batch enqueued before any delivery
//! report is awaited, and the batch counted as delivered only when every report succeeded.
//!
//! - Topic `raw.<source>.table`; value a [`RowDocument`] (JSON); raw envelope headers.
//! - Message id `<table>:<pk>@<change time>`: deterministic, so a re-sent batch (after a crash
//!   before the cursor commit, or a reconciliation re-send) repeats ids that downstream
//!   de-duplicates, while an updated row (new change time) is a new message, a correction.
//! - Key `<facility>:<table>:<pk>` (not the message id, as other raw topics do): every version of
//!   one row lands on the same partition, in the order the poller read them.
//! - A row the broker refuses as bad data (larger than the broker allows) goes to the DLQ with
//!   the same key and headers, so the batch can still move on; it is delivered once it is there.

use std::collections::BTreeMap;
use std::sync::Arc;

use hub_kafka::dlq::{DeadLetter, dead_letter_headers};
use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
use hub_kafka::resettable::ResettableProducer;
use hub_kafka::{ErrorKind, OutRecord, headers};
use hub_table::RowDocument;
use tracing::warn;

use crate::settings::TableKind;
use crate::source::SourceRow;

/// Where one table's rows go and how they are labelled.
#[derive(Debug, Clone)]
pub struct Route {
    /// Facility code.
    pub facility: String,
    /// Source kind (`hub-source`).
    pub source: String,
    /// `raw.<source>.table`.
    pub topic: String,
    /// Dead-letter topic.
    pub dlq_topic: String,
    /// The table's logical name.
    pub table: String,
    /// Row kind.
    pub kind: TableKind,
    /// Hub field names, in the order of [`SourceRow::values`].
    pub fields: Vec<String>,
    /// Mark rows synthetic.
    pub synthetic: bool,
}

/// The raw topic of a source kind.
pub fn raw_topic(source: &str) -> String {
    format!("raw.{source}.table")
}

impl Route {
    /// The row document of `row`.
    pub fn document(&self, row: &SourceRow) -> RowDocument {
        let columns: BTreeMap<String, Option<String>> = self
            .fields
            .iter()
            .cloned()
            .zip(row.values.iter().cloned())
            .collect();
        RowDocument {
            table: self.table.clone(),
            kind: self.kind.as_str().to_owned(),
            facility: self.facility.clone(),
            pk: row.pk.clone(),
            change_time: row.change_time.clone(),
            columns,
        }
    }

    /// The partitioning key of a row.
    pub fn key(&self, pk: &str) -> String {
        format!("{}:{}:{pk}", self.facility, self.table)
    }

    fn headers(&self, message_id: &str, received_at: &str) -> OwnedHeaders {
        let h = |key, value| Header {
            key,
            value: Some(value),
        };
        let out = OwnedHeaders::new_with_capacity(7)
            .insert(h(headers::FACILITY, self.facility.as_str()))
            .insert(h(headers::SOURCE, self.source.as_str()))
            .insert(h(headers::CONTENT_TYPE, hub_table::CONTENT_TYPE))
            .insert(h(headers::CHARSET, "UTF-8"))
            .insert(h(headers::RECEIVED_AT, received_at))
            .insert(h(headers::MESSAGE_ID, message_id));
        if self.synthetic {
            out.insert(h(headers::SYNTHETIC, "true"))
        } else {
            out
        }
    }
}

/// What a batch's delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Rows confirmed in the raw topic.
    pub published: u64,
    /// Rows confirmed in the DLQ instead.
    pub dead_lettered: u64,
    /// Rows not confirmed anywhere: the batch must be retried.
    pub failed: u64,
}

impl Delivery {
    /// Whether every row is durable somewhere.
    pub fn complete(&self) -> bool {
        self.failed == 0
    }
}

/// Produces `rows` and waits for every delivery report.
pub async fn publish(
    producer: &Arc<ResettableProducer>,
    route: &Route,
    rows: &[SourceRow],
) -> Delivery {
    let received_at = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let current = producer.get();
    let mut pending = Vec::with_capacity(rows.len());
    for row in rows {
        let document = route.document(row);
        let message_id = document.message_id();
        let payload = serde_json::to_vec(&document).unwrap_or_default();
        let key = route.key(&row.pk);
        let queued = current
            .enqueue(OutRecord {
                topic: &route.topic,
                key: key.as_bytes(),
                payload: &payload,
                headers: Some(route.headers(&message_id, &received_at)),
            })
            .await;
        pending.push((queued, key, payload, message_id));
    }
    let mut outcome = Delivery::default();
    for (queued, key, payload, message_id) in pending {
        let delivered = match queued {
            Ok(delivery) => delivery.await,
            Err(failure) => Err(failure),
        };
        match delivered {
            Ok(_) => outcome.published += 1,
            Err(failure) if failure.kind == ErrorKind::BadData => {
                let original = route.headers(&message_id, &received_at);
                let detail = format!(
                    "table {}: the broker refused the row ({} bytes)",
                    route.table,
                    payload.len()
                );
                let letter = DeadLetter {
                    error_code: "table_row_refused",
                    detail: &detail,
                    source: None,
                };
                let h =
                    dead_letter_headers(crate::SERVICE, Some(&original), &letter).insert(Header {
                        key: headers::SOURCE_TOPIC,
                        value: Some(route.topic.as_str()),
                    });
                let sent = current
                    .send(OutRecord {
                        topic: &route.dlq_topic,
                        key: key.as_bytes(),
                        payload: &payload,
                        headers: Some(h),
                    })
                    .await;
                match sent {
                    Ok(_) => outcome.dead_lettered += 1,
                    Err(e) => {
                        warn!(table = %route.table, error = %e.error, "DLQ write failed.");
                        producer.on_failure(&e);
                        outcome.failed += 1;
                    }
                }
            }
            Err(failure) => {
                // A broker condition, never row contents.
                warn!(table = %route.table, kind = ?failure.kind, error = %failure.error,
                    "The broker did not confirm a row.");
                producer.on_failure(&failure);
                outcome.failed += 1;
            }
        }
    }
    outcome
}

//! Validate, then produce: the path every record takes, from HTTP and from files alike.
//!
//! Each record is validated by `hub_settlement::validate`. A valid one goes to the raw topic with
//! key `<sender>:<message id>` and the raw envelope headers; an invalid one goes to the DLQ with
//! its field errors (names and reasons, never values). Every record of a batch is enqueued before
//! any delivery report is awaited, and the outcome of each is read from its own report only: a
//! record is "stored" when, and only when, the broker confirmed it (`acks=all`, idempotent).
//!
//! Message id (`hub-message-id`, and so the canonical event id): a settlement's `setl_id`. A
//! reversal or cancellation that carries its own `setl_id` next to the original
//! (`init_setl_id`) uses its own; one that only names the settlement it undoes (as NHSA
//! 2208/2305/2601 requests do) uses `<setl_id>#<infno>` (`#reversal`/`#cancellation` without
//! `infno`), so it never collides with the event of the settlement it undoes. Ids are
//! deterministic: a resend yields the same keys and event ids, and downstream de-duplicates.

use std::sync::Arc;

use hub_kafka::dlq::{DeadLetter, dead_letter_headers};
use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
use hub_kafka::{OutRecord, headers};
use hub_schemas::SettlementKind;
use hub_settlement::{FieldError, FieldReason, ValidSettlement};
use tracing::warn;

use crate::auth::Sender;
use crate::metrics::{Channel, Metrics, Tally};
use crate::producer::SharedProducer;
use crate::records::Record;

/// `hub-error-code` of a record that is not a JSON object (as `map_settlement` names it).
pub const NOT_JSON: &str = "settlement_not_json";
/// `hub-error-code` of a record with invalid fields.
pub const INVALID_FIELD: &str = "settlement_invalid_field";

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Valid and durable in the raw topic.
    Stored {
        /// Its message id.
        message_id: String,
    },
    /// Valid, but the broker did not confirm it: resend.
    NotStored {
        /// Its message id.
        message_id: String,
    },
    /// Invalid.
    Rejected {
        /// Bounded reason.
        error_code: &'static str,
        /// The invalid fields (empty for a framing error).
        errors: Vec<FieldError>,
        /// Whether the DLQ confirmed it (if not, the input must be kept and retried).
        dead_lettered: bool,
    },
}

/// One record's position and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Batch index or file line.
    pub position: usize,
    /// What happened.
    pub outcome: Outcome,
}

impl RecordOutcome {
    /// Whether this record is durable where it belongs (raw topic or DLQ).
    pub fn is_durable(&self) -> bool {
        match &self.outcome {
            Outcome::Stored { .. } => true,
            Outcome::NotStored { .. } => false,
            Outcome::Rejected { dead_lettered, .. } => *dead_lettered,
        }
    }
}

/// Where records go.
#[derive(Debug)]
pub struct Ingest {
    /// Raw topic.
    pub topic: String,
    /// Dead-letter topic.
    pub dlq_topic: String,
    /// The producer.
    pub producer: Arc<SharedProducer>,
    /// Metrics.
    pub metrics: Metrics,
}

/// A record on its way: the target and the headers.
struct Planned {
    key: String,
    headers: OwnedHeaders,
    to_dlq: Option<(&'static str, Vec<FieldError>)>,
    message_id: String,
}

/// The time to put in `hub-received-at`: now, RFC 3339 with the local offset.
pub fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// The message id of a valid record (see the module docs).
pub fn message_id(valid: &ValidSettlement) -> String {
    let undoing = matches!(
        valid.kind,
        SettlementKind::Reversal | SettlementKind::Cancellation
    );
    match valid.reverses_setl_id.as_deref() {
        Some(original) if undoing && original == valid.setl_id => {
            let tag = match (valid.infno.as_deref(), valid.kind) {
                (Some(infno), _) => infno,
                (None, SettlementKind::Reversal) => "reversal",
                (None, _) => "cancellation",
            };
            format!("{}#{tag}", valid.setl_id)
        }
        _ => valid.setl_id.clone(),
    }
}

/// The `setl_id` of an invalid record when it is readable and plain, else a fresh UUID.
fn fallback_id(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| match v.get("setl_id") {
            Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// The raw envelope headers.
pub fn envelope(
    sender: &Sender,
    content_type: &str,
    charset: &str,
    received_at: &str,
    message_id: &str,
) -> OwnedHeaders {
    let h = OwnedHeaders::new_with_capacity(7)
        .insert(header(headers::FACILITY, &sender.code))
        .insert(header(headers::SOURCE, "insurance"))
        .insert(header(headers::CONTENT_TYPE, content_type))
        .insert(header(headers::CHARSET, charset))
        .insert(header(headers::RECEIVED_AT, received_at))
        .insert(header(headers::MESSAGE_ID, message_id));
    if sender.synthetic {
        h.insert(header(headers::SYNTHETIC, "true"))
    } else {
        h
    }
}

/// The DLQ detail of a rejected record: where it was and which fields, never values.
fn detail(channel: Channel, position: usize, code: &str, errors: &[FieldError]) -> String {
    let place = match channel {
        Channel::Http => format!("record {position} of the batch"),
        Channel::File => format!("line {position} of the file"),
    };
    if errors.is_empty() {
        return format!("{place}: {code}");
    }
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("{place}: {} invalid: {}", errors.len(), list.join("; "))
}

impl Ingest {
    fn plan(&self, sender: &Sender, record: &Record, received_at: &str) -> Planned {
        let verdict = match &record.framing_error {
            Some((code, _)) => Err((*code, Vec::new())),
            None => match std::str::from_utf8(&record.bytes) {
                Err(_) => Err((NOT_JSON, vec![FieldError::new("$", FieldReason::NotJson)])),
                Ok(text) => hub_settlement::validate(text).map_err(|errors| {
                    let code = if errors.iter().any(|e| e.field == "$") {
                        NOT_JSON
                    } else {
                        INVALID_FIELD
                    };
                    (code, errors)
                }),
            },
        };
        let message_id = match &verdict {
            Ok(valid) => message_id(valid),
            Err(_) => fallback_id(&record.bytes),
        };
        let headers = envelope(
            sender,
            record.content_type,
            record.charset,
            received_at,
            &message_id,
        );
        Planned {
            key: format!("{}:{message_id}", sender.code),
            headers,
            to_dlq: verdict.err(),
            message_id,
        }
    }

    /// Validates and produces `records`, returning each one's outcome in input order after
    /// every delivery report arrived.
    pub async fn ingest(
        &self,
        sender: &Sender,
        channel: Channel,
        records: &[Record],
        received_at: &str,
    ) -> Vec<RecordOutcome> {
        let producer = self.producer.get();
        let mut pending = Vec::with_capacity(records.len());
        for record in records {
            let plan = self.plan(sender, record, received_at);
            let (topic, headers) = match &plan.to_dlq {
                None => (self.topic.as_str(), plan.headers.clone()),
                Some((code, errors)) => {
                    let text = match &record.framing_error {
                        Some((_, framing)) => {
                            format!(
                                "{}: {framing}",
                                detail(channel, record.position, code, errors)
                            )
                        }
                        None => detail(channel, record.position, code, errors),
                    };
                    let letter = DeadLetter {
                        error_code: code,
                        detail: &text,
                        source: None,
                    };
                    let h = dead_letter_headers(crate::SERVICE, Some(&plan.headers), &letter)
                        .insert(header(headers::SOURCE_TOPIC, &self.topic));
                    (self.dlq_topic.as_str(), h)
                }
            };
            let queued = producer
                .enqueue(OutRecord {
                    topic,
                    key: plan.key.as_bytes(),
                    payload: &record.bytes,
                    headers: Some(headers),
                })
                .await;
            pending.push((plan, queued));
        }
        let mut tally = Tally {
            received: records.len() as u64,
            ..Tally::default()
        };
        let mut outcomes = Vec::with_capacity(records.len());
        for ((plan, queued), record) in pending.into_iter().zip(records) {
            let delivered = match queued {
                Ok(delivery) => delivery.await,
                Err(failure) => Err(failure),
            };
            if let Err(failure) = &delivered {
                // A broker condition, never record contents.
                warn!(sender = %sender.code, kind = ?failure.kind, error = %failure.error,
                    "The broker did not confirm a record.");
                self.producer.on_failure(failure);
                tally.not_stored += 1;
            }
            let ok = delivered.is_ok();
            let outcome = match plan.to_dlq {
                None if ok => {
                    tally.accepted += 1;
                    Outcome::Stored {
                        message_id: plan.message_id,
                    }
                }
                None => Outcome::NotStored {
                    message_id: plan.message_id,
                },
                Some((error_code, errors)) => {
                    tally.reject(error_code);
                    if ok {
                        self.metrics.dead_lettered(error_code);
                    }
                    Outcome::Rejected {
                        error_code,
                        errors,
                        dead_lettered: ok,
                    }
                }
            };
            outcomes.push(RecordOutcome {
                position: record.position,
                outcome,
            });
        }
        self.metrics.records(&sender.code, channel, &tally);
        outcomes
    }

    /// Dead-letters a whole body or file that holds no usable records; true once durable.
    pub async fn dead_letter_whole(
        &self,
        sender: &Sender,
        bytes: &[u8],
        content_type: &str,
        error_code: &'static str,
        detail: &str,
    ) -> bool {
        let id = uuid::Uuid::new_v4().to_string();
        let original = envelope(sender, content_type, "UTF-8", &now_rfc3339(), &id);
        let letter = DeadLetter {
            error_code,
            detail,
            source: None,
        };
        let h = dead_letter_headers(crate::SERVICE, Some(&original), &letter)
            .insert(header(headers::SOURCE_TOPIC, &self.topic));
        let key = format!("{}:{id}", sender.code);
        let sent = self
            .producer
            .get()
            .send(OutRecord {
                topic: &self.dlq_topic,
                key: key.as_bytes(),
                payload: bytes,
                headers: Some(h),
            })
            .await;
        match sent {
            Ok(_) => {
                self.metrics.dead_lettered(error_code);
                true
            }
            Err(failure) => {
                warn!(sender = %sender.code, error = %failure.error, "DLQ write failed.");
                self.producer.on_failure(&failure);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""psn_no":"P1","mdtrt_id":"M1","fixmedins_code":"H21028100001","insuplc_admdvs":"210281","insutype":"390","med_type":"11","setl_time":"2026-11-02 09:41:27","medfee_sumamt":"1.00","fund_pay_sumamt":"0.50","psn_cash_pay":"0.50""#;

    fn id(fields: &str) -> String {
        let json = format!("{{{fields},{BASE}}}");
        message_id(&hub_settlement::validate(&json).unwrap())
    }

    #[test]
    fn message_ids_never_collide_with_the_settlement_undone() {
        assert_eq!(id(r#""infno":"2207","setl_id":"S1""#), "S1");
        assert_eq!(id(r#""infno":"2305","setl_id":"S1""#), "S1#2305");
        assert_eq!(
            id(r#""infno":"2601","setl_id":"S1","omsgid":"X","oinfno":"2207""#),
            "S1#2601"
        );
        assert_eq!(
            id(r#""setl_id":"S1","omsgid":"X","oinfno":"2207""#),
            "S1#reversal"
        );
        assert_eq!(id(r#""setl_id":"C9","init_setl_id":"S1""#), "C9");
    }

    #[test]
    fn invalid_records_keep_a_plain_setl_id_or_get_a_uuid() {
        assert_eq!(fallback_id(br#"{"setl_id":" S7 "}"#), "S7");
        assert_eq!(fallback_id(br#"{"setl_id":42}"#), "42");
        assert_eq!(fallback_id(b"{oops").len(), 36);
        assert_eq!(fallback_id(br#"{"setl_id":"a\nb"}"#).len(), 36);
    }
}

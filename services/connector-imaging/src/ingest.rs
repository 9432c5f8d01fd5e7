//! Produce, then acknowledge: the path every instance takes, from files and HTTP alike.
//!
//! Each instance becomes one message on the raw topic: the hub's DICOM JSON, key
//! `<sender>:<SOP Instance UID>`, the raw envelope headers with `hub-content-type:
//! application/dicom+json` and `hub-charset: UTF-8` (what the value is), plus
//! `hub-dicom-charset` with the Specific Character Set the sender declared. Every instance of a
//! request is enqueued before any delivery report is awaited; an instance is "stored" when, and
//! only when, the broker confirmed it (`acks=all`, idempotent). The SOP Instance UID is the
//! message id, so a resent file or request yields the same keys and canonical event ids.

use std::sync::Arc;

use hub_ingress::auth::Sender;
use hub_kafka::dlq::{DeadLetter, dead_letter_headers};
use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
use hub_kafka::resettable::ResettableProducer;
use hub_kafka::{OutRecord, headers};
use tracing::warn;

use crate::instance::Instance;
use crate::metrics::{Channel, Metrics};

/// `hub-content-type` of the raw topic's values.
pub const DICOM_JSON: &str = "application/dicom+json";
/// `hub-content-type` of a dead-lettered Part-10 file.
pub const DICOM_PART10: &str = "application/dicom";
/// The Specific Character Set (0008,0005) the sender declared.
pub const DICOM_CHARSET: &str = "hub-dicom-charset";

/// Where instances go.
#[derive(Debug)]
pub struct Ingest {
    /// Raw topic.
    pub topic: String,
    /// Dead-letter topic.
    pub dlq_topic: String,
    /// The producer, replaced after broker failures.
    pub producer: Arc<ResettableProducer>,
    /// Metrics.
    pub metrics: Metrics,
}

/// The time to put in `hub-received-at`: now, RFC 3339 with the local offset.
pub fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
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
    dicom_charset: Option<&str>,
    received_at: &str,
    message_id: &str,
) -> OwnedHeaders {
    let mut h = OwnedHeaders::new_with_capacity(8)
        .insert(header(headers::FACILITY, &sender.code))
        .insert(header(headers::SOURCE, "imaging"))
        .insert(header(headers::CONTENT_TYPE, content_type))
        .insert(header(headers::CHARSET, charset))
        .insert(header(headers::RECEIVED_AT, received_at))
        .insert(header(headers::MESSAGE_ID, message_id));
    if let Some(charset) = dicom_charset {
        h = h.insert(header(DICOM_CHARSET, charset));
    }
    if sender.synthetic {
        h = h.insert(header(headers::SYNTHETIC, "true"));
    }
    h
}

impl Ingest {
    /// Produces `instances`; returns for each whether the broker confirmed it, in input order.
    pub async fn store(
        &self,
        sender: &Sender,
        channel: Channel,
        instances: &[Instance],
        received_at: &str,
    ) -> Vec<bool> {
        let producer = self.producer.get();
        let planned: Vec<(String, Vec<u8>, OwnedHeaders)> = instances
            .iter()
            .map(|i| {
                let h = envelope(
                    sender,
                    DICOM_JSON,
                    "UTF-8",
                    Some(&i.charset),
                    received_at,
                    &i.sop_instance_uid,
                );
                (
                    format!("{}:{}", sender.code, i.sop_instance_uid),
                    i.to_bytes(),
                    h,
                )
            })
            .collect();
        let mut records = Vec::with_capacity(planned.len());
        for (key, value, h) in &planned {
            records.push(OutRecord {
                topic: &self.topic,
                key: key.as_bytes(),
                payload: value,
                headers: Some(h.clone()),
            });
        }
        let results = producer.send_all(records).await;
        let mut stored = Vec::with_capacity(results.len());
        let mut failed = 0u64;
        for result in results {
            match result {
                Ok(_) => stored.push(true),
                Err(failure) => {
                    if failed == 0 {
                        warn!(sender = %sender.code, kind = ?failure.kind, error = %failure.error,
                            "The broker did not confirm an instance.");
                        self.producer.on_failure(&failure);
                    }
                    failed += 1;
                    stored.push(false);
                }
            }
        }
        let ok = stored.len() as u64 - failed;
        self.metrics.instances(&sender.code, channel, "stored", ok);
        self.metrics
            .instances(&sender.code, channel, "not_stored", failed);
        stored
    }

    /// Dead-letters an unreadable file or body (`bytes`, possibly its first part only); true
    /// once durable.
    pub async fn dead_letter(
        &self,
        sender: &Sender,
        channel: Channel,
        bytes: &[u8],
        content_type: &str,
        error_code: &'static str,
        detail: &str,
    ) -> bool {
        let id = uuid::Uuid::new_v4().to_string();
        // A Part-10 file is binary; a body is meant to be UTF-8 JSON.
        let charset = if content_type == DICOM_PART10 {
            "binary"
        } else {
            "UTF-8"
        };
        let original = envelope(sender, content_type, charset, None, &now_rfc3339(), &id);
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
                self.metrics.rejected(&sender.code, channel, error_code);
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

//! Commit-then-ACK: each message is written to its raw topic (or, when refused, to the DLQ) and
//! its ACK is built only from the broker's delivery report.
//!
//! [`Ingest::submit`] only waits for room in the producer's queue, and returns a future of the
//! frame's ACK; a connection keeps those futures in order, so a sender that pipelines messages
//! gets its ACKs in order while the broker writes many at once.
//!
//! Outcomes: stored -> `AA`/`CA`. Broker unavailable or slow -> `AR`/`CR` (resend later). A
//! message the connector cannot use (no MSH, bad separators, no MSH-10, unknown charset, too
//! large) -> DLQ, then `AE`/`CE`; if the DLQ write fails too, `AR`/`CR`, so that nothing is
//! answered and lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
use hub_kafka::{ErrorKind, KafkaFailure, OutRecord, headers};
use tracing::{debug, warn};

use crate::ack::{AckCode, AckInput, ack_code, build_ack};
use crate::batch::{FrameContent, split, wrap_acks};
use crate::charset::Charset;
use crate::dedup::RecentKeys;
use crate::metrics::ListenerMetrics;
use crate::msh::Msh;
use crate::producer::SharedProducer;
use crate::rejection::Rejection;

/// `hub-content-type` of HL7 v2 (ER7) messages.
pub const CONTENT_TYPE: &str = hub_kafka::headers::HL7_V2_ER7;

/// An ACK to send (frame body, no MLLP framing) and the codes it carries.
#[derive(Debug, Default)]
pub struct Reply {
    /// The ACK frame body; `None` when nothing is to be sent.
    pub body: Option<Vec<u8>>,
    /// MSA-1 of each message answered.
    pub codes: Vec<AckCode>,
}

/// The future of one frame's reply.
pub type PendingReply = BoxFuture<'static, Reply>;

/// Everything a listener needs to store messages.
#[derive(Debug)]
pub struct Ingest {
    /// Facility code of the listener (`hub-facility`, key prefix).
    pub facility: String,
    /// Source kind (`hub-source`).
    pub source: &'static str,
    /// Raw topic.
    pub topic: String,
    /// Dead-letter topic.
    pub dlq_topic: String,
    /// Charset when MSH-18 is empty (`None`: the configured default is unknown).
    pub default_charset: Option<Charset>,
    /// Whether this listener's messages are synthetic (`hub-synthetic: true`).
    pub synthetic: bool,
    /// Largest message accepted (for the oversize detail).
    pub max_message_bytes: usize,
    /// The producer.
    pub producer: Arc<SharedProducer>,
    /// Recently stored keys.
    pub recent: Arc<RecentKeys>,
    /// Metrics.
    pub metrics: ListenerMetrics,
    /// Sequence for ACK control ids.
    pub ack_ids: Arc<AckIds>,
    /// Message bytes in flight, shared by every listener.
    pub budget: crate::budget::ByteBudget,
}

/// Generates ACK control ids: unique per process run, at most 20 characters (HL7 ST).
#[derive(Debug)]
pub struct AckIds {
    prefix: String,
    next: AtomicU64,
}

impl Default for AckIds {
    fn default() -> Self {
        let started = chrono::Utc::now().timestamp();
        Self {
            prefix: format!("A{started:x}"),
            next: AtomicU64::new(1),
        }
    }
}

impl AckIds {
    /// The next id.
    pub fn next_id(&self) -> String {
        format!(
            "{}{:x}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

fn timestamp() -> String {
    chrono::Local::now().format("%Y%m%d%H%M%S%z").to_string()
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

impl Ingest {
    /// The raw envelope headers of a message.
    fn envelope(&self, charset: &str, received_at: &str, message_id: &str) -> OwnedHeaders {
        let headers = OwnedHeaders::new_with_capacity(7)
            .insert(header(headers::FACILITY, &self.facility))
            .insert(header(headers::SOURCE, self.source))
            .insert(header(headers::CONTENT_TYPE, CONTENT_TYPE))
            .insert(header(headers::CHARSET, charset))
            .insert(header(headers::RECEIVED_AT, received_at))
            .insert(header(headers::MESSAGE_ID, message_id));
        if self.synthetic {
            headers.insert(header(headers::SYNTHETIC, "true"))
        } else {
            headers
        }
    }

    /// Stores a complete frame (one message or a batch) and returns the future of its reply.
    pub async fn submit(self: &Arc<Self>, frame: Bytes) -> PendingReply {
        let received_at =
            chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        let batch = match split(&frame) {
            Ok(FrameContent::Single(_)) => None,
            Ok(FrameContent::Batch(batch)) => Some(
                batch
                    .messages
                    .iter()
                    .map(|m| frame.slice_ref(m))
                    .collect::<Vec<_>>(),
            ),
            Err(rejection) => {
                self.metrics.received.inc();
                self.metrics.bytes.inc_by(frame.len() as u64);
                return self.refuse(frame, rejection, None, &received_at).await;
            }
        };
        let Some(messages) = batch else {
            return self.store(frame, &received_at).await;
        };
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            pending.push(self.store(message, &received_at).await);
        }
        let this = Arc::clone(self);
        Box::pin(async move {
            let mut acks = Vec::with_capacity(pending.len());
            let mut codes = Vec::with_capacity(pending.len());
            for reply in pending {
                let reply = reply.await;
                acks.extend(reply.body);
                codes.extend(reply.codes);
            }
            // The batch was split once already; splitting again cannot fail.
            let body = match split(&frame) {
                Ok(FrameContent::Batch(batch)) => {
                    wrap_acks(&batch, &acks, &this.ack_ids.next_id(), &timestamp())
                }
                _ => acks.concat(),
            };
            Reply {
                body: Some(body),
                codes,
            }
        })
    }

    /// An oversized frame: its head goes to the DLQ, the sender gets `AE`.
    pub async fn too_large(self: &Arc<Self>, head: Bytes, size: usize) -> PendingReply {
        self.metrics.received.inc();
        self.metrics.bytes.inc_by(size as u64);
        let received_at =
            chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        let detail = format!(
            "message of {size} bytes exceeds max_message_bytes {}; the value holds its first {} bytes",
            self.max_message_bytes,
            head.len()
        );
        self.refuse(head, Rejection::TooLarge, Some(detail), &received_at)
            .await
    }

    /// A truncated frame: kept in the DLQ; there is no complete message to answer.
    pub async fn truncated(self: &Arc<Self>, partial: Bytes) -> PendingReply {
        let received_at =
            chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        let reply = self
            .refuse(partial, Rejection::Truncated, None, &received_at)
            .await;
        Box::pin(async move {
            let _unanswerable = reply.await;
            Reply::default()
        })
    }

    /// One message: parse MSH, enqueue it to the raw topic.
    async fn store(self: &Arc<Self>, message: Bytes, received_at: &str) -> PendingReply {
        self.metrics.received.inc();
        self.metrics.bytes.inc_by(message.len() as u64);
        let (msh, charset) = match Msh::parse(&message) {
            Ok(msh) => {
                let charset = match msh.charset() {
                    b"" => self.default_charset,
                    name => std::str::from_utf8(name).ok().and_then(Charset::from_hl7),
                };
                (msh, charset)
            }
            Err(rejection) => return self.refuse(message, rejection, None, received_at).await,
        };
        let Some(charset) = charset else {
            return self
                .refuse(message, Rejection::UnsupportedCharset, None, received_at)
                .await;
        };
        if !charset.is_valid(&message) {
            self.metrics.charset_errors.inc();
            warn!(facility = %self.facility, source = self.source, charset = charset.label,
                "Message bytes are not valid in the declared charset; stored as sent.");
        }
        let control_id = charset.decode_lossy(msh.control_id()).trim().to_owned();
        let key = format!("{}:{control_id}", self.facility);
        let headers = self.envelope(charset.label, received_at, &control_id);
        drop(msh);
        let enqueued = self
            .producer
            .get()
            .enqueue(OutRecord {
                topic: &self.topic,
                key: key.as_bytes(),
                payload: &message,
                headers: Some(headers.clone()),
            })
            .await;
        let this = Arc::clone(self);
        Box::pin(async move {
            let outcome = match enqueued {
                Ok(delivery) => delivery.await,
                Err(failure) => Err(failure),
            };
            match outcome {
                Ok(_) => {
                    if this.recent.insert(&key, Instant::now()) {
                        this.metrics.duplicates.inc();
                    }
                    this.reply(&message, None, charset)
                }
                Err(failure) if failure.kind == ErrorKind::BadData => {
                    let reply = this
                        .refuse_with(message, Rejection::BrokerRefused, None, key, Some(headers))
                        .await;
                    reply.await
                }
                Err(failure) => {
                    this.log_failure(&failure, "Raw write failed; answering AR.");
                    this.producer.on_failure(&failure);
                    this.metrics.rejected(Rejection::NotStored.code());
                    this.reply(&message, Some(Rejection::NotStored), charset)
                }
            }
        })
    }

    /// Dead-letters `bytes` and answers `AE` (or `AR` if even the DLQ cannot take them).
    async fn refuse(
        self: &Arc<Self>,
        bytes: Bytes,
        rejection: Rejection,
        detail: Option<String>,
        received_at: &str,
    ) -> PendingReply {
        let msh = Msh::parse(&bytes).ok();
        let id = msh
            .as_ref()
            .map(|m| String::from_utf8_lossy(m.control_id()).trim().to_owned())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let charset = self.default_charset.unwrap_or(Charset::UTF_8);
        let headers = self.envelope(charset.label, received_at, &id);
        let key = format!("{}:{id}", self.facility);
        drop(msh);
        self.refuse_with(bytes, rejection, detail, key, Some(headers))
            .await
    }

    async fn refuse_with(
        self: &Arc<Self>,
        bytes: Bytes,
        rejection: Rejection,
        detail: Option<String>,
        key: String,
        original: Option<OwnedHeaders>,
    ) -> PendingReply {
        {
            let msh = Msh::parse(&bytes).ok();
            let (kind, event) = msh.as_ref().map(Msh::message_type).unwrap_or_default();
            warn!(facility = %self.facility, source = self.source, error_code = rejection.code(),
                message_type = %String::from_utf8_lossy(kind), trigger = %String::from_utf8_lossy(event),
                control_id = %msh.as_ref().map(|m| String::from_utf8_lossy(m.control_id())).unwrap_or_default(),
                "Message refused; sending it to the DLQ.");
        }
        let detail = detail.unwrap_or_else(|| rejection.to_string());
        let letter = hub_kafka::dlq::DeadLetter {
            error_code: rejection.code(),
            detail: &detail,
            source: None,
        };
        let dlq_headers =
            hub_kafka::dlq::dead_letter_headers(crate::SERVICE, original.as_ref(), &letter)
                .insert(header(headers::SOURCE_TOPIC, &self.topic));
        let enqueued = self
            .producer
            .get()
            .enqueue(OutRecord {
                topic: &self.dlq_topic,
                key: key.as_bytes(),
                payload: &bytes,
                headers: Some(dlq_headers),
            })
            .await;
        let this = Arc::clone(self);
        Box::pin(async move {
            let outcome = match enqueued {
                Ok(delivery) => delivery.await,
                Err(failure) => Err(failure),
            };
            let charset = Msh::parse(&bytes)
                .ok()
                .and_then(|m| {
                    std::str::from_utf8(m.charset())
                        .ok()
                        .and_then(Charset::from_hl7)
                })
                .or(this.default_charset)
                .unwrap_or(Charset::UTF_8);
            let final_rejection = match outcome {
                Ok(_) => {
                    this.metrics.dead_lettered(rejection.code());
                    rejection
                }
                // The DLQ cannot take it either: the sender keeps it in its error queue.
                Err(failure) if failure.kind == ErrorKind::BadData => rejection,
                Err(failure) => {
                    this.log_failure(&failure, "DLQ write failed; answering AR.");
                    this.producer.on_failure(&failure);
                    Rejection::NotStored
                }
            };
            this.metrics.rejected(final_rejection.code());
            this.reply(&bytes, Some(final_rejection), charset)
        })
    }

    fn log_failure(&self, failure: &KafkaFailure, message: &'static str) {
        // The librdkafka error names a broker condition, never message contents.
        warn!(facility = %self.facility, source = self.source, kind = ?failure.kind,
            error = %failure.error, "{message}");
    }

    /// The ACK for `message` with `rejection` (none: stored).
    fn reply(&self, message: &[u8], rejection: Option<Rejection>, charset: Charset) -> Reply {
        let msh = Msh::parse(message).ok();
        let outcome = rejection.map_or(Ok(()), Err);
        let Some(code) = ack_code(msh.as_ref(), outcome) else {
            return Reply::default();
        };
        let control_id = self.ack_ids.next_id();
        let stamp = timestamp();
        let input = AckInput {
            msh: msh.as_ref(),
            rejection,
            charset,
            control_id: &control_id,
            timestamp: &stamp,
        };
        debug!(facility = %self.facility, code = code.as_str(), "Acknowledging.");
        Reply {
            body: Some(build_ack(&input, code)),
            codes: vec![code],
        }
    }
}

//! Dead letters: input a stage cannot process, kept with the reason so nothing is lost.
//!
//! The value is the original bytes and the key the original key; headers say which stage
//! rejected it, a bounded error code, a detail without personal data, and where it came from, so
//! an operator can see, fix and re-drive it.

use prometheus::{IntCounterVec, Opts, Registry};
use rdkafka::message::{Header, Headers, OwnedHeaders};

use crate::error::KafkaFailure;
use crate::headers;
use crate::producer::{Delivery, EventProducer, OutRecord};

/// Where a rejected input was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePosition<'a> {
    /// Input topic.
    pub topic: &'a str,
    /// Input partition.
    pub partition: i32,
    /// Input offset.
    pub offset: i64,
}

/// Why an input is dead-lettered.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetter<'a> {
    /// Bounded snake_case code, e.g. `hl7_missing_msh10`; used as a metric label.
    pub error_code: &'static str,
    /// Explanation for an operator. Must not contain personal data.
    pub detail: &'a str,
    /// The input's position, when it came from Kafka.
    pub source: Option<SourcePosition<'a>>,
}

/// Publishes dead letters for one stage to its `dlq.<stage>` topic.
#[derive(Debug, Clone)]
pub struct DlqPublisher {
    producer: EventProducer,
    stage: String,
    topic: String,
    published: IntCounterVec,
}

impl DlqPublisher {
    /// A publisher for `stage`, writing to `dlq.<stage>`, counting in
    /// `hub_dlq_published_events_total{stage, error_code}` of `registry`.
    ///
    /// # Errors
    /// The counter is already registered in `registry` under a different help text.
    pub fn new(
        producer: EventProducer,
        stage: &str,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let published = IntCounterVec::new(
            Opts::new(
                "hub_dlq_published_events_total",
                "Inputs sent to a dead-letter topic.",
            ),
            &["stage", "error_code"],
        )?;
        match registry.register(Box::new(published.clone())) {
            Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            producer,
            stage: stage.to_owned(),
            topic: format!("dlq.{stage}"),
            published,
        })
    }

    /// The dead-letter topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes the original `key` and `payload` with the reason, keeping `original` headers (the
    /// raw envelope's facility, source, charset...) in front of the dead-letter ones, and waits
    /// until the broker has it.
    ///
    /// # Errors
    /// The broker did not take it; the caller must not move past the input.
    pub async fn publish(
        &self,
        key: &[u8],
        payload: &[u8],
        original: Option<&OwnedHeaders>,
        letter: DeadLetter<'_>,
    ) -> Result<Delivery, KafkaFailure> {
        let headers = dead_letter_headers(&self.stage, original, &letter);
        let delivery = self
            .producer
            .send(OutRecord {
                topic: &self.topic,
                key,
                payload,
                headers: Some(headers),
            })
            .await?;
        self.published
            .with_label_values(&[self.stage.as_str(), letter.error_code])
            .inc();
        Ok(delivery)
    }
}

/// The headers of a dead letter: the original ones (minus stale error headers), then the reason.
pub fn dead_letter_headers(
    stage: &str,
    original: Option<&OwnedHeaders>,
    letter: &DeadLetter<'_>,
) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    if let Some(original) = original {
        for header in original.iter() {
            if !header.key.starts_with("hub-error-") && !header.key.starts_with("hub-source-") {
                out = out.insert(Header {
                    key: header.key,
                    value: header.value,
                });
            }
        }
    }
    out = out
        .insert(Header {
            key: headers::ERROR_CODE,
            value: Some(letter.error_code),
        })
        .insert(Header {
            key: headers::ERROR_DETAIL,
            value: Some(letter.detail),
        })
        .insert(Header {
            key: headers::ERROR_STAGE,
            value: Some(stage),
        });
    if let Some(source) = letter.source {
        out = out
            .insert(Header {
                key: headers::SOURCE_TOPIC,
                value: Some(source.topic),
            })
            .insert(Header {
                key: headers::SOURCE_PARTITION,
                value: Some(&source.partition.to_string()),
            })
            .insert(Header {
                key: headers::SOURCE_OFFSET,
                value: Some(&source.offset.to_string()),
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(h: &'a OwnedHeaders, key: &str) -> Option<&'a str> {
        h.iter()
            .find(|x| x.key == key)
            .and_then(|x| x.value)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    #[test]
    fn keeps_the_envelope_and_adds_the_reason() {
        let original = OwnedHeaders::new()
            .insert(Header {
                key: headers::FACILITY,
                value: Some("H001"),
            })
            .insert(Header {
                key: headers::ERROR_CODE,
                value: Some("stale"),
            });
        let letter = DeadLetter {
            error_code: "hl7_missing_msh10",
            detail: "MSH-10 is empty",
            source: Some(SourcePosition {
                topic: "raw.his.hl7v2",
                partition: 2,
                offset: 41,
            }),
        };
        let h = dead_letter_headers("normaliser", Some(&original), &letter);
        assert_eq!(value(&h, headers::FACILITY), Some("H001"));
        assert_eq!(value(&h, headers::ERROR_CODE), Some("hl7_missing_msh10"));
        assert_eq!(h.iter().filter(|x| x.key == headers::ERROR_CODE).count(), 1);
        assert_eq!(value(&h, headers::ERROR_STAGE), Some("normaliser"));
        assert_eq!(value(&h, headers::SOURCE_PARTITION), Some("2"));
        assert_eq!(value(&h, headers::SOURCE_OFFSET), Some("41"));
    }
}

//! What a loop reads and which messages it takes: the live raw topics, a replay of one raw topic
//! (optionally a time window of it), or the dead letters of `dlq.normaliser` to re-drive.

use chrono::{DateTime, Utc};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::{BorrowedMessage, OwnedHeaders};
use hub_schemas::raw::RawEnvelope;

use crate::envelope::{envelope_from, envelope_from_dead_letter, owned};

/// A half-open time window `[since, until)` over the time the hub received a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// First instant inside (none: from the beginning).
    pub since: Option<DateTime<Utc>>,
    /// First instant after (none: to the end).
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    /// Whether `at_ms` (Unix milliseconds) falls inside.
    pub fn contains(&self, at_ms: i64) -> bool {
        self.since.is_none_or(|s| at_ms >= s.timestamp_millis())
            && self.until.is_none_or(|u| at_ms < u.timestamp_millis())
    }

    /// Whether the window is the whole topic.
    pub fn is_everything(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}

/// Which messages a loop takes, and how it reads them.
#[derive(Debug, Clone, Default)]
pub enum Intake {
    /// Raw topics, every message.
    #[default]
    Live,
    /// A raw topic, the messages received inside `window`. The time of a message is its
    /// `hub-received-at` header, or its Kafka timestamp where the header is missing or invalid.
    Replay {
        /// The window.
        window: Window,
    },
    /// Dead letters of `dlq.normaliser`, rebuilt into their original raw input.
    Redrive {
        /// Only letters with this error code (others are skipped).
        error_code: Option<String>,
    },
}

/// Why a message was not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Replay: received outside the window.
    OutsideWindow,
    /// Re-drive: another error code than the one asked for.
    OtherErrorCode,
    /// Re-drive: the letter has no source position to rebuild its input from.
    NoSourcePosition,
}

/// A message taken for processing.
#[derive(Debug)]
pub struct Admitted {
    /// The input (for a dead letter: as first read from its raw topic).
    pub raw: RawEnvelope,
    /// Headers to keep in front of a dead letter's own.
    pub headers: Option<OwnedHeaders>,
    /// Re-drive: the code the input was dead-lettered with.
    pub previous_code: Option<String>,
}

impl Intake {
    /// Takes or skips `message`.
    ///
    /// # Errors
    /// The reason it is skipped.
    pub fn admit(&self, message: &BorrowedMessage<'_>) -> Result<Admitted, Skip> {
        match self {
            Self::Live => Ok(raw_input(message)),
            Self::Replay { window } => {
                let input = raw_input(message);
                let at = match input.raw.received_at_ms {
                    0 => message.timestamp().to_millis().unwrap_or_default(),
                    at => at,
                };
                if window.contains(at) {
                    Ok(input)
                } else {
                    Err(Skip::OutsideWindow)
                }
            }
            Self::Redrive { error_code } => {
                let letter = envelope_from_dead_letter(message).ok_or(Skip::NoSourcePosition)?;
                if error_code.as_ref().is_some_and(|c| *c != letter.error_code) {
                    return Err(Skip::OtherErrorCode);
                }
                Ok(Admitted {
                    raw: letter.raw,
                    headers: Some(letter.headers),
                    previous_code: Some(letter.error_code),
                })
            }
        }
    }
}

fn raw_input(message: &BorrowedMessage<'_>) -> Admitted {
    Admitted {
        raw: envelope_from(message),
        headers: message.headers().map(owned),
        previous_code: None,
    }
}

/// What a loop did, for the replay and re-drive reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages read.
    pub read: u64,
    /// Canonical events acknowledged by the broker.
    pub produced_events: u64,
    /// Messages written to `dlq.normaliser`.
    pub dead_lettered: u64,
    /// Replay: messages received outside the window.
    pub skipped_outside_window: u64,
    /// Re-drive: letters of another error code, or without a source position.
    pub skipped_other: u64,
    /// Re-drive: letters that failed again with the same code (left where they are).
    pub still_failing: u64,
}

impl Counts {
    /// Counts a skipped message.
    pub fn skip(&mut self, why: Skip) {
        match why {
            Skip::OutsideWindow => self.skipped_outside_window += 1,
            Skip::OtherErrorCode | Skip::NoSourcePosition => self.skipped_other += 1,
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read={} produced_events={} dead_lettered={} skipped_outside_window={} \
             skipped_other={} still_failing={}",
            self.read,
            self.produced_events,
            self.dead_lettered,
            self.skipped_outside_window,
            self.skipped_other,
            self.still_failing
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_half_open() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
        };
        let window = Window {
            since: at("2026-11-21T00:00:00Z"),
            until: at("2026-11-22T00:00:00Z"),
        };
        let ms = |s: &str| at(s).map(|t| t.timestamp_millis()).unwrap_or_default();
        assert!(window.contains(ms("2026-11-21T00:00:00Z")));
        assert!(window.contains(ms("2026-11-21T23:59:59Z")));
        assert!(!window.contains(ms("2026-11-22T00:00:00Z")));
        assert!(!window.contains(ms("2026-11-20T23:59:59Z")));
        assert!(Window::default().contains(0));
        assert!(Window::default().is_everything());
    }
}

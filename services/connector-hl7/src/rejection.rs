//! Why a message is refused: the HL7 error code (table 0357) for the `ERR` segment, a bounded
//! snake_case code for the DLQ header and metric label, and a detail without personal data.

/// A reason to answer `AE`/`CE` (content error) or `AR`/`CR` (not stored, resend later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The frame does not start with an MSH (or FHS/BHS) segment.
    #[error("the message does not start with an MSH segment")]
    MissingMsh,
    /// MSH-1 or MSH-2 (field separator, encoding characters) is unusable.
    #[error("MSH-1/MSH-2 field separator or encoding characters are invalid")]
    BadDelimiters,
    /// MSH-10 (message control id) is empty.
    #[error("MSH-10 message control id is empty")]
    MissingControlId,
    /// MSH-10 is longer than any HL7 version allows.
    #[error("MSH-10 message control id is longer than 199 bytes")]
    ControlIdTooLong,
    /// MSH-18 names a character set the hub cannot read (or the listener's default is unknown).
    #[error("MSH-18 names an unsupported character set")]
    UnsupportedCharset,
    /// The frame is larger than the listener's `max_message_bytes`.
    #[error("the message is larger than the configured maximum size")]
    TooLarge,
    /// The frame ended (EOF or a new start block) before its end block.
    #[error("the MLLP frame was truncated before its end block")]
    Truncated,
    /// The broker refused the record itself (e.g. larger than the broker accepts).
    #[error("the broker refused the message as invalid")]
    BrokerRefused,
    /// The broker did not confirm the write in time, or is unavailable: resend later.
    #[error("the message could not be stored; resend it later")]
    NotStored,
}

/// How the sender should treat a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Content error: do not resend unchanged (`AE`/`CE`); the bytes are in the DLQ.
    Error,
    /// Rejected for reasons unrelated to content: resend later (`AR`/`CR`).
    Reject,
}

impl Rejection {
    /// Bounded snake_case code for `hub-error-code` and the `error_code` metric label.
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingMsh => "hl7_missing_msh",
            Self::BadDelimiters => "hl7_bad_delimiters",
            Self::MissingControlId => "hl7_missing_control_id",
            Self::ControlIdTooLong => "hl7_control_id_too_long",
            Self::UnsupportedCharset => "hl7_unsupported_charset",
            Self::TooLarge => "hl7_message_too_large",
            Self::Truncated => "mllp_truncated_frame",
            Self::BrokerRefused => "kafka_refused",
            Self::NotStored => "kafka_unavailable",
        }
    }

    /// HL7 table 0357 code and its text, for `ERR-3` (v2.5+) or `ERR-1` (earlier versions).
    pub const fn hl7_code(self) -> (u16, &'static str) {
        match self {
            Self::MissingMsh => (100, "Segment sequence error"),
            Self::BadDelimiters | Self::ControlIdTooLong => (102, "Data type error"),
            Self::MissingControlId => (101, "Required field missing"),
            Self::UnsupportedCharset => (103, "Table value not found"),
            Self::TooLarge | Self::Truncated | Self::BrokerRefused | Self::NotStored => {
                (207, "Application internal error")
            }
        }
    }

    /// The segment and field at fault (`ERR-2`), when there is one.
    pub const fn location(self) -> Option<(&'static str, u8)> {
        match self {
            Self::MissingMsh => Some(("MSH", 0)),
            Self::BadDelimiters => Some(("MSH", 2)),
            Self::MissingControlId | Self::ControlIdTooLong => Some(("MSH", 10)),
            Self::UnsupportedCharset => Some(("MSH", 18)),
            _ => None,
        }
    }

    /// Whether the sender should fix the message (`AE`) or just resend later (`AR`).
    pub const fn severity(self) -> Severity {
        match self {
            Self::NotStored => Severity::Reject,
            _ => Severity::Error,
        }
    }

    /// Every rejection, for tests and documentation.
    pub const ALL: [Self; 9] = [
        Self::MissingMsh,
        Self::BadDelimiters,
        Self::MissingControlId,
        Self::ControlIdTooLong,
        Self::UnsupportedCharset,
        Self::TooLarge,
        Self::Truncated,
        Self::BrokerRefused,
        Self::NotStored,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_bounded_snake_case() {
        for r in Rejection::ALL {
            let code = r.code();
            assert!(
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            );
            assert!(r.hl7_code().0 >= 100);
        }
        assert_eq!(Rejection::NotStored.severity(), Severity::Reject);
        assert_eq!(Rejection::MissingControlId.hl7_code().0, 101);
    }
}

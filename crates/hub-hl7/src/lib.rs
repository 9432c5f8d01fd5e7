//! HL7 v2 for the county health hub: an ER7 parser and the mapping of HIS, LIS and RIS messages
//! to canonical events.
//!
//! Layout:
//! - [`charset`]: `hub-charset` / MSH-18 names to decoders (UTF-8, GB18030, GBK, ISO-8859-1).
//! - [`message`]: a zero-copy parser (segments, fields, repetitions, components,
//!   sub-components with the message's own delimiters); `escape` decodes escape sequences.
//! - [`time`]: TS/DTM of any precision and zone (no zone: China Standard Time).
//! - [`map_hl7`]: the [`hub_mapping`] entry point. Per message type: `adt` (A01-A13, A28, A31,
//!   A40), `lab` (ORU^R01 from the LIS), `imaging` (ORM^O01, OMI^O23, ORU^R01 from the RIS),
//!   `referral` (REF^I12-I14); `patient` reads PID/MRG; `codes` maps HL7 values to hub
//!   vocabularies.
//!
//! Every event's `facility_code` is the authenticated sender (`RawEnvelope.facility`), never
//! MSH-4, which the sender controls. Vendor Z-segments and unknown segments are ignored. Error
//! details name segments and fields only, never their content.

// Event literals end in `..Default::default()`: canonical schemas evolve by appending fields
// with defaults (FULL_TRANSITIVE), which this mapping must keep compiling through.
#![allow(clippy::needless_update)]

pub mod charset;
mod codes;
mod escape;
pub mod message;
pub mod time;

mod adt;
mod imaging;
mod lab;
mod order;
mod patient;
mod referral;

use std::borrow::Cow;

use hub_mapping::{MapError, Mapped};
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{CanonicalEvent, CodedValue, Provenance};

pub use charset::Charset;
pub use message::{Message, ParseError};

use message::{Segment, Value};

/// The bounded error codes of this mapping (the DLQ `hub-error-code`).
pub mod error_code {
    /// Not an HL7 v2 message: no MSH, bad delimiters, a line that is not a segment.
    pub const UNPARSEABLE: &str = "hl7_unparseable";
    /// Unknown charset name, or bytes malformed in the declared charset.
    pub const BAD_CHARSET: &str = "hl7_bad_charset";
    /// A message type or trigger this mapping does not handle.
    pub const UNSUPPORTED_MESSAGE_TYPE: &str = "hl7_unsupported_message_type";
    /// A message about a patient without a PID segment.
    pub const MISSING_PID: &str = "hl7_missing_pid";
    /// An A40 merge without its MRG segment.
    pub const MISSING_MRG: &str = "hl7_missing_mrg";
}

/// Identifier systems of `Person.identifiers`.
pub mod oid {
    /// Resident ID number (身份证号), CDA identifier OID.
    pub const RESIDENT_ID: &str = "2.16.156.10011.1.3";
    /// Medical record number (病案号, PID-3 type MR), CDA identifier OID.
    pub const MEDICAL_RECORD_NUMBER: &str = "2.16.156.10011.1.13";
    /// Health card number (健康卡号, PID-3 type HC), CDA identifier OID.
    pub const HEALTH_CARD: &str = "2.16.156.10011.1.19";
    /// Hub-defined default for a facility's own patient id (PID-3 type PI or untyped); a
    /// UUID-derived OID (arc 2.25), which the normaliser's configuration may replace.
    pub const FACILITY_PATIENT_ID: &str = "2.25.331406917902809964036633312480680586100";
    /// Hub-defined default for the NHSA insurance person number (`psn_no`); a UUID-derived
    /// OID (arc 2.25), which the normaliser's configuration may replace.
    pub const INSURANCE_PSN_NO: &str = "2.25.239410680594744812958318364745605549231";
}

/// Maps one raw HL7 v2 message to canonical events and the patient they are about.
///
/// # Errors
/// A [`MapError`] with a code from [`error_code`].
pub fn map_hl7(raw: &RawEnvelope) -> Result<Mapped, MapError> {
    let (text, charset) = decode(raw)?;
    let msg = Message::parse(&text, charset)
        .map_err(|e| MapError::new(error_code::UNPARSEABLE, e.to_string()))?;
    map_message(raw, &msg)
}

/// Decodes the payload in the envelope's charset (`hub-charset`; MSH-18 when the header is
/// empty; UTF-8 when both are).
///
/// # Errors
/// [`error_code::BAD_CHARSET`] for an unknown charset or malformed bytes.
pub fn decode(raw: &RawEnvelope) -> Result<(Cow<'_, str>, Charset), MapError> {
    let name = if raw.charset.trim().is_empty() {
        charset::msh18(&raw.payload).unwrap_or_default()
    } else {
        raw.charset.as_str()
    };
    let charset = Charset::from_name(name).ok_or_else(|| {
        MapError::new(
            error_code::BAD_CHARSET,
            "the declared charset is not supported",
        )
    })?;
    let text = charset.decode(&raw.payload).ok_or_else(|| {
        MapError::new(
            error_code::BAD_CHARSET,
            "the payload is malformed in the declared charset",
        )
    })?;
    Ok((text, charset))
}

/// Maps an already parsed message (see [`map_hl7`]).
///
/// # Errors
/// A [`MapError`] with a code from [`error_code`].
pub fn map_message(raw: &RawEnvelope, msg: &Message<'_>) -> Result<Mapped, MapError> {
    let msh = msg.msh();
    let (kind, trigger) = match (msh.get(9, 1).raw(), msh.get(9, 2).raw()) {
        (k, "") if k.contains('_') => k.split_once('_').unwrap_or((k, "")),
        pair => pair,
    };
    let ctx = Ctx {
        raw,
        msg,
        trigger,
        msh_time: time::parse_ts(msh.get(7, 1).raw()),
    };
    match (kind, trigger) {
        ("ADT", _) => adt::map(&ctx),
        ("ORU", "R01") if is_imaging_report(raw, msg) => imaging::map_report(&ctx),
        ("ORU", "R01") => lab::map(&ctx),
        ("ORM", "O01") | ("OMI", "O23") => imaging::map_order(&ctx),
        ("REF", "I12" | "I13" | "I14") => referral::map(&ctx),
        _ => Err(unsupported(kind, trigger)),
    }
}

/// ORU^R01 routing: by the envelope source (`imaging` or `lab`); for other senders by OBR-24,
/// the diagnostic service section (RAD, CT, MR, US...).
fn is_imaging_report(raw: &RawEnvelope, msg: &Message<'_>) -> bool {
    match raw.source.as_str() {
        "imaging" => true,
        "lab" => false,
        _ => msg
            .segment("OBR")
            .is_some_and(|obr| codes::is_imaging_section(obr.get(24, 1).raw())),
    }
}

fn unsupported(kind: &str, trigger: &str) -> MapError {
    // Message type and trigger are codes, not personal data; bounded in length all the same.
    let shown: String = format!("{kind}^{trigger}").chars().take(16).collect();
    MapError::new(
        error_code::UNSUPPORTED_MESSAGE_TYPE,
        format!("MSH-9 message type {shown} is not mapped"),
    )
}

/// What every message mapping needs: the envelope, the parsed message, MSH-9.2 and MSH-7.
pub(crate) struct Ctx<'r, 'm, 'a> {
    /// The raw envelope.
    pub raw: &'r RawEnvelope,
    /// The parsed message.
    pub msg: &'m Message<'a>,
    /// MSH-9.2 trigger event, e.g. `A01`.
    pub trigger: &'a str,
    /// MSH-7 message time.
    pub msh_time: Option<i64>,
}

impl<'a> Ctx<'_, '_, 'a> {
    /// The deterministic id of the `index`-th event of type `T` in this message.
    pub fn event_id<T: CanonicalEvent>(&self, index: usize) -> String {
        hub_mapping::event_id(self.raw, T::CONTRACT.entity, index)
    }

    /// Provenance of every event of this message.
    pub fn provenance(&self) -> Provenance {
        hub_mapping::provenance(self.raw)
    }

    /// MSH-7, else the time the connector received the message.
    pub fn fallback_time(&self) -> i64 {
        self.msh_time.unwrap_or(self.raw.received_at_ms)
    }

    /// The PID segment, or [`error_code::MISSING_PID`].
    pub fn pid(&self) -> Result<Segment<'_, 'a>, MapError> {
        self.msg
            .segment("PID")
            .ok_or_else(|| MapError::new(error_code::MISSING_PID, "no PID segment"))
    }

    /// PV1-19 visit number (CX-1).
    pub fn visit_number(&self) -> Option<String> {
        self.msg.segment("PV1").and_then(|pv1| pv1.text(19, 1))
    }
}

/// A timestamp field (first repetition, first component).
pub(crate) fn ts(seg: &Segment<'_, '_>, field: usize) -> Option<i64> {
    time::parse_ts(seg.get(field, 1).raw())
}

/// A CE/CWE value: code (or the alternate code), display, system; `None` when it has neither
/// code nor text.
pub(crate) fn coded(v: Value<'_>) -> Option<CodedValue> {
    let (code, display, system) = match v.comp(1).text() {
        Some(code) => (Some(code), v.comp(2).text(), v.comp(3).text()),
        None => match v.comp(4).text() {
            Some(alt) => (Some(alt), v.comp(5).text(), v.comp(6).text()),
            None => (None, v.comp(2).text(), v.comp(3).text()),
        },
    };
    if code.is_none() && display.is_none() {
        return None;
    }
    Some(CodedValue {
        code: code.unwrap_or_default(),
        system: system.unwrap_or_default(),
        display,
    })
}

/// An XON organisation id (XON-10 in v2.5, XON-3 before) or an HD namespace id.
pub(crate) fn org_code(v: Value<'_>) -> Option<String> {
    v.comp(10).text().or_else(|| v.comp(3).text())
}

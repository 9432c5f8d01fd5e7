//! The pure rules of the sink: validation, versions, natural keys and in-batch de-duplication.
//!
//! **Versions.** Events carry no version number. Two events with the same `event_id` come from
//! the same source message and position, so they are the same fact; the newer rendering wins,
//! where "newer" is `(event_time, received_at)`. An identical replay has an equal version and
//! rewrites the row with the same values (which lets a re-processed raw topic apply a mapping
//! fix); an older rendering arriving late changes nothing.
//!
//! **Natural keys.** A correction or status change of the same thing has a *new* event id. The
//! natural key names the thing, and exactly the newest event of each natural key (by
//! `(event_time, received_at, event_id)`) is `is_current`:
//!
//! | entity | natural key | why |
//! |---|---|---|
//! | person | person id | current demographics of an EMPI person |
//! | encounter | facility, visit number | the visit's latest state (a CANCEL_* event is current when it was last) |
//! | diagnosis | facility, visit number, code | RECORDED / UPDATED / REMOVED of one diagnosis of a visit |
//! | lab result | facility, order id, test code, observation seq | an OBX-11 `C` resend keeps order, test and OBX-1 |
//! | imaging study | facility, order id | one study per order, status progresses |
//! | imaging report | facility, order id | preliminary, final and corrected reports of one order |
//! | settlement | setl id | NHSA's own idempotency key; reversals have their own setl id |
//! | referral | from facility, referral id | status progresses (issued, accepted, completed) |
//! | identity link | event id | every link decision is its own fact |
//! | clinical alert | alert id | the alert's latest state |

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use hub_schemas::{
    AnyEvent, ClinicalAlert, Diagnosis, Encounter, IdentityLink, IdentityLinkAction, ImagingReport,
    ImagingStudy, LabResult, Person, Provenance, Referral, Settlement,
};

/// Separator inside natural keys (ASCII unit separator: never part of a code or id).
const SEP: char = '\u{1f}';

/// The envelope fields every canonical event carries.
pub trait Envelope {
    /// Deterministic event id.
    fn event_id(&self) -> &str;
    /// EMPI person id.
    fn person_id(&self) -> &str;
    /// Reporting facility.
    fn facility_code(&self) -> &str;
    /// Clinical or administrative time, epoch milliseconds.
    fn event_time(&self) -> i64;
    /// Where the event came from.
    fn provenance(&self) -> &Provenance;
    /// The natural key (see the module documentation).
    fn natural_key(&self) -> String;
    /// The version: `(event_time, received_at)`.
    fn version(&self) -> (i64, i64) {
        (self.event_time(), self.provenance().received_at)
    }
}

macro_rules! envelope {
    ($($t:ty => |$e:ident| $nk:expr;)*) => {$(
        impl Envelope for $t {
            fn event_id(&self) -> &str { &self.event_id }
            fn person_id(&self) -> &str { &self.person_id }
            fn facility_code(&self) -> &str { &self.facility_code }
            fn event_time(&self) -> i64 { self.event_time }
            fn provenance(&self) -> &Provenance { &self.provenance }
            fn natural_key(&self) -> String { let $e = self; $nk }
        }
    )*};
}

envelope! {
    Person => |e| key(&["person", &e.person_id]);
    Encounter => |e| key(&["encounter", &e.facility_code, &e.encounter_id]);
    Diagnosis => |e| key(&["diagnosis", &e.facility_code, &e.encounter_id, &e.diagnosis.code]);
    LabResult => |e| key(&[
        "lab", &e.facility_code, &e.order_id, &e.test.code, &e.observation_seq.to_string(),
    ]);
    ImagingStudy => |e| key(&["study", &e.facility_code, &e.order_id]);
    ImagingReport => |e| key(&["report", &e.facility_code, &e.order_id]);
    Settlement => |e| key(&["settlement", &e.setl_id]);
    Referral => |e| key(&["referral", &e.from_facility_code, &e.referral_id]);
    IdentityLink => |e| key(&["link", &e.event_id]);
    ClinicalAlert => |e| key(&["alert", &e.alert_id]);
}

fn key(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.push_str(part);
    }
    out
}

/// Epoch milliseconds as a timestamp; `None` outside chrono's range.
pub fn ms(millis: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
}

/// Avro `date` (days since 1970-01-01) as a date; `None` outside chrono's range.
pub fn date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days.into()))
}

/// Earliest plausible event time: 1900-01-01 (epoch ms).
const MIN_EVENT_TIME: i64 = -2_208_988_800_000;
/// Latest plausible event time: 2200-01-01 (epoch ms).
const MAX_EVENT_TIME: i64 = 7_258_118_400_000;

/// Checks what the sink relies on; the error is a bounded dead-letter code.
///
/// # Errors
/// `record_missing_event_id`, `record_missing_person_id`, `record_missing_facility`,
/// `record_invalid_event_time`, or `record_merge_incomplete` (a MERGE/UNMERGE without both ids).
pub fn validate(event: &AnyEvent) -> Result<(), &'static str> {
    fn common<T: Envelope>(e: &T) -> Result<(), &'static str> {
        if e.event_id().trim().is_empty() {
            return Err("record_missing_event_id");
        }
        if e.person_id().trim().is_empty() {
            return Err("record_missing_person_id");
        }
        if e.facility_code().trim().is_empty() {
            return Err("record_missing_facility");
        }
        if !(MIN_EVENT_TIME..MAX_EVENT_TIME).contains(&e.event_time()) {
            return Err("record_invalid_event_time");
        }
        Ok(())
    }
    match event {
        AnyEvent::Person(e) => common(e),
        AnyEvent::Encounter(e) => common(e),
        AnyEvent::Diagnosis(e) => common(e),
        AnyEvent::LabResult(e) => common(e),
        AnyEvent::ImagingStudy(e) => common(e),
        AnyEvent::ImagingReport(e) => common(e),
        AnyEvent::Settlement(e) => common(e),
        AnyEvent::Referral(e) => common(e),
        AnyEvent::ClinicalAlert(e) => common(e),
        AnyEvent::IdentityLink(e) => {
            common(e)?;
            let re_keys = matches!(
                e.action,
                IdentityLinkAction::Merge | IdentityLinkAction::Unmerge
            );
            let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
            if re_keys && (blank(&e.previous_person_id) || blank(&e.surviving_person_id)) {
                return Err("record_merge_incomplete");
            }
            Ok(())
        }
    }
}

/// Keeps one event per event id: the newest version, and of equal versions the last one read.
/// Input order is otherwise kept. PostgreSQL refuses an upsert that touches a row twice, so
/// this runs before every batch insert.
pub fn dedupe<T: Envelope>(events: Vec<T>) -> Vec<T> {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(events.len());
    let mut out: Vec<Option<T>> = Vec::with_capacity(events.len());
    for event in events {
        match index.get(event.event_id()) {
            Some(&i) => {
                let keep_old = out[i]
                    .as_ref()
                    .is_some_and(|old| old.version() > event.version());
                if !keep_old {
                    out[i] = Some(event);
                }
            }
            None => {
                index.insert(event.event_id().to_owned(), out.len());
                out.push(Some(event));
            }
        }
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(id: &str, time: i64, received: i64, value: &str) -> LabResult {
        LabResult {
            event_id: id.into(),
            person_id: "P1".into(),
            facility_code: "F1".into(),
            event_time: time,
            provenance: Provenance {
                received_at: received,
                ..Provenance::default()
            },
            order_id: "O1".into(),
            observation_seq: 1,
            value_text: value.into(),
            ..LabResult::default()
        }
    }

    #[test]
    fn dedupe_keeps_the_newest_version_and_the_last_of_equals() {
        let out = dedupe(vec![
            lab("a", 10, 1, "first"),
            lab("b", 5, 1, "b"),
            lab("a", 10, 1, "replayed"),
            lab("a", 9, 9, "older"),
        ]);
        let got: Vec<_> = out
            .iter()
            .map(|e| (e.event_id.as_str(), e.value_text.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "replayed"), ("b", "b")]);
    }

    #[test]
    fn corrections_share_the_natural_key_and_other_tests_do_not() {
        let first = lab("a", 1, 1, "5.0");
        let corrected = lab("b", 2, 2, "5.6");
        assert_eq!(first.natural_key(), corrected.natural_key());
        let mut other = lab("c", 1, 1, "1");
        other.observation_seq = 2;
        assert_ne!(first.natural_key(), other.natural_key());
        // Parts cannot run into each other.
        let mut shifted = lab("d", 1, 1, "1");
        shifted.facility_code = "F".into();
        shifted.order_id = "1O1".into();
        assert_ne!(first.natural_key(), shifted.natural_key());
    }

    #[test]
    fn validation_codes() {
        assert_eq!(validate(&AnyEvent::LabResult(lab("a", 1, 1, "x"))), Ok(()));
        let mut e = lab("", 1, 1, "x");
        assert_eq!(
            validate(&AnyEvent::LabResult(e.clone())),
            Err("record_missing_event_id")
        );
        e.event_id = "a".into();
        e.person_id = " ".into();
        assert_eq!(
            validate(&AnyEvent::LabResult(e.clone())),
            Err("record_missing_person_id")
        );
        e.person_id = "P".into();
        e.event_time = i64::MAX;
        assert_eq!(
            validate(&AnyEvent::LabResult(e)),
            Err("record_invalid_event_time")
        );
        let merge = IdentityLink {
            event_id: "m".into(),
            person_id: "P2".into(),
            facility_code: "F".into(),
            action: IdentityLinkAction::Merge,
            surviving_person_id: Some("P2".into()),
            ..IdentityLink::default()
        };
        assert_eq!(
            validate(&AnyEvent::IdentityLink(merge)),
            Err("record_merge_incomplete")
        );
    }

    #[test]
    fn converts_avro_times_and_dates() {
        assert_eq!(ms(0).map(|t| t.timestamp()), Some(0));
        assert_eq!(date(0), NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(date(-1), NaiveDate::from_ymd_opt(1969, 12, 31));
    }
}

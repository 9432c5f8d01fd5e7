//! The simulator's promises: the same seed gives the same bytes, every HL7 message maps with
//! `hub-hl7`, every settlement passes `hub-settlement` validation, every resident ID number is
//! valid and unique, every facility is registered, and the expected values are consistent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::collections::HashSet;

use chrono::NaiveDate;
use hub_schemas::raw::RawEnvelope;
use hub_simulator::{Config, County, Route, Simulation, Source};
use hub_terminology::Terminology;

fn terminology() -> Terminology {
    Terminology::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/terminology"
    ))
    .unwrap()
}

fn config(seed: u64) -> Config {
    let mut c = Config::new(seed, 300, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), 30);
    c.admissions_per_year = 1.0;
    c.referral_up_rate = 0.15;
    c
}

fn simulate(seed: u64) -> Simulation {
    let county = County::from_registry(&terminology(), "210281").unwrap();
    Simulation::run(&config(seed), &county)
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let a = serde_json::to_string(&simulate(42)).unwrap();
    let b = serde_json::to_string(&simulate(42)).unwrap();
    assert_eq!(a, b);
    let c = serde_json::to_string(&simulate(43)).unwrap();
    assert_ne!(a, c);
}

#[test]
fn every_hl7_message_maps_and_every_settlement_validates() {
    let sim = simulate(7);
    let terminology = terminology();
    let mut kinds = HashSet::new();
    let (mut hl7, mut settlements) = (0, 0);
    for (offset, m) in sim.messages.iter().enumerate() {
        match &m.route {
            Route::Mllp { facility, source } => {
                assert!(
                    terminology.facility(facility).is_some(),
                    "{facility} registered"
                );
                assert!(m.body.contains("\rZSY|SYNTHETIC"), "marked synthetic");
                let source = match source {
                    Source::His => "his",
                    Source::Lab => "lab",
                    Source::Imaging => "imaging",
                };
                let raw = RawEnvelope {
                    topic: format!("raw.{source}.hl7v2"),
                    offset: offset as i64,
                    facility: facility.clone(),
                    source: source.to_owned(),
                    charset: "UTF-8".into(),
                    message_id: m.id.clone(),
                    synthetic: true,
                    payload: m.body.clone().into_bytes(),
                    ..RawEnvelope::default()
                };
                let mapped = hub_hl7::map_hl7(&raw).unwrap_or_else(|e| panic!("{e:?}\n{}", m.body));
                assert!(mapped.patient.is_some());
                let kind = m.body.split('|').nth(8).unwrap().to_owned();
                if kind.starts_with("ADT^A40") {
                    assert!(mapped.merged_patient.is_some());
                } else {
                    assert!(!mapped.events.is_empty(), "{kind} has events");
                }
                for event in &mapped.events {
                    let mut event = event.clone();
                    let outcome = terminology.apply(&mut event);
                    assert!(
                        outcome.unmapped.is_empty(),
                        "{kind}: unmapped {:?}",
                        outcome.unmapped
                    );
                }
                kinds.insert(kind);
                hl7 += 1;
            }
            Route::Settlement => {
                let valid = hub_settlement::validate(&m.body)
                    .unwrap_or_else(|e| panic!("{e:?}\n{}", m.body));
                assert!(!valid.setl_id.is_empty());
                assert!(m.body.contains("\"synthetic\":true"));
                settlements += 1;
            }
            Route::DicomFile { facility } => {
                assert_eq!(facility, "H21028100004", "the shared imaging centre");
            }
            Route::TableRow { .. } => panic!("no table facility configured"),
        }
    }
    for kind in [
        "ADT^A01^ADT_A01",
        "ADT^A03^ADT_A03",
        "ADT^A04^ADT_A01",
        "ADT^A11^ADT_A09",
        "ADT^A40^ADT_A39",
        "ORU^R01^ORU_R01",
        "ORU^R01",
        "ORM^O01",
        "REF^I12^REF_I12",
    ] {
        assert!(kinds.contains(kind), "{kind} generated: {kinds:?}");
    }
    assert!(
        hl7 > 200 && settlements > 100,
        "{hl7} HL7, {settlements} settlements"
    );
    let bodies: Vec<&str> = sim.messages.iter().map(|m| m.body.as_str()).collect();
    for needle in [
        "\"infno\":\"2601\"",
        "\"infno\":\"2208\"",
        "\"med_type\":\"41\"",
        "\"insuplc_admdvs\":\"210202\"",
        "|HH|",
    ] {
        assert!(
            bodies.iter().any(|b| b.contains(needle)),
            "{needle} generated"
        );
    }
}

#[test]
fn resident_ids_are_valid_and_unique() {
    let sim = simulate(11);
    let mut seen = HashSet::new();
    for r in &sim.residents {
        let id = hub_identity::ResidentId::parse(&r.id_number).expect("valid check character");
        assert_eq!(id.birth_date(), r.birth_date);
        assert_eq!(id.sex().gb2261_code(), r.sex);
        assert!(seen.insert(r.id_number.clone()), "unique");
        assert_eq!(r.phone.len(), 11);
    }
    assert_eq!(sim.residents.len(), 300);
    let households: HashSet<usize> = sim.residents.iter().map(|r| r.household).collect();
    assert!(households.len() > 60 && households.len() < 300);
}

#[test]
fn expected_values_follow_the_rates() {
    let sim = simulate(5);
    let expected = sim.expected();
    let march = expected
        .months
        .iter()
        .find(|m| m.period == "2026-03")
        .unwrap();
    let get = |id: &str| march.indicators.iter().find(|i| i.id == id).unwrap();
    let rate = get("in_county_visit_rate").value.unwrap();
    assert!((0.8..0.97).contains(&rate), "in-county rate {rate}");
    let primary = get("primary_care_visit_share").value.unwrap();
    assert!((0.5..0.8).contains(&primary), "primary share {primary}");
    let lab = march
        .indicators
        .iter()
        .find(|i| i.id == "lab_turnaround_p50_minutes")
        .unwrap();
    assert!(lab.value.unwrap() > 40.0);
    assert!(get("referrals_up").value.unwrap() >= 5.0);
}

#[test]
fn dicom_files_are_part_10_with_the_studys_uids() {
    let sim = simulate(3);
    let instances: Vec<hub_simulator::dicom::Instance> = sim
        .messages
        .iter()
        .filter(|m| matches!(m.route, Route::DicomFile { .. }))
        .map(|m| serde_json::from_str(&m.body).unwrap())
        .collect();
    assert!(!instances.is_empty());
    let orders: Vec<&str> = sim
        .messages
        .iter()
        .filter(|m| m.body.contains("ORM^O01"))
        .map(|m| m.body.as_str())
        .collect();
    let dir = std::env::temp_dir().join(format!("hub-simulator-dicom-{}", std::process::id()));
    for instance in instances.iter().take(3) {
        assert!(
            orders.iter().any(|o| o.contains(&instance.study_uid)),
            "the ORM names the study"
        );
        let path = instance.write_into(&dir).unwrap();
        assert!(path.starts_with(dir.join("incoming")));
        let file = dicom_object::open_file(&path).unwrap();
        let text = |tag| {
            file.element(tag)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                .trim()
                .to_owned()
        };
        use dicom_dictionary_std::tags;
        assert_eq!(text(tags::STUDY_INSTANCE_UID), instance.study_uid);
        assert_eq!(text(tags::ACCESSION_NUMBER), instance.accession);
        assert_eq!(
            text(tags::PATIENT_NAME),
            instance.patient_name,
            "UTF-8 names survive"
        );
        assert_eq!(text(tags::IMAGE_COMMENTS), "SYNTHETIC hub-simulator");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_table_facility_writes_rows_instead_of_registrations() {
    let county = County::from_registry(&terminology(), "210281").unwrap();
    let village = county.villages[0].code.clone();
    let mut c = config(9);
    c.table_facilities = vec![village.clone()];
    let with_table = Simulation::run(&c, &county);
    let plain = simulate(9);
    let rows: Vec<serde_json::Value> = with_table
        .messages
        .iter()
        .filter(|m| {
            m.route
                == Route::TableRow {
                    facility: village.clone(),
                }
        })
        .map(|m| serde_json::from_str(&m.body).unwrap())
        .collect();
    assert!(!rows.is_empty());
    for row in &rows {
        for column in hub_simulator::table::COLUMNS {
            assert!(row.get(*column).is_some(), "{column} in {row}");
        }
        hub_identity::ResidentId::parse(row["patient_id_number"].as_str().unwrap()).unwrap();
    }
    let registrations_at = |sim: &Simulation| {
        sim.messages
            .iter()
            .filter(|m| {
                m.body.contains("ADT^A04")
                    && m.route
                        == Route::Mllp {
                            facility: village.clone(),
                            source: Source::His,
                        }
            })
            .count()
    };
    assert!(registrations_at(&plain) > registrations_at(&with_table));
    // The same county either way: the truth does not depend on the channel.
    assert_eq!(
        serde_json::to_string(&plain.expected()).unwrap(),
        serde_json::to_string(&with_table.expected()).unwrap()
    );
}

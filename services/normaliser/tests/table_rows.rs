//! Front-end-processor table rows end to end: row documents on `raw.<source>.table`, as
//! `connector-table` writes them, become canonical encounter and lab-result events of one person,
//! decoded through the registry; an updated row is a new event (a correction), and a row
//! without a patient goes to the dead-letter topic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use std::time::Duration;

use common::{FACILITY, settings, stack, start};
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::Headers;
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile, headers};
use hub_schemas::{CanonicalEvent, Encounter, EncounterAction, LabResult};
use hub_table::RowDocument;
use hub_test_utils::{kafka_bootstrap, random_name};

fn kafka() -> KafkaSettings {
    KafkaSettings::with_bootstrap(kafka_bootstrap())
}

fn row(
    table: &str,
    kind: &str,
    pk: &str,
    change_time: &str,
    columns: &[(&str, &str)],
) -> RowDocument {
    RowDocument {
        table: table.into(),
        kind: kind.into(),
        facility: FACILITY.into(),
        pk: pk.into(),
        change_time: change_time.into(),
        columns: columns
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
            .collect(),
    }
}

/// Produces rows the way `connector-table` does: JSON document, raw envelope headers.
async fn send_rows(topic: &str, rows: &[RowDocument]) {
    let producer = EventProducer::new(&kafka(), "test-table", ProducerProfile::LowLatency).unwrap();
    for r in rows {
        let id = r.message_id();
        let pairs = [
            (headers::FACILITY, FACILITY),
            (headers::SOURCE, "his"),
            (headers::CONTENT_TYPE, hub_table::CONTENT_TYPE),
            (headers::CHARSET, "UTF-8"),
            (headers::RECEIVED_AT, "2026-11-25T10:00:00+08:00"),
            (headers::MESSAGE_ID, id.as_str()),
            (headers::SYNTHETIC, "true"),
        ];
        let h = common::headers_of(&pairs);
        let key = format!("{FACILITY}:{}:{}", r.table, r.pk);
        producer
            .send(OutRecord {
                topic,
                key: key.as_bytes(),
                payload: &serde_json::to_vec(r).unwrap(),
                headers: Some(h),
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_rows_become_canonical_events() {
    let stack = stack().await;
    let raw_topic = format!("raw.{}.table", random_name("it"));
    // The canonical topics too, as the normaliser creates them: a reader subscribed before they
    // exist waits for a metadata refresh (minutes) on a fresh broker.
    let partitions = hub_schemas::topics::DATA_PARTITIONS;
    let specs = [
        TopicSpec::new(&raw_topic, 1),
        TopicSpec::new(Encounter::CONTRACT.topic, partitions),
        TopicSpec::new(LabResult::CONTRACT.topic, partitions),
    ];
    ensure_topics(&kafka(), &specs).await.unwrap();
    let patient = [("patient_mrn", "TBL-MRN-1"), ("patient_sex", "1")];
    let visit = |pk, time, discharge: Option<&str>| {
        let mut columns = vec![
            ("encounter_id", "ZY-9"),
            ("encounter_class", "3"),
            ("admit_time", "2026-11-20 08:00:00"),
        ];
        columns.extend(patient);
        if let Some(d) = discharge {
            columns.push(("discharge_time", d));
        }
        row("his_visit", "encounter", pk, time, &columns)
    };
    let mut lab_columns = vec![("order_id", "O-1"), ("test_code", "GLU"), ("value", "6.1")];
    lab_columns.extend(patient);
    let no_patient = row(
        "his_lab",
        "lab_result",
        "99",
        "2026-11-25 09:00:00",
        &[("order_id", "O-2"), ("test_code", "GLU")],
    );
    send_rows(
        &raw_topic,
        &[
            visit("1", "2026-11-20 08:00:01", None),
            row(
                "his_lab",
                "lab_result",
                "7",
                "2026-11-21 10:00:00",
                &lab_columns,
            ),
            no_patient,
            // The same visit row updated at discharge: a second version, a correction.
            visit("1", "2026-11-25 09:30:00", Some("2026-11-25 09:30:00")),
        ],
    )
    .await;

    let running = start(settings(&stack, &kafka(), &raw_topic)).await;
    let encounters: Vec<Encounter> =
        common::read(&kafka(), &stack.registry.url, &raw_topic, 2, Duration::ZERO).await;
    let labs: Vec<LabResult> =
        common::read(&kafka(), &stack.registry.url, &raw_topic, 1, Duration::ZERO).await;
    assert_eq!(encounters.len(), 2);
    assert_eq!(encounters[0].action, EncounterAction::Admit);
    assert_eq!(encounters[1].action, EncounterAction::Discharge);
    assert_ne!(
        encounters[0].event_id, encounters[1].event_id,
        "two versions, two events"
    );
    assert_eq!(
        encounters[0].event_id,
        format!("{FACILITY}:his_visit:1@2026-11-20 08:00:01:encounter:0")
    );
    assert_eq!(labs[0].value_numeric, Some(6.1));
    assert_eq!(
        labs[0].person_id, encounters[0].person_id,
        "one patient, one person"
    );
    assert!(labs[0].provenance.synthetic);

    // The row without a patient is in the normaliser's dead-letter topic, with its reason.
    let dlq = HubConsumer::subscribe(
        &kafka(),
        "test-dlq",
        &random_name("dlq"),
        &["dlq.normaliser"],
        Isolation::ReadUncommitted,
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let code = loop {
        assert!(tokio::time::Instant::now() < deadline, "no dead letter");
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(1), dlq.recv()).await else {
            continue;
        };
        let header = |name: &str| {
            m.headers()
                .and_then(|h| h.iter().find(|h| h.key == name))
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        if header(headers::SOURCE_TOPIC).as_deref() == Some(raw_topic.as_str()) {
            break header(headers::ERROR_CODE).unwrap();
        }
    };
    assert_eq!(code, hub_table::error_code::NO_PATIENT);
    running.abort();
}

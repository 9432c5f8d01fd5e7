//! Interoperability proven by a client nobody here wrote: a canonical record produced through the
//! hub's producer and codec is decoded by Confluent's Python client (`confluent-kafka`'s
//! `AvroDeserializer` with its `SchemaRegistryClient`), against the real broker and the hub's
//! registry on PostgreSQL. Every field value must match.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::process::Command;

use hub_avro::{EventCodec, RegistryClient};
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_schemas::{
    AbnormalFlag, CanonicalEvent, CodedValue, Identifier, LabResult, LabResultStatus, Person,
    PersonAction, Provenance,
};
use hub_test_utils::{TestDatabase, kafka_bootstrap, random_name};
use serde_json::Value;

mod registry;

fn provenance(topic: &str) -> Provenance {
    Provenance {
        source_topic: topic.into(),
        source_partition: 3,
        source_offset: 9_876_543_210,
        source_message_id: "MSG-0001".into(),
        received_at: 1_763_880_001_234,
        synthetic: true,
    }
}

fn lab_result() -> LabResult {
    LabResult {
        event_id: "H21028100001:MSG-0001:1".into(),
        person_id: "P-0001".into(),
        facility_code: "H21028100001".into(),
        event_time: 1_763_880_000_000,
        provenance: provenance("raw.lab.hl7v2"),
        order_id: "ORD-42".into(),
        filler_order_id: Some("LIS-42".into()),
        test: CodedValue {
            code: "K".into(),
            system: "LOCAL-LIS".into(),
            display: Some("血钾".into()),
        },
        value_text: "6.8".into(),
        value_numeric: Some(6.8),
        unit: Some("mmol/L".into()),
        reference_range: Some("3.5-5.3".into()),
        abnormal_flag: AbnormalFlag::CriticalHigh,
        result_status: LabResultStatus::Corrected,
        observation_seq: 2,
        ..LabResult::default()
    }
}

fn person() -> Person {
    Person {
        event_id: "H21028100001:ADT-7:0".into(),
        person_id: "P-0001".into(),
        facility_code: "H21028100001".into(),
        event_time: 1_763_000_000_000,
        provenance: provenance("raw.his.hl7v2"),
        identifiers: vec![Identifier {
            system_oid: "2.16.156.10011.1.3".into(),
            assigner_facility_code: None,
            value: "11010519491231002X".into(),
        }],
        id_number: Some("11010519491231002X".into()),
        name: "张三".into(),
        sex_code: "1".into(),
        birth_date: Some(-7306),
        phone: Some("13800138000".into()),
        insured_admdvs: Some("210281".into()),
        action: PersonAction::Registered,
        ..Person::default()
    }
}

/// Produces `value` through the hub's codec and producer, then decodes it with Python.
async fn python_decodes<T: CanonicalEvent>(value: &T) -> anyhow::Result<(Value, Value)> {
    let db = TestDatabase::create().await?;
    let registry = registry::start(&db).await?;
    let settings = KafkaSettings::with_bootstrap(kafka_bootstrap());
    let topic = random_name(T::CONTRACT.topic);
    ensure_topics(&settings, &[TopicSpec::new(&topic, 1)]).await?;

    let codec = EventCodec::<T>::register(RegistryClient::new(&registry.url)?).await?;
    let producer = EventProducer::new(&settings, "interop-test", ProducerProfile::LowLatency)?;
    let payload = codec.encode(value)?;
    producer
        .send(OutRecord {
            topic: &topic,
            key: value.person_id().as_bytes(),
            payload: &payload,
            headers: None,
        })
        .await?;

    let python = std::env::var("HUB_INTEROP_PYTHON")
        .map_err(|_| anyhow::anyhow!("HUB_INTEROP_PYTHON is not set: run `scripts/hub test`"))?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/interop/decode_with_confluent.py"
    );
    let output = tokio::task::spawn_blocking({
        let (topic, url) = (topic.clone(), registry.url.clone());
        move || {
            Command::new(python)
                .args([
                    script,
                    "--bootstrap",
                    &kafka_bootstrap(),
                    "--registry",
                    &url,
                ])
                .args(["--topic", &topic, "--count", "1"])
                .output()
        }
    })
    .await??;
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoded: Value = serde_json::from_slice(&output.stdout)?;
    Ok((serde_json::to_value(value)?, decoded))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_python_decodes_a_lab_result_field_for_field() {
    let (ours, theirs) = python_decodes(&lab_result()).await.unwrap();
    assert_eq!(theirs, ours);
    assert_eq!(theirs["abnormal_flag"], "CRITICAL_HIGH");
    assert_eq!(theirs["test"]["display"], "血钾");
    assert_eq!(theirs["provenance"]["source_offset"], 9_876_543_210_i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_python_decodes_a_person_with_identifiers_and_dates() {
    let (ours, theirs) = python_decodes(&person()).await.unwrap();
    assert_eq!(theirs, ours);
    assert_eq!(theirs["identifiers"][0]["system_oid"], "2.16.156.10011.1.3");
    assert_eq!(
        theirs["birth_date"], -7306,
        "dates travel as Avro days since the epoch"
    );
}

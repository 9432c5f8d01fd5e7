//! One DICOM Part-10 file end to end to canonical: written with dicom-object in GB18030, read as
//! `connector-imaging` reads it (metadata up to the pixel data, as the hub's DICOM JSON), put on a
//! `raw.*.dicom` topic with the connector's envelope, normalised against the real broker, EMPI
//! and registry into an `ImagingStudy` of the resolved person.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use common::{Raw, send_raw, settings, stack, start};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use hub_kafka::KafkaSettings;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_schemas::{CanonicalEvent, ImagingStudy, ImagingStudyStatus};
use hub_test_utils::{kafka_bootstrap, random_name};

fn write_ct_instance(path: &std::path::Path) {
    let mut obj = InMemDicomObject::new_empty();
    let mut put =
        |tag, vr, value: &str| obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "GB18030");
    put(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE);
    put(tags::SOP_INSTANCE_UID, VR::UI, "1.2.156.77.1.1.1");
    put(tags::STUDY_DATE, VR::DA, "20261102");
    put(tags::STUDY_TIME, VR::TM, "094127");
    put(tags::ACCESSION_NUMBER, VR::SH, "A2026110200099");
    put(tags::MODALITY, VR::CS, "CT");
    put(tags::PATIENT_NAME, VR::PN, "张三^三");
    put(tags::PATIENT_ID, VR::LO, "MRN-DICOM-0001");
    put(tags::PATIENT_BIRTH_DATE, VR::DA, "19900101");
    put(tags::PATIENT_SEX, VR::CS, "M");
    put(tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
    put(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.156.77.1");
    put(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.156.77.1.1");
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(vec![7u8; 64 * 64 * 2].into()),
    ));
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
            .media_storage_sop_instance_uid("1.2.156.77.1.1.1"),
    )
    .unwrap()
    .write_to_file(path)
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part10_file_becomes_an_imaging_study_of_its_patient() {
    let stack = stack().await;
    let kafka = KafkaSettings::with_bootstrap(kafka_bootstrap());
    let raw_topic = format!("raw.{}.dicom", random_name("it"));
    // The canonical topic exists before the reader subscribes (on a fresh broker a consumer
    // would otherwise wait for its next metadata refresh to see it).
    let canonical = TopicSpec::new(
        <ImagingStudy as CanonicalEvent>::CONTRACT.topic,
        hub_schemas::topics::DATA_PARTITIONS,
    );
    ensure_topics(&kafka, &[TopicSpec::new(&raw_topic, 1), canonical])
        .await
        .unwrap();
    let path = std::env::temp_dir().join(format!("{}.dcm", random_name("ct")));
    write_ct_instance(&path);
    let instance = connector_imaging::instance::read_part10(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    send_raw(
        &kafka,
        &raw_topic,
        &[Raw::new(
            instance.sop_instance_uid.clone(),
            instance.to_bytes(),
        )],
    )
    .await;

    let normaliser = start(settings(&stack, &kafka, &raw_topic)).await;
    let studies: Vec<ImagingStudy> = common::read(
        &kafka,
        &stack.registry.url,
        &raw_topic,
        1,
        std::time::Duration::ZERO,
    )
    .await;
    let study = &studies[0];
    assert!(study.person_id.starts_with('P'), "{}", study.person_id);
    assert_eq!(study.study_instance_uid.as_deref(), Some("1.2.156.77.1"));
    assert_eq!(study.accession_number.as_deref(), Some("A2026110200099"));
    assert_eq!(study.status, ImagingStudyStatus::Completed);
    assert_eq!(study.modality.as_deref(), Some("CT"));
    assert_eq!(study.performed_at, Some(1_793_583_687_000));
    assert_eq!(study.provenance.source_message_id, "1.2.156.77.1.1.1");
    normaliser.abort();
}

//! Avro encode/decode of a realistic canonical event: the hub's fast path (serde_avro_fast)
//! against apache-avro's two paths (the serde writer/reader with a pre-resolved schema, and the
//! `Value` path most examples use). Prints ns per operation and writes the same lines to
//! `target/bench/avro_codec.txt`. Not a test: run with `cargo bench -p hub-avro`.

use std::hint::black_box;
use std::time::Instant;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use hub_avro::EventCodec;
use hub_schemas::{
    AbnormalFlag, CanonicalEvent, CodedValue, LabResult, LabResultStatus, Provenance,
};

const ITERATIONS: u32 = 200_000;

fn sample() -> LabResult {
    LabResult {
        event_id: "H21028100001:MSG00042:3".into(),
        person_id: "P-7f3a9c2e".into(),
        facility_code: "H21028100001".into(),
        event_time: 1_763_880_000_000,
        provenance: Provenance {
            source_topic: "raw.lab.hl7v2".into(),
            source_partition: 2,
            source_offset: 1_234_567,
            source_message_id: "MSG00042".into(),
            received_at: 1_763_880_001_000,
            synthetic: true,
        },
        order_id: "ORD-2026-000042".into(),
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
        result_status: LabResultStatus::Final,
        observation_seq: 3,
        ..LabResult::default()
    }
}

fn time(label: &str, lines: &mut Vec<String>, mut op: impl FnMut()) {
    for _ in 0..ITERATIONS / 10 {
        op();
    }
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        op();
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS);
    let line = format!("{label:<58} {ns:>9.0} ns/op {:>11.0} ops/s", 1e9 / ns);
    eprintln!("{line}");
    lines.push(line);
}

fn main() -> anyhow::Result<()> {
    let value = sample();
    let codec = EventCodec::<LabResult>::with_schema_id(1)?;
    let framed = codec.encode(&value)?;
    let datum = &framed[5..];
    let schema = Schema::parse_str(LabResult::CONTRACT.schema)?;
    let writer = GenericDatumWriter::builder(&schema).build()?;
    let reader = GenericDatumReader::builder(&schema).build()?;
    assert_eq!(
        writer.write_ser_to_vec(&value)?,
        datum,
        "both libraries write the same bytes"
    );

    let mut lines = vec![format!(
        "LabResult, {} bytes framed, {ITERATIONS} iterations, {}",
        framed.len(),
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        }
    )];
    eprintln!("{}", lines[0]);
    let mut buffer = Vec::with_capacity(512);
    time(
        "encode  serde_avro_fast (EventCodec, reused buffer)",
        &mut lines,
        || {
            buffer.clear();
            codec
                .encode_into(black_box(&value), &mut buffer)
                .expect("encodes");
            black_box(&buffer);
        },
    );
    time(
        "encode  apache-avro GenericDatumWriter::write_ser",
        &mut lines,
        || {
            black_box(writer.write_ser_to_vec(black_box(&value)).expect("encodes"));
        },
    );
    time(
        "encode  apache-avro to_value + write_value (Value path)",
        &mut lines,
        || {
            let v = apache_avro::to_value(black_box(&value)).expect("to value");
            black_box(writer.write_value_to_vec(v).expect("encodes"));
        },
    );
    time("decode  serde_avro_fast (EventCodec)", &mut lines, || {
        black_box(codec.decode_cached(black_box(&framed)).expect("decodes"));
    });
    time(
        "decode  apache-avro GenericDatumReader::read_deser",
        &mut lines,
        || {
            let got: LabResult = reader.read_deser(&mut black_box(datum)).expect("decodes");
            black_box(got);
        },
    );
    time(
        "decode  apache-avro read_value + from_value (Value path)",
        &mut lines,
        || {
            let v = reader.read_value(&mut black_box(datum)).expect("decodes");
            black_box(apache_avro::from_value::<LabResult>(&v).expect("from value"));
        },
    );

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("avro_codec.txt"), lines.join("\n") + "\n")?;
    Ok(())
}

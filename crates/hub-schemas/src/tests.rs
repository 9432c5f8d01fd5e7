//! Ties the generated types to the `.avsc` files through two Avro implementations.

use super::*;
use apache_avro::Schema;
use serde_json::Value;

/// Serialises a value of every top-level type and checks, with apache-avro reading the bytes
/// that serde_avro_fast wrote, that the data is valid under the committed schema and decodes back
/// to the same value.
fn round_trip<T: CanonicalEvent + Default + PartialEq + std::fmt::Debug>(value: T) {
    let contract = T::CONTRACT;
    let fast: serde_avro_fast::Schema = contract.schema.parse().expect("schema parses");
    let bytes = serde_avro_fast::to_datum_vec(
        &value,
        &mut serde_avro_fast::ser::SerializerConfig::new(&fast),
    )
    .expect("serialises");
    let schema = Schema::parse_str(contract.schema).expect("apache-avro parses");
    let decoded = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .expect("reader")
        .read_value(&mut bytes.as_slice())
        .expect("apache-avro reads what serde_avro_fast wrote");
    assert!(
        decoded.validate(&schema),
        "{}: decoded value does not validate",
        contract.entity
    );
    let back: T = serde_avro_fast::from_datum_slice(&bytes, &fast).expect("deserialises");
    assert_eq!(back, value, "{}", contract.entity);
}

/// The JSON object keys the Rust type serialises to must be the schema's field names, in order,
/// recursively through nested records.
fn same_fields(schema: &Value, value: &Value, path: &str) {
    let fields = schema["fields"].as_array().expect("record fields");
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{path}: not an object"));
    let schema_names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    let rust_names: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(schema_names, rust_names, "{path}: fields differ");
    for field in fields {
        let name = field["name"].as_str().unwrap();
        if let (Some(nested), Some(inner)) = (
            record_definition(&field["type"]),
            object.get(name).filter(|v| v.is_object()),
        ) {
            same_fields(nested, inner, &format!("{path}.{name}"));
        }
    }
}

fn record_definition(ty: &Value) -> Option<&Value> {
    match ty {
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("record") => Some(ty),
        Value::Array(branches) => branches.iter().find_map(record_definition),
        _ => None,
    }
}

macro_rules! for_each_canonical {
    ($check:ident) => {
        $check::<Person>();
        $check::<Encounter>();
        $check::<Diagnosis>();
        $check::<LabResult>();
        $check::<ImagingStudy>();
        $check::<ImagingReport>();
        $check::<Settlement>();
        $check::<Referral>();
        $check::<IdentityLink>();
        $check::<ClinicalAlert>();
    };
}

fn defaults_round_trip<T: CanonicalEvent + Default + PartialEq + std::fmt::Debug>() {
    round_trip(T::default());
}

fn fields_match<T: CanonicalEvent + Default>() {
    let schema: Value = serde_json::from_str(T::CONTRACT.schema).unwrap();
    let value = serde_json::to_value(T::default()).unwrap();
    same_fields(&schema, &value, T::CONTRACT.record);
}

#[test]
fn every_type_round_trips_through_both_avro_implementations() {
    for_each_canonical!(defaults_round_trip);
}

#[test]
fn every_type_has_exactly_the_schema_fields() {
    for_each_canonical!(fields_match);
}

#[test]
fn the_table_lists_every_schema_file_once() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/canonical");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "avsc")
        })
        .count();
    assert_eq!(CANONICAL.len(), files);
    assert_eq!(CANONICAL.len(), 10);
    for contract in CANONICAL {
        assert_eq!(contract.subject, format!("{}-value", contract.topic));
        assert_eq!(contract_for_topic(contract.topic), Some(*contract));
    }
}

#[test]
fn every_field_is_documented_and_money_is_never_floating_point() {
    fn walk(schema: &Value, path: &str) {
        for field in schema["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap();
            let doc = field["doc"].as_str().unwrap_or("");
            assert!(doc.len() > 3, "{path}.{name} has no doc");
            if field.get("unit").and_then(Value::as_str) == Some("fen") {
                let ty = &field["type"];
                let long = ty == "long"
                    || ty
                        .as_array()
                        .is_some_and(|b| b.len() == 2 && b[1] == "long");
                assert!(
                    long,
                    "{path}.{name}: money must be an integer number of fen"
                );
            }
            if let Some(nested) = record_definition(&field["type"]) {
                walk(nested, &format!("{path}.{name}"));
            }
        }
    }
    for contract in CANONICAL {
        let schema: Value = serde_json::from_str(contract.schema).unwrap();
        walk(&schema, contract.record);
    }
}

#[test]
fn settlement_money_fields_are_fen() {
    let schema: Value = serde_json::from_str(Settlement::CONTRACT.schema).unwrap();
    for money in ["medfee_sumamt", "fund_pay_sumamt", "psn_cash_pay"] {
        let field = schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == money)
            .unwrap_or_else(|| panic!("{money} missing"));
        assert_eq!(field["unit"], "fen", "{money}");
        assert_eq!(field["type"], "long", "{money}");
    }
}

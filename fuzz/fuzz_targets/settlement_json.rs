//! Settlement input: the insurance connector's record splitting (HTTP JSON body, JSON Lines,
//! CSV in UTF-8 and GB18030) and `hub_settlement::map_settlement` (validation and mapping, what
//! the normaliser runs on `raw.insurance.settlement`) on the whole input and on every record.
#![no_main]

use connector_insurance::csv_records::split_csv;
use connector_insurance::records::{split_body, split_lines};
use hub_schemas::raw::RawEnvelope;

fn map(bytes: &[u8]) {
    let raw = RawEnvelope {
        topic: "raw.insurance.settlement".into(),
        facility: "H001".into(),
        source: "insurance".into(),
        charset: "UTF-8".into(),
        received_at_ms: 1_700_000_000_000,
        message_id: "S1".into(),
        payload: bytes.to_vec(),
        ..RawEnvelope::default()
    };
    let _ = hub_settlement::map_settlement(&raw);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    map(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hub_settlement::validate(text);
    }
    if let Ok(records) = split_body(data) {
        for r in records {
            map(&r.bytes);
        }
    }
    for r in split_lines(data) {
        map(&r.bytes);
    }
    for encoding in [encoding_rs::UTF_8, encoding_rs::GB18030] {
        if let Ok(records) = split_csv(data, encoding) {
            for r in records.iter().filter(|r| r.framing_error.is_none()) {
                map(&r.bytes);
            }
        }
    }
});

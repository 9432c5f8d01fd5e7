//! Row documents (`raw.<source>.table`, written by connector-table) through
//! `hub_table::map_table_row`, what the normaliser runs on them.
#![no_main]

use hub_schemas::raw::RawEnvelope;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let raw = RawEnvelope {
        topic: "raw.his.table".into(),
        facility: "H001".into(),
        source: "his".into(),
        charset: "UTF-8".into(),
        received_at_ms: 1_700_000_000_000,
        message_id: "his_visit:1@2026-11-25".into(),
        payload: data.to_vec(),
        ..RawEnvelope::default()
    };
    if let Ok(mapped) = hub_table::map_table_row(&raw) {
        assert_eq!(mapped.events.len(), 1);
        assert!(mapped.patient.is_some());
    }
});

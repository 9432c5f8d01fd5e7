//! HL7 v2 ER7 parsing and mapping (`hub_hl7::map_hl7`, what the normaliser runs on
//! `raw.*.hl7v2`) over arbitrary bytes, under the charsets a connector may declare.
#![no_main]

use hub_hl7::{Charset, Message};
use hub_schemas::raw::RawEnvelope;

/// `hub-charset` values: empty (MSH-18 decides), and the ones connectors write.
const CHARSETS: [&str; 4] = ["", "UTF-8", "GB18030", "ISO-8859-1"];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let raw = RawEnvelope {
        topic: "raw.his.hl7v2".into(),
        facility: "H001".into(),
        source: "his".into(),
        charset: CHARSETS[data.len() % CHARSETS.len()].into(),
        received_at_ms: 1_700_000_000_000,
        message_id: "M1".into(),
        payload: data.to_vec(),
        ..RawEnvelope::default()
    };
    let _ = hub_hl7::map_hl7(&raw);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(msg) = Message::parse(text, Charset::UTF_8)
    {
        let _ = hub_hl7::map_message(&raw, &msg);
    }
});

//! DICOM metadata: `connector_imaging::instance::read_part10` over arbitrary file bytes (written
//! to a per-process file under /dev/shm, since the reader takes a path; scripts/fuzz removes
//! them after the run), `from_json` over
//! arbitrary DICOM JSON bodies, and `hub_dicom_map::map_dicom` (what the normaliser runs on
//! `raw.imaging.dicom`) on the raw bytes and on every instance either reader accepted.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use connector_imaging::instance::{Instance, from_json, read_part10};
use hub_schemas::raw::RawEnvelope;

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("hub-fuzz-dicom-{}.dcm", std::process::id()))
    })
}

fn map(bytes: Vec<u8>) {
    let raw = RawEnvelope {
        topic: "raw.imaging.dicom".into(),
        facility: "H001".into(),
        source: "imaging".into(),
        charset: "UTF-8".into(),
        received_at_ms: 1_700_000_000_000,
        message_id: "1.2.3".into(),
        payload: bytes,
        ..RawEnvelope::default()
    };
    let _ = hub_dicom_map::map_dicom(&raw);
}

fn accepted(instance: &Instance) {
    assert!(!instance.sop_instance_uid.is_empty());
    map(instance.to_bytes());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    std::fs::write(scratch(), data).expect("scratch file");
    if let Ok(instance) = read_part10(scratch()) {
        accepted(&instance);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let values = match value {
            serde_json::Value::Array(items) => items,
            single => vec![single],
        };
        for value in values {
            if let Ok(instance) = from_json(value) {
                accepted(&instance);
            }
        }
    }
    map(data.to_vec());
});

//! One DICOM instance's metadata, whichever way it came: a Part-10 file ([`read_part10`]) or a
//! DICOM JSON object posted over HTTP ([`from_json`]). Both give the same shape, the hub's DICOM
//! JSON of the instance (see [`crate::dicomjson`]), which is the raw topic's value.
//!
//! Part-10 files are parsed by dicom-object up to, not including, (7FE0,0010) Pixel Data: the
//! reader stops there, so a 500 MB multi-frame file costs the size of its header, not of its
//! frames. Element lengths are checked against the file's size first ([`crate::lengths`]).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use serde_json::{Map, Value as Json};

use crate::charset::{TextRepair, declared};
use crate::dicomjson::{dataset, is_excluded};

/// (0008,0005) Specific Character Set.
pub const SPECIFIC_CHARACTER_SET: &str = "00080005";
/// (0008,0018) SOP Instance UID.
pub const SOP_INSTANCE_UID: &str = "00080018";
/// (0020,000D) Study Instance UID.
pub const STUDY_INSTANCE_UID: &str = "0020000D";

/// An instance ready for the raw topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// SOP Instance UID: the message id.
    pub sop_instance_uid: String,
    /// The declared Specific Character Set (`hub-dicom-charset`).
    pub charset: String,
    /// The hub's DICOM JSON of the instance.
    pub json: Map<String, Json>,
}

impl Instance {
    /// The raw topic's value: the JSON as UTF-8 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.json).unwrap_or_default()
    }
}

/// Why an input is not a usable instance. Details name tags and sizes, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Invalid {
    /// Bounded error code (DLQ `hub-error-code`, metric label).
    pub code: &'static str,
    /// Explanation without personal data.
    pub detail: String,
}

impl Invalid {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// Not a DICOM Part-10 file (no `DICM` after the preamble, or an unusable file meta group).
pub const NOT_PART10: &str = "dicom_not_part10";
/// A Part-10 file whose data set cannot be parsed (truncated, corrupt).
pub const PARSE_ERROR: &str = "dicom_parse_error";
/// No SOP Instance UID or Study Instance UID.
pub const MISSING_UID: &str = "dicom_missing_uid";
/// The body is not JSON, or not an instance or array of instances.
pub const JSON_INVALID: &str = "dicom_json_invalid";

/// Reads the metadata of the Part-10 file at `path` (blocking: run it off the async runtime).
///
/// # Errors
/// [`NOT_PART10`], [`PARSE_ERROR`] or [`MISSING_UID`].
pub fn read_part10(path: &Path) -> Result<Instance, Invalid> {
    crate::lengths::check(path).map_err(|e| {
        Invalid::new(
            PARSE_ERROR,
            format!(
                "element {} declares {} bytes, more than the file's {}",
                e.tag, e.declared, e.file_size
            ),
        )
    })?;
    let file = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| {
            // The error and its causes: stages, tags, positions, lengths (dicom-rs's messages
            // never quote element values).
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text = format!("{text}: {c}");
                cause = c.source();
            }
            text.truncate(text.floor_char_boundary(400));
            // dicom-object's messages name the stage (preamble, magic code, meta group) and
            // never values.
            let code =
                if text.contains("meta") || text.contains("magic") || text.contains("preamble") {
                    NOT_PART10
                } else {
                    PARSE_ERROR
                };
            Invalid::new(code, format!("cannot read the file: {text}"))
        })?;
    let terms: Vec<String> = file
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.value().to_multi_str().ok().map(|c| c.to_vec()))
        .unwrap_or_default();
    let repair = TextRepair::for_terms(&terms);
    let mut json = dataset(&file, &repair);
    if first_string(&json, SOP_INSTANCE_UID).is_none() {
        let from_meta = file
            .meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches(['\0', ' ']);
        if !from_meta.is_empty() {
            json.insert(
                SOP_INSTANCE_UID.into(),
                serde_json::json!({"vr": "UI", "Value": [from_meta]}),
            );
        }
    }
    finish(json, declared(&terms))
}

/// Checks a DICOM JSON instance posted over HTTP and strips what the raw topic never carries
/// (pixel data, inline binary values).
///
/// # Errors
/// [`JSON_INVALID`] for a value that is not a DICOM JSON data set, [`MISSING_UID`].
pub fn from_json(value: Json) -> Result<Instance, Invalid> {
    let Json::Object(mut json) = value else {
        return Err(Invalid::new(
            JSON_INVALID,
            "an instance is not a JSON object",
        ));
    };
    sanitise(&mut json, 0)?;
    let terms: Vec<String> = json
        .get(SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.get("Value"))
        .and_then(Json::as_array)
        .map(|v| {
            v.iter()
                .map(|t| t.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let charset = if terms.is_empty() {
        "ISO_IR 192".to_owned()
    } else {
        declared(&terms)
    };
    finish(json, charset)
}

/// Validates keys and elements (8 hex digits; an object with a `vr`), drops excluded groups and
/// `InlineBinary` values, recursively.
fn sanitise(json: &mut Map<String, Json>, depth: usize) -> Result<(), Invalid> {
    if depth > 16 {
        return Err(Invalid::new(JSON_INVALID, "sequences nested too deep"));
    }
    let mut drop = Vec::new();
    for (key, element) in json.iter_mut() {
        let group = (key.len() == 8)
            .then(|| u16::from_str_radix(key.get(..4)?, 16).ok())
            .flatten()
            .filter(|_| key.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Invalid::new(JSON_INVALID, "a key is not an 8-hex-digit tag"))?;
        let Json::Object(element) = element else {
            return Err(Invalid::new(
                JSON_INVALID,
                format!("element {key} is not an object"),
            ));
        };
        if !element.get("vr").is_some_and(Json::is_string) {
            return Err(Invalid::new(
                JSON_INVALID,
                format!("element {key} has no vr"),
            ));
        }
        if is_excluded(group) {
            drop.push(key.clone());
            continue;
        }
        element.remove("InlineBinary");
        let is_sequence = element.get("vr").and_then(Json::as_str) == Some("SQ");
        if let (true, Some(Json::Array(items))) = (is_sequence, element.get_mut("Value")) {
            for item in items {
                let Json::Object(item) = item else {
                    return Err(Invalid::new(
                        JSON_INVALID,
                        format!("an item of sequence {key} is not an object"),
                    ));
                };
                sanitise(item, depth + 1)?;
            }
        }
    }
    for key in drop {
        json.remove(&key);
    }
    Ok(())
}

/// The first value of element `tag`, when it is a non-empty string.
pub fn first_string<'a>(json: &'a Map<String, Json>, tag: &str) -> Option<&'a str> {
    json.get(tag)?
        .get("Value")?
        .get(0)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A UID: 1 to 64 digits and dots.
fn is_uid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn finish(json: Map<String, Json>, charset: String) -> Result<Instance, Invalid> {
    let sop = first_string(&json, SOP_INSTANCE_UID)
        .ok_or_else(|| Invalid::new(MISSING_UID, "no SOP Instance UID (0008,0018)"))?;
    if !is_uid(sop) {
        return Err(Invalid::new(
            MISSING_UID,
            "SOP Instance UID (0008,0018) is not a UID",
        ));
    }
    if !first_string(&json, STUDY_INSTANCE_UID).is_some_and(is_uid) {
        return Err(Invalid::new(
            MISSING_UID,
            "no valid Study Instance UID (0020,000D)",
        ));
    }
    Ok(Instance {
        sop_instance_uid: sop.to_owned(),
        charset,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by `scripts/fuzz dicom_metadata` (minimised): 338 bytes whose element (0008,8D8D)
    /// declares 0x8D8D8D8D bytes made dicom-object allocate and zero 2.4 GB before reading it.
    #[test]
    fn a_declared_length_beyond_the_file_is_refused_before_reading() {
        let parts: [&[u8]; 7] = [
            b"DICM\x02\x00\x00\x00UL\x04\x00t\x00\x00\x00\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01\x02\x00",
            b"\x02\x00SS\x1a\x001.2.840.1000815.1.4.1.1.2\x00",
            b"\x02\x00\x03\x00UI\x10\x001.2.1.4.5.6.7.1\x00\x02\x00\x10\x00UI\x14\x00",
            b"1.2.840.10008.1.2.1\x00\x02\x00\x12\x00UI\x08\x001.2.",
            b"3.4\x00\x08\x00\x05\x00CS\x08\x00GB18030 \x08\x00\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d",
            b"\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\xff\xff\x8d\x8d\x8d\x8d19900101\x10\x00@\x00",
            b"CS\x02\x00\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01",
        ];
        let mut bytes = vec![0_u8; 128];
        bytes.extend(parts.concat());
        assert_eq!(bytes.len(), 338);
        let path = std::env::temp_dir().join(format!("hub-imaging-oom-{}.dcm", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let result = read_part10(&path);
        std::fs::remove_file(&path).unwrap();
        let error = result.unwrap_err();
        assert_eq!(error.code, PARSE_ERROR);
        assert!(
            error
                .detail
                .contains("(0008,8D8D) declares 2374864269 bytes"),
            "{}",
            error.detail
        );
    }

    /// Found by `scripts/fuzz dicom_metadata` (the first 204 bytes of the finding): in the file
    /// meta group, (0002,0003) with an unknown VR takes a 4-byte length, 0xFC000000, which
    /// dicom-object allocated and zeroed (4.2 GB) before reading the value.
    #[test]
    fn a_meta_element_longer_than_the_file_is_refused_before_reading() {
        let parts: [&[u8]; 3] = [
            b"DICM\x02\x00\x00\x00UL\x04\x00t\x00\x00\x00\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01\x02\x00",
            b"\x02\x00UI\x1a\x001.2.840.10008.5.1.4.1.1.2\x00",
            b"\x02\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\xfc",
        ];
        let mut bytes = vec![0_u8; 128];
        bytes.extend(parts.concat());
        let path =
            std::env::temp_dir().join(format!("hub-imaging-meta-{}.dcm", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let result = read_part10(&path);
        std::fs::remove_file(&path).unwrap();
        let error = result.unwrap_err();
        assert_eq!(error.code, PARSE_ERROR);
        assert!(
            error
                .detail
                .contains("(0002,0003) declares 4227858432 bytes"),
            "{}",
            error.detail
        );
    }

    /// Found by `scripts/fuzz dicom_metadata` (768 bytes, after the two fixes above): pixel data
    /// inside a sequence item is an ordinary element to dicom-object, which read on to an element
    /// declaring 0xE0E0E0E0 bytes (3.8 GB); the check stopped at the first pixel data at any depth.
    #[test]
    fn a_long_element_after_pixel_data_inside_a_sequence_is_refused() {
        let parts: [&[u8]; 20] = [
            b"DICM\x02\x00\x00\x00UL\x04\x00t\x00\x00\x00\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01\x02\x00",
            b"\x02\x00UI\x1a\x001.2.840.10008.5.1.4.1.1.2\x00",
            b"\x02\x00\x03\x00UI\x10\x001.2.3.4.5.6.7.1\x00\x02\x00\x10\x00UI\x14\x00",
            b"1.2.840.10008.1.2.1\x00\x02\x00\x12\x00UI\x08\x001.2.",
            b"3.4\x00\x08\x00\x05\x00CS\x08\x00GB18030 \x08\x00\x16\x00UI\x1a\x001.2.",
            b"840.10008.5.1.4.1.1.2\x00\x08\x00\x18\x00UI\x10\x001.",
            b"2.3.4.5.6\xc27.1\x00\x08\x00 \x00DA\x08\x0020261102\x08\x00",
            b"0\x00TM\x06\x00094127\x08\x00P\x00SH\x0a\x00A20261102 \x08\x00",
            b"`\x00CS\x02\x00CT\x08\x000\x10LO\x08\x00CT CHEST\x10\x00\x10\x00PN\x0c\x00",
            b"Test^Patient\x10\x00 \x00LO\x08\x00MRN0001 \x10\x00\x02\x10",
            b"SQ\x00\x00(\x00\x00\x00\xfe\xff\x00\xe0\xff\xff\xff0\x10\x00 \x00LO\x0c\x00ID000000",
            b"0001\x10\x00\x22\x00CS\x04\x00TEXT\x10\x000\x00DA\x08\x0019900101",
            b"\x10\x00@\x00CS\x02\x00M  \x00\x0d\x00UI\x0e\x001.2.3.4.5.6.7\x00",
            b" \x00\x0e\x00UI\x10\x001.2.3.4.5.6.7.3\x00 \x00\x13\x00IS\x02\x00",
            b"1 \xe0\x7f\x10\x00OW\x00\x00\x10\x00\x00\x00\x00\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0",
            b"\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0",
            b"\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\x01\x00\x00\x00",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01",
        ];
        let mut bytes = vec![0_u8; 128];
        bytes.extend(parts.concat());
        assert_eq!(bytes.len(), 768);
        let path = std::env::temp_dir().join(format!("hub-imaging-seq-{}.dcm", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let result = read_part10(&path);
        std::fs::remove_file(&path).unwrap();
        let error = result.unwrap_err();
        assert_eq!(error.code, PARSE_ERROR);
        assert!(
            error.detail.contains("declares 3772834016 bytes"),
            "{}",
            error.detail
        );
    }

    /// Seen while writing the `dicom_metadata` fuzz target: an 8-byte key whose fourth byte is
    /// inside a multi-byte character made the group slice panic.
    #[test]
    fn a_key_with_a_multibyte_character_is_invalid_not_a_panic() {
        let error = from_json(json!({"aaa\u{e9}bbb": {"vr": "UI"}})).unwrap_err();
        assert_eq!(error.code, JSON_INVALID);
    }

    #[test]
    fn posted_json_is_checked_and_stripped() {
        let instance = from_json(json!({
            "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
            "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
            "00091010": {"vr": "OB", "InlineBinary": "AAAA"},
            "7FE00010": {"vr": "OW", "BulkDataURI": "http://x/frames"},
            "00081115": {"vr": "SQ", "Value": [{"7FE00010": {"vr": "OB"}, "0020000E": {"vr": "UI", "Value": ["1.2.3.5"]}}]}
        }))
        .unwrap();
        assert_eq!(instance.sop_instance_uid, "1.2.3.4");
        assert_eq!(instance.charset, "ISO_IR 192");
        assert!(!instance.json.contains_key("7FE00010"));
        assert_eq!(instance.json["00091010"], json!({"vr": "OB"}));
        assert_eq!(
            instance.json["00081115"]["Value"][0],
            json!({"0020000E": {"vr": "UI", "Value": ["1.2.3.5"]}})
        );
    }

    #[test]
    fn posted_json_without_uids_or_shape_is_refused() {
        let code = |v: Json| from_json(v).unwrap_err().code;
        assert_eq!(code(json!([1])), JSON_INVALID);
        assert_eq!(code(json!({"nope": {"vr": "UI"}})), JSON_INVALID);
        assert_eq!(code(json!({"00080018": "x"})), JSON_INVALID);
        assert_eq!(
            code(json!({"0020000D": {"vr": "UI", "Value": ["1.2"]}})),
            MISSING_UID
        );
        assert_eq!(
            code(
                json!({"00080018": {"vr": "UI", "Value": ["张三"]}, "0020000D": {"vr": "UI", "Value": ["1.2"]}})
            ),
            MISSING_UID
        );
    }
}

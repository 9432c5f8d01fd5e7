//! A data set as the hub's DICOM JSON (PS3.18 F.2): `{"0020000D": {"vr": "UI", "Value":
//! [...]}, ...}`, metadata only.
//!
//! - Tags are 8 upper-case hex digits; values follow F.2.3 (strings, numbers for IS, DS and the
//!   binary number VRs, PN as `{"Alphabetic", "Ideographic", "Phonetic"}`, sequences as arrays
//!   of data sets, AT as hex tags).
//! - Left out: the file meta group (0002), pixel data (group 7FE0, at any depth: icon images
//!   too) and the values of binary VRs (OB, OW, OF, OD, OL, OV, UN), which keep only their `vr`:
//!   the raw topic carries metadata, never images or opaque blobs.
//! - Text is repaired where dicom-rs could not decode it ([`TextRepair`]).

use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use serde_json::{Map, Value as Json, json};

use crate::charset::TextRepair;

/// The tag as DICOM JSON writes it: 8 upper-case hex digits.
pub fn tag_key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

/// Whether an element of this tag is left out of the hub's JSON.
pub fn is_excluded(group: u16) -> bool {
    group == 0x0002 || group == 0x7FE0
}

/// The data set `obj` as DICOM JSON.
pub fn dataset(obj: &InMemDicomObject, repair: &TextRepair) -> Map<String, Json> {
    let mut out = Map::new();
    for element in obj.iter() {
        let tag = element.tag();
        if is_excluded(tag.group()) {
            continue;
        }
        let vr = element.vr();
        let mut entry = Map::new();
        entry.insert("vr".into(), Json::String(vr.to_string().to_owned()));
        match element.value() {
            Value::Sequence(seq) => {
                let items: Vec<Json> = seq
                    .items()
                    .iter()
                    .map(|item| Json::Object(dataset(item, repair)))
                    .collect();
                if !items.is_empty() {
                    entry.insert("Value".into(), Json::Array(items));
                }
            }
            Value::PixelSequence(_) => {}
            Value::Primitive(value) => {
                if let Some(values) = primitive(vr, value, repair) {
                    entry.insert("Value".into(), Json::Array(values));
                }
            }
        }
        out.insert(tag_key(tag), Json::Object(entry));
    }
    out
}

fn primitive(vr: VR, value: &PrimitiveValue, repair: &TextRepair) -> Option<Vec<Json>> {
    if matches!(value, PrimitiveValue::Empty) {
        return None;
    }
    let strings = || -> Vec<String> {
        value
            .to_multi_str()
            .iter()
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .collect()
    };
    let values: Vec<Json> = match vr {
        VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::UN | VR::SQ => return None,
        VR::PN => strings()
            .into_iter()
            .map(|s| person_name(&repair.text(vr, s)))
            .collect(),
        VR::LO | VR::SH | VR::ST | VR::LT | VR::UC | VR::UT => strings()
            .into_iter()
            .map(|s| text_or_null(repair.text(vr, s)))
            .collect(),
        VR::AE | VR::AS | VR::CS | VR::DA | VR::DT | VR::TM | VR::UI | VR::UR => strings()
            .into_iter()
            .map(|s| text_or_null(s.trim().to_owned()))
            .collect(),
        VR::IS | VR::DS => strings().into_iter().map(|s| number_text(&s)).collect(),
        VR::AT => match value {
            PrimitiveValue::Tags(tags) => tags.iter().map(|t| json!(tag_key(*t))).collect(),
            _ => return None,
        },
        VR::FL | VR::FD => value
            .to_multi_float64()
            .ok()?
            .into_iter()
            .map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number))
            .collect(),
        VR::US | VR::UL | VR::SS | VR::SL | VR::SV | VR::UV => integers(value)?,
    };
    (!values.is_empty()).then_some(values)
}

fn integers(value: &PrimitiveValue) -> Option<Vec<Json>> {
    Some(match value {
        PrimitiveValue::U8(v) => v.iter().map(|n| json!(n)).collect(),
        PrimitiveValue::I16(v) => v.iter().map(|n| json!(n)).collect(),
        PrimitiveValue::U16(v) => v.iter().map(|n| json!(n)).collect(),
        PrimitiveValue::I32(v) => v.iter().map(|n| json!(n)).collect(),
        PrimitiveValue::U32(v) => v.iter().map(|n| json!(n)).collect(),
        PrimitiveValue::I64(v) => v.iter().map(|n| json!(n)).collect(),
        PrimitiveValue::U64(v) => v.iter().map(|n| json!(n)).collect(),
        _ => return None,
    })
}

fn text_or_null(s: String) -> Json {
    if s.is_empty() {
        Json::Null
    } else {
        Json::String(s)
    }
}

/// IS and DS as JSON numbers (F.2.3.1); a value that is not a number stays a string so that
/// nothing is lost.
fn number_text(s: &str) -> Json {
    let t = s.trim();
    if t.is_empty() {
        return Json::Null;
    }
    if let Ok(i) = t.parse::<i64>() {
        return json!(i);
    }
    t.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Json::String(t.to_owned()), Json::Number)
}

/// A PN value: up to three `=`-separated component groups.
fn person_name(s: &str) -> Json {
    if s.is_empty() {
        return Json::Null;
    }
    let mut out = Map::new();
    for (group, name) in s.split('=').zip(["Alphabetic", "Ideographic", "Phonetic"]) {
        let group = group.trim_end_matches('^');
        if !group.is_empty() {
            out.insert(name.into(), Json::String(group.to_owned()));
        }
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_and_tags() {
        assert_eq!(number_text(" 12 "), json!(12));
        assert_eq!(number_text("0.5"), json!(0.5));
        assert_eq!(number_text("n/a"), json!("n/a"));
        assert_eq!(
            person_name("Zhang^San=张三^三"),
            json!({"Alphabetic": "Zhang^San", "Ideographic": "张三^三"})
        );
        assert_eq!(person_name("=张三"), json!({"Ideographic": "张三"}));
        assert_eq!(tag_key(Tag(0x0020, 0x000D)), "0020000D");
        assert!(is_excluded(0x7FE0) && is_excluded(0x0002) && !is_excluded(0x0010));
    }
}

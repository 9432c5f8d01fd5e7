//! Specific Character Set (0008,0005) and the Chinese text dicom-rs leaves undecoded.
//!
//! dicom-rs decodes `GB18030`, `GBK`, `GB2312`, `ISO 2022 IR 58` and `ISO_IR 192` (UTF-8)
//! correctly when the attribute holds that single term. It switches charset on the *first*
//! value only, though, so the forms Chinese PACS and modalities also send, with code
//! extensions (`ISO 2022 IR 6\ISO 2022 IR 58`, `\ISO 2022 IR 58`, `\GB18030`), leave it on the
//! default repertoire, which it decodes as ISO 8859-1: byte for byte, so nothing is lost. For
//! those, [`TextRepair`] turns the text VRs (PN, LO, SH, ST, LT, UC, UT) back into their bytes,
//! drops the ISO 2022 escape sequences (`ESC $ ) A` designates GB 2312 into G1; its characters
//! are then plain EUC-CN bytes) and decodes them as GB18030 (a superset of GB 2312 and GBK)
//! with `encoding_rs`.

use dicom_core::VR;
use dicom_encoding::text::SpecificCharacterSet;
use encoding_rs::{Encoding, GB18030};

/// The declared Specific Character Set, as the header `hub-dicom-charset` shows it: the terms
/// joined by `\`, or `ISO_IR 6` (the default repertoire) when absent.
pub fn declared(terms: &[String]) -> String {
    let joined = terms.join("\\");
    if joined.trim().is_empty() {
        "ISO_IR 6".to_owned()
    } else {
        joined.trim().to_owned()
    }
}

fn is_chinese(term: &str) -> bool {
    matches!(
        term.trim(),
        "GB18030" | "GBK" | "GB2312" | "ISO 2022 IR 58" | "ISO 2022 GBK" | "ISO 2022 GB18030"
    )
}

/// How text decoded by dicom-rs is to be repaired, decided from the declared terms.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextRepair {
    /// Text decoded as ISO 8859-1 to be decoded again with this.
    encoding: Option<&'static Encoding>,
    /// A single `ISO 2022 IR 58`: dicom-rs decoded GB 2312 but kept the escape sequences.
    strip_escapes: bool,
}

impl TextRepair {
    /// Nothing to repair.
    pub const NONE: Self = Self {
        encoding: None,
        strip_escapes: false,
    };

    /// The repair for a data set whose (0008,0005) holds `terms`.
    pub fn for_terms(terms: &[String]) -> Self {
        let first = terms.first().map_or("", |t| t.trim());
        let first_applied = SpecificCharacterSet::from_code(first)
            .is_some_and(|cs| cs != SpecificCharacterSet::default());
        if !first_applied && terms.iter().any(|t| is_chinese(t)) {
            Self {
                encoding: Some(GB18030),
                strip_escapes: false,
            }
        } else {
            Self {
                encoding: None,
                strip_escapes: first == "ISO 2022 IR 58",
            }
        }
    }

    /// Whether text is being repaired.
    pub fn is_active(&self) -> bool {
        self.encoding.is_some() || self.strip_escapes
    }

    /// `text` of a `vr` element as it should read.
    pub fn text(&self, vr: VR, text: String) -> String {
        if !matches!(
            vr,
            VR::PN | VR::LO | VR::SH | VR::ST | VR::LT | VR::UC | VR::UT
        ) || !self.is_active()
        {
            return text;
        }
        let Some(encoding) = self.encoding else {
            // Escape sequences are ASCII, so stripping them from the text is exact.
            if !text.contains('\u{1b}') {
                return text;
            }
            let bytes = strip_escapes(text.as_bytes());
            return String::from_utf8(bytes).unwrap_or(text);
        };
        if text.is_ascii() {
            return text;
        }
        // Only text dicom-rs decoded as ISO 8859-1 maps back to bytes one to one.
        let Some(bytes) = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Vec<u8>>>()
        else {
            return text;
        };
        let stripped = strip_escapes(&bytes);
        let (decoded, _, _) = encoding.decode(&stripped);
        decoded.into_owned()
    }
}

/// `bytes` without ISO 2022 escape sequences (ESC, intermediate bytes 0x20-0x2F, a final byte).
fn strip_escapes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1B {
            i += 1;
            while i < bytes.len() && (0x20..=0x2F).contains(&bytes[i]) {
                i += 1;
            }
            i += 1; // the final byte
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(s: &str) -> Vec<String> {
        s.split('\\').map(str::to_owned).collect()
    }

    fn latin1(bytes: &[u8]) -> String {
        bytes.iter().map(|b| char::from(*b)).collect()
    }

    #[test]
    fn code_extensions_with_gb2312_are_repaired() {
        let (gb, _, _) = GB18030.encode("张三^三");
        let mut sent = b"\x1b$)A".to_vec();
        sent.extend_from_slice(&gb);
        for declared in [
            "ISO 2022 IR 6\\ISO 2022 IR 58",
            "\\ISO 2022 IR 58",
            "\\GB18030",
        ] {
            let repair = TextRepair::for_terms(&terms(declared));
            assert!(repair.is_active(), "{declared}");
            assert_eq!(repair.text(VR::PN, latin1(&sent)), "张三^三");
            assert_eq!(repair.text(VR::UI, "1.2".into()), "1.2");
        }
    }

    #[test]
    fn single_terms_dicom_rs_applies_are_left_alone() {
        for declared in ["GB18030", "ISO_IR 192", "GBK", "ISO_IR 100", ""] {
            assert!(
                !TextRepair::for_terms(&terms(declared)).is_active(),
                "{declared}"
            );
        }
        let single = TextRepair::for_terms(&terms("ISO 2022 IR 58"));
        assert_eq!(single.text(VR::PN, "\u{1b}$)A张三".into()), "张三");
        assert_eq!(declared(&[]), "ISO_IR 6");
        assert_eq!(declared(&terms("\\ISO 2022 IR 58")), "\\ISO 2022 IR 58");
    }
}

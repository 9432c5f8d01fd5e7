//! Character sets of HL7 v2 messages: MSH-18 (HL7 table 0211) and the names senders really use.
//!
//! The connector never transcodes a message: the raw topic keeps the sender's bytes and the
//! `hub-charset` header says how to read them. It needs a charset only to read MSH-10 into the
//! record key, to check that the bytes are what they claim to be, and to write the ACK in the
//! message's own charset. Only ASCII-compatible charsets are supported: MLLP framing and the MSH
//! segment are bytes below 0x80, which UTF-16/32 would break.

use encoding_rs::{BIG5, Encoding, GB18030, GBK, UTF_8, WINDOWS_1252};

/// A supported character set: the label written to `hub-charset` and the decoder behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charset {
    /// Label for the `hub-charset` header (IANA names: `UTF-8`, `GB18030`, `GBK`, `ISO-8859-1`).
    pub label: &'static str,
    /// The decoder/encoder.
    pub encoding: &'static Encoding,
    /// Plain 7-bit ASCII: bytes above 0x7F are invalid.
    pub ascii_only: bool,
}

impl Charset {
    /// UTF-8, the default when neither the message nor the listener says otherwise.
    pub const UTF_8: Self = Self {
        label: "UTF-8",
        encoding: UTF_8,
        ascii_only: false,
    };

    /// Resolves an MSH-18 value or a configured name (`UNICODE UTF-8`, `GB 18030-2000`, `GBK`,
    /// `8859/1`, `ASCII`, `utf8`...); `None` for an unknown or unsupported charset.
    pub fn from_hl7(name: &str) -> Option<Self> {
        let norm: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_' | '/' | '.'))
            .flat_map(char::to_uppercase)
            .collect();
        let (label, encoding, ascii_only) = match norm.as_str() {
            "ASCII" | "USASCII" => ("US-ASCII", WINDOWS_1252, true),
            "UNICODEUTF8" | "UTF8" | "UNICODE" => ("UTF-8", UTF_8, false),
            "GB180302000" | "GB180302005" | "GB18030" => ("GB18030", GB18030, false),
            // encoding_rs decodes GBK as its superset GB18030, which is what these senders mean.
            "GBK" | "GB2312" | "CP936" | "EUCCN" => ("GBK", GBK, false),
            "BIG5" => ("Big5", BIG5, false),
            other => return iso_8859(other),
        };
        Some(Self {
            label,
            encoding,
            ascii_only,
        })
    }

    /// Whether `bytes` are well formed in this charset.
    pub fn is_valid(&self, bytes: &[u8]) -> bool {
        if self.ascii_only {
            return bytes.is_ascii();
        }
        if self.encoding == UTF_8 {
            return std::str::from_utf8(bytes).is_ok();
        }
        self.encoding
            .decode_without_bom_handling_and_without_replacement(bytes)
            .is_some()
    }

    /// Decodes `bytes`, replacing malformed sequences (for keys and headers, which are UTF-8).
    pub fn decode_lossy(&self, bytes: &[u8]) -> String {
        self.encoding
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
    }

    /// Encodes connector-written `text` (ACK fields) in this charset; characters the charset
    /// cannot represent become `?` rather than HTML entities.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        if text.is_ascii() {
            return text.as_bytes().to_vec();
        }
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            let mut buf = [0u8; 4];
            let piece: &str = c.encode_utf8(&mut buf);
            let (bytes, _, unmappable) = self.encoding.encode(piece);
            if unmappable || (self.ascii_only && !c.is_ascii()) {
                out.push(b'?');
            } else {
                out.extend_from_slice(&bytes);
            }
        }
        out
    }
}

/// `8859/1`...`8859/15` (HL7) and `ISO-8859-1`... (IANA), normalised without separators.
fn iso_8859(norm: &str) -> Option<Charset> {
    let part = norm.strip_prefix("ISO").unwrap_or(norm);
    let part = part.strip_prefix("8859")?;
    let number: u8 = part.parse().ok()?;
    let (label, encoding) = match number {
        // WHATWG (and encoding_rs) read ISO-8859-1 as its superset windows-1252.
        1 => ("ISO-8859-1", WINDOWS_1252),
        2..=15 => {
            let encoding = Encoding::for_label(format!("iso-8859-{number}").as_bytes())?;
            (encoding.name(), encoding)
        }
        _ => return None,
    };
    Some(Charset {
        label,
        encoding,
        ascii_only: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_hl7_and_common_names() {
        for (name, label) in [
            ("UNICODE UTF-8", "UTF-8"),
            ("utf8", "UTF-8"),
            ("GB 18030-2000", "GB18030"),
            ("GB18030", "GB18030"),
            ("GBK", "GBK"),
            ("gb2312", "GBK"),
            ("8859/1", "ISO-8859-1"),
            ("ISO-8859-1", "ISO-8859-1"),
            ("8859/2", "ISO-8859-2"),
            ("ASCII", "US-ASCII"),
            ("BIG-5", "Big5"),
        ] {
            assert_eq!(
                Charset::from_hl7(name).map(|c| c.label),
                Some(label),
                "{name}"
            );
        }
        assert_eq!(Charset::from_hl7("UNICODE UTF-16"), None);
        assert_eq!(Charset::from_hl7("ISO IR87"), None);
        assert_eq!(Charset::from_hl7("8859/99"), None);
    }

    #[test]
    fn validates_and_round_trips_chinese() {
        let gb = Charset::from_hl7("GB 18030-2000").unwrap();
        let bytes = gb.encode("张三");
        assert_ne!(bytes, "张三".as_bytes());
        assert!(gb.is_valid(&bytes));
        assert_eq!(gb.decode_lossy(&bytes), "张三");
        assert!(!Charset::UTF_8.is_valid(&bytes));
        let ascii = Charset::from_hl7("ASCII").unwrap();
        assert!(!ascii.is_valid("é".as_bytes()));
        assert_eq!(ascii.encode("aé"), b"a?");
    }
}

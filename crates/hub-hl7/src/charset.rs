//! Character sets: from the `hub-charset` header (or MSH-18) to text.
//!
//! The raw topic keeps the sender's bytes; this is where they become text. Names are matched
//! loosely (case, spaces, `-`, `_`, `/`, `.` ignored) so that HL7 table 0211 values
//! (`UNICODE UTF-8`, `GB 18030-2000`, `8859/1`, `ASCII`) and IANA labels (`UTF-8`, `GB18030`,
//! `GBK`, `ISO-8859-1`) both work. UTF-8 is borrowed without a copy.

use std::borrow::Cow;

use encoding_rs::{BIG5, Encoding, GB18030, GBK, UTF_8, WINDOWS_1252};

/// A supported character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charset {
    /// The decoder (also used for `\Xhh\` escapes, whose bytes are in the message charset).
    pub encoding: &'static Encoding,
    /// Plain 7-bit ASCII: bytes above 0x7F are invalid.
    pub ascii_only: bool,
}

impl Charset {
    /// UTF-8, used when neither the envelope nor MSH-18 names a charset.
    pub const UTF_8: Self = Self {
        encoding: UTF_8,
        ascii_only: false,
    };

    /// Resolves a charset name; `None` for an unknown or unsupported one. An empty name is
    /// UTF-8.
    pub fn from_name(name: &str) -> Option<Self> {
        let norm: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_' | '/' | '.'))
            .flat_map(char::to_uppercase)
            .collect();
        let (encoding, ascii_only) = match norm.as_str() {
            "" | "UTF8" | "UNICODEUTF8" | "UNICODE" => (UTF_8, false),
            "ASCII" | "USASCII" => (WINDOWS_1252, true),
            "GB18030" | "GB180302000" | "GB180302005" | "GB180302022" => (GB18030, false),
            // encoding_rs decodes GBK as GB18030's two-byte part, a superset of GB2312.
            "GBK" | "GB2312" | "GB23121980" | "CP936" | "EUCCN" => (GBK, false),
            "BIG5" => (BIG5, false),
            // ISO-8859-1 as the WHATWG does: windows-1252, its superset for printable bytes.
            "88591" | "ISO88591" | "ISOIR100" | "LATIN1" | "ISO885915" | "CP1252"
            | "WINDOWS1252" => (WINDOWS_1252, false),
            _ => return None,
        };
        Some(Self {
            encoding,
            ascii_only,
        })
    }

    /// Decodes `bytes` strictly; `None` when they are malformed in this charset. A leading
    /// UTF-8 byte-order mark is dropped.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
        if self.ascii_only {
            return bytes
                .is_ascii()
                .then(|| std::str::from_utf8(bytes).ok().map(Cow::Borrowed))
                .flatten();
        }
        if self.encoding == UTF_8 {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            return std::str::from_utf8(bytes).ok().map(Cow::Borrowed);
        }
        self.encoding
            .decode_without_bom_handling_and_without_replacement(bytes)
    }

    /// Decodes the bytes of a `\Xhh..\` escape; malformed bytes become U+FFFD (an escape is
    /// inside a field, so a bad one does not make the whole message undecodable).
    pub fn decode_escaped(&self, bytes: &[u8]) -> String {
        self.encoding
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
    }
}

/// MSH-18 read straight from the bytes (the MSH segment is ASCII in every supported charset),
/// for envelopes without a `hub-charset`.
pub fn msh18(bytes: &[u8]) -> Option<&str> {
    let start = bytes.windows(3).position(|w| w == b"MSH")?;
    let line = &bytes[start..];
    let end = line
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n'))
        .unwrap_or(line.len());
    let line = &line[..end];
    let sep = *line.get(3)?;
    let field = line.split(|b| *b == sep).nth(17)?;
    let comp = field.split(|b| matches!(b, b'^' | b'~')).next()?;
    std::str::from_utf8(comp)
        .ok()
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_msh18_and_iana_resolve() {
        for name in ["UNICODE UTF-8", "utf8", "UTF-8", ""] {
            assert_eq!(Charset::from_name(name), Some(Charset::UTF_8), "{name}");
        }
        for name in ["GB 18030-2000", "GB18030", "gb18030"] {
            assert_eq!(Charset::from_name(name).map(|c| c.encoding), Some(GB18030));
        }
        for name in ["GBK", "GB2312", "GB 2312"] {
            assert_eq!(Charset::from_name(name).map(|c| c.encoding), Some(GBK));
        }
        for name in ["8859/1", "ISO-8859-1", "ISO IR100", "latin1"] {
            assert_eq!(
                Charset::from_name(name).map(|c| c.encoding),
                Some(WINDOWS_1252)
            );
        }
        assert!(Charset::from_name("ASCII").is_some_and(|c| c.ascii_only));
        assert_eq!(Charset::from_name("EBCDIC"), None);
    }

    #[test]
    fn decoding_is_strict() {
        let gb = Charset::from_name("GB18030").unwrap();
        let (bytes, _, _) = GB18030.encode("张三");
        assert_eq!(gb.decode(&bytes).as_deref(), Some("张三"));
        assert_eq!(Charset::UTF_8.decode(&bytes), None);
        assert_eq!(
            Charset::from_name("ASCII").unwrap().decode(b"caf\xe9"),
            None
        );
        assert_eq!(
            Charset::UTF_8.decode(b"\xEF\xBB\xBFMSH").as_deref(),
            Some("MSH")
        );
    }

    #[test]
    fn msh18_is_read_from_bytes() {
        let msg = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.4|||||CHN|GB18030\rPID|";
        assert_eq!(msh18(msg), Some("GB18030"));
        assert_eq!(msh18(b"MSH|^~\\&|A\r"), None);
    }
}

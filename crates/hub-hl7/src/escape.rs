//! HL7 v2 escape sequences (section 2.7 of the standard).
//!
//! `\F\ \S\ \T\ \R\ \E\` become the message's own delimiters; `\Xhh..\` is a run of hex bytes
//! in the message charset; `\.br\` is a line break (formatted text); `\H\ \N\` (highlighting)
//! and the other formatting commands (`\.sp\`, `\.in\`, ...) and charset switches (`\C..\`,
//! `\M..\`) are dropped. An escape character without a closing one is kept literally, so a
//! stray backslash in free text never loses data.

use std::borrow::Cow;

use crate::message::Delimiters;

/// Decodes the escape sequences of `raw`; borrows when there are none.
pub fn decode<'a>(raw: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let esc = char::from(d.escape);
    if !raw.contains(esc) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find(esc) else {
            // Unterminated: keep the rest as sent.
            out.push_str(&rest[start..]);
            return Cow::Owned(out);
        };
        let seq = &after[..end];
        match seq {
            "F" => out.push(char::from(d.field)),
            "S" => out.push(char::from(d.component)),
            "T" => out.push(char::from(d.subcomponent)),
            "R" => out.push(char::from(d.repetition)),
            "E" => out.push(esc),
            ".br" => out.push('\n'),
            _ => match seq.strip_prefix('X') {
                Some(hex) => match hex_bytes(hex) {
                    Some(bytes) => out.push_str(&d.charset.decode_escaped(&bytes)),
                    None => out.push_str(&rest[start..start + end + 2]),
                },
                // \H\, \N\, \.sp\, \Cxxyy\, \Mxxyyzz\, \Zxx\ ...: formatting, no text.
                None if is_formatting(seq) => {}
                None => out.push_str(&rest[start..start + end + 2]),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn is_formatting(seq: &str) -> bool {
    matches!(seq, "H" | "N")
        || seq.starts_with('.')
        || (seq.len() > 1 && matches!(seq.as_bytes()[0], b'C' | b'M' | b'Z'))
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charset::Charset;

    fn delims(charset: &str) -> Delimiters {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
            charset: Charset::from_name(charset).unwrap(),
        }
    }

    #[test]
    fn delimiter_escapes() {
        let d = delims("UTF-8");
        assert_eq!(decode(r"A\F\B\S\C\T\D\R\E\E\F", &d), r"A|B^C&D~E\F");
        assert!(matches!(decode("plain", &d), Cow::Borrowed("plain")));
    }

    #[test]
    fn hex_is_decoded_in_the_message_charset() {
        // 张 is E5 BC A0 in UTF-8 and D5 C5 in GB18030.
        assert_eq!(decode(r"\XE5BCA0\三", &delims("UTF-8")), "张三");
        assert_eq!(decode(r"\XD5C5\三", &delims("GB18030")), "张三");
        assert_eq!(decode(r"\X41\", &delims("ASCII")), "A");
    }

    #[test]
    fn formatting_is_dropped_and_line_breaks_kept() {
        let d = delims("UTF-8");
        assert_eq!(decode(r"\H\bold\N\ text", &d), "bold text");
        assert_eq!(decode(r"line1\.br\line2\.sp2\", &d), "line1\nline2");
        assert_eq!(decode(r"\C2842\x\M2442\", &d), "x");
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        let d = delims("UTF-8");
        assert_eq!(decode(r"C:\temp", &d), r"C:\temp");
        assert_eq!(decode(r"\XZZ\ ok", &d), r"\XZZ\ ok");
        assert_eq!(decode(r"\X4\", &d), r"\X4\");
        assert_eq!(decode(r"a\Q\b", &d), r"a\Q\b");
        assert_eq!(decode(r"\", &d), r"\");
    }
}

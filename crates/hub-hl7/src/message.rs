//! A zero-copy HL7 v2 ER7 parser.
//!
//! [`Message::parse`] makes two allocations: one flat list of every field of every segment (as
//! slices of the text) and one list of segment ranges into it. Repetitions, components and
//! sub-components are split lazily when a mapping asks for them, and escape sequences are
//! decoded only for values that end up in an event ([`Value::text`]). Segments are separated by
//! `\r`; `\n` and `\r\n` are tolerated. The delimiters are the message's own (MSH-1, MSH-2).

use crate::charset::Charset;
use crate::escape;

/// Why a text is not an HL7 v2 message. The messages name positions only, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text does not start with an MSH segment.
    #[error("the message does not start with an MSH segment")]
    NoMsh,
    /// MSH-1/MSH-2 do not define usable delimiters.
    #[error("MSH-1/MSH-2 do not define distinct delimiters")]
    BadDelimiters,
    /// A line is not a segment (its id is not three upper-case letters or digits).
    #[error("segment {0} does not start with a valid segment id")]
    BadSegmentId(usize),
}

/// The delimiters of one message (MSH-1 and MSH-2), plus its charset for `\Xhh\` escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: u8,
    /// Component separator, usually `^`.
    pub component: u8,
    /// Repetition separator, usually `~`.
    pub repetition: u8,
    /// Escape character, usually `\`.
    pub escape: u8,
    /// Sub-component separator, usually `&`.
    pub subcomponent: u8,
    /// The charset the message was sent in.
    pub charset: Charset,
}

/// A parsed message: segments and fields as slices of the (decoded) text.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    delimiters: Delimiters,
    fields: Vec<&'a str>,
    segments: Vec<(u32, u32)>,
}

impl<'a> Message<'a> {
    /// Parses `text`, which must start with `MSH` (leading whitespace is skipped).
    ///
    /// # Errors
    /// No MSH segment, unusable delimiters, or a line that is not a segment.
    pub fn parse(text: &'a str, charset: Charset) -> Result<Self, ParseError> {
        let text = text.trim_start_matches(['\r', '\n', ' ', '\t', '\u{feff}', '\u{0b}']);
        let bytes = text.as_bytes();
        if !text.starts_with("MSH") || bytes.len() < 8 {
            return Err(ParseError::NoMsh);
        }
        let field = bytes[3];
        let enc_end = bytes[4..]
            .iter()
            .position(|b| *b == field || matches!(b, b'\r' | b'\n'));
        let enc = &bytes[4..4 + enc_end.unwrap_or(bytes.len() - 4)];
        let delimiters = Delimiters {
            field,
            component: enc.first().copied().unwrap_or(b'^'),
            repetition: enc.get(1).copied().unwrap_or(b'~'),
            escape: enc.get(2).copied().unwrap_or(b'\\'),
            subcomponent: enc.get(3).copied().unwrap_or(b'&'),
            charset,
        };
        if enc.is_empty() {
            return Err(ParseError::BadDelimiters);
        }
        check_delimiters(&delimiters)?;
        let mut fields = Vec::with_capacity(text.len() / 6);
        let mut segments = Vec::with_capacity(text.len() / 48);
        let field_char = char::from(field);
        for (n, line) in text
            .split(['\r', '\n'])
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            let b = line.as_bytes();
            let valid_id = b.len() >= 3
                && b[..3]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && (b.len() == 3 || b[3] == field);
            if !valid_id {
                return Err(ParseError::BadSegmentId(n + 1));
            }
            let id = &line[..3];
            let start = fields.len();
            if n == 0 {
                if id != "MSH" {
                    return Err(ParseError::NoMsh);
                }
                // MSH-1 is the field separator itself: keep numbering uniform (MSH-n = index n).
                fields.push(id);
                fields.push(&line[3..4]);
                fields.extend(line[4..].split(field_char));
            } else {
                fields.extend(line.split(field_char));
            }
            let len = fields.len() - start;
            segments.push((to_u32(start), to_u32(len)));
        }
        Ok(Self {
            delimiters,
            fields,
            segments,
        })
    }

    /// The message's delimiters.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// All segments in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_, 'a>> + '_ {
        self.segments
            .iter()
            .map(|&(start, len)| self.segment_at(start, len))
    }

    /// The first segment named `id`.
    pub fn segment(&self, id: &str) -> Option<Segment<'_, 'a>> {
        self.segments().find(|s| s.id() == id)
    }

    /// The MSH segment (always present in a parsed message).
    pub fn msh(&self) -> Segment<'_, 'a> {
        let (start, len) = self.segments.first().copied().unwrap_or((0, 0));
        self.segment_at(start, len)
    }

    fn segment_at(&self, start: u32, len: u32) -> Segment<'_, 'a> {
        let start = start as usize;
        Segment {
            fields: self
                .fields
                .get(start..start + len as usize)
                .unwrap_or_default(),
            delimiters: self.delimiters,
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn check_delimiters(d: &Delimiters) -> Result<(), ParseError> {
    let all = [d.field, d.component, d.repetition, d.escape, d.subcomponent];
    let usable = |b: &u8| b.is_ascii_punctuation();
    let distinct = all
        .iter()
        .enumerate()
        .all(|(i, a)| all[i + 1..].iter().all(|b| a != b));
    if all.iter().all(usable) && distinct {
        Ok(())
    } else {
        Err(ParseError::BadDelimiters)
    }
}

/// One segment: its id and fields.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'m, 'a> {
    fields: &'m [&'a str],
    delimiters: Delimiters,
}

impl<'a> Segment<'_, 'a> {
    /// The segment id, e.g. `PID`.
    pub fn id(&self) -> &'a str {
        self.fields.first().copied().unwrap_or_default()
    }

    /// Field `n` (1-based, as in `PID-3`); empty when absent.
    pub fn field(&self, n: usize) -> Field<'a> {
        Field {
            raw: self.fields.get(n).copied().unwrap_or_default(),
            d: self.delimiters,
        }
    }

    /// Component `c` of the first repetition of field `f` (`PID-5.1` is `get(5, 1)`).
    pub fn get(&self, f: usize, c: usize) -> Value<'a> {
        self.field(f).first().comp(c)
    }

    /// The decoded text of `PID-f.c` (first repetition); `None` when empty.
    pub fn text(&self, f: usize, c: usize) -> Option<String> {
        self.get(f, c).text()
    }
}

/// A field with all its repetitions.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    raw: &'a str,
    d: Delimiters,
}

impl<'a> Field<'a> {
    /// The raw field, escapes not decoded.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The repetitions (one, possibly empty, when the field does not repeat).
    pub fn reps(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let d = self.d;
        self.raw
            .split(char::from(d.repetition))
            .map(move |raw| Value { raw, d })
    }

    /// The first repetition.
    pub fn first(&self) -> Value<'a> {
        let raw = self
            .raw
            .split(char::from(self.d.repetition))
            .next()
            .unwrap_or_default();
        Value { raw, d: self.d }
    }

    /// The whole field decoded, repetitions joined with `joiner`; `None` when empty.
    pub fn text_joined(&self, joiner: &str) -> Option<String> {
        let parts: Vec<String> = self.reps().filter_map(|r| r.text()).collect();
        (!parts.is_empty()).then(|| parts.join(joiner))
    }
}

/// One repetition, component or sub-component.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    raw: &'a str,
    d: Delimiters,
}

impl<'a> Value<'a> {
    /// Component `n` (1-based) of a repetition.
    pub fn comp(&self, n: usize) -> Value<'a> {
        self.nth(self.d.component, n)
    }

    /// Sub-component `n` (1-based) of a component.
    pub fn sub(&self, n: usize) -> Value<'a> {
        self.nth(self.d.subcomponent, n)
    }

    fn nth(&self, sep: u8, n: usize) -> Value<'a> {
        let raw = self
            .raw
            .split(char::from(sep))
            .nth(n.saturating_sub(1))
            .unwrap_or_default();
        Value { raw, d: self.d }
    }

    /// The raw text, escapes not decoded, trimmed (for codes and numbers).
    pub fn raw(&self) -> &'a str {
        self.raw.trim()
    }

    /// True when empty, blank or the HL7 explicit null `""`.
    pub fn is_empty(&self) -> bool {
        let t = self.raw.trim();
        t.is_empty() || t == "\"\""
    }

    /// The decoded, trimmed text; `None` when empty or `""`. Delimiters inside the value stay
    /// (call on a component or sub-component to split them off).
    pub fn text(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let text = escape::decode(self.raw.trim(), &self.d);
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

//! Reading the header segments (MSH, and FHS/BHS of batches) straight from the bytes.
//!
//! MSH is ASCII in every charset the hub supports, so it is parsed before anything is decoded:
//! MSH-18 says how to read the rest. Only the fields the connector needs are exposed; nothing
//! else of the message is looked at. Segments end with CR; LF and CRLF are tolerated because
//! real senders use them.

use crate::rejection::Rejection;

/// Longest MSH-10 any HL7 version allows (v2.7+: 199; earlier versions: 20 or fewer).
pub const MAX_CONTROL_ID: usize = 199;

/// The separators declared by MSH-1 and MSH-2 (or FHS/BHS-1 and -2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: u8,
    /// Component separator, usually `^`.
    pub component: u8,
    /// Repetition separator, usually `~`.
    pub repetition: u8,
    /// Subcomponent separator, usually `&`.
    pub subcomponent: u8,
    /// MSH-2 exactly as sent (4 characters, or 5 with the v2.7 truncation character).
    pub encoding_characters: Vec<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            field: b'|',
            component: b'^',
            repetition: b'~',
            subcomponent: b'&',
            encoding_characters: b"^~\\&".to_vec(),
        }
    }
}

/// A header segment (MSH, BHS or FHS) split into fields, borrowing the message bytes.
#[derive(Debug, Clone)]
pub struct HeaderSegment<'a> {
    /// Its separators.
    pub delimiters: Delimiters,
    /// `parts[n - 1]` is field n for n >= 2 (field 1 is the separator itself).
    parts: Vec<&'a [u8]>,
}

impl<'a> HeaderSegment<'a> {
    /// Parses the segment named `name` (`b"MSH"`, `b"BHS"`, `b"FHS"`) at the start of `segment`.
    ///
    /// # Errors
    /// [`Rejection::MissingMsh`] if the segment has another name; [`Rejection::BadDelimiters`]
    /// if the separator or encoding characters are unusable.
    pub fn parse(segment: &'a [u8], name: &[u8; 3]) -> Result<Self, Rejection> {
        let segment = &segment[..segment_end(segment)];
        if segment.len() < 3 || &segment[..3] != name {
            return Err(Rejection::MissingMsh);
        }
        let Some(&field) = segment.get(3) else {
            return Err(Rejection::BadDelimiters);
        };
        if !is_delimiter(field) {
            return Err(Rejection::BadDelimiters);
        }
        let parts: Vec<&[u8]> = segment[4..].split(|&b| b == field).collect();
        let encoding = parts.first().copied().unwrap_or_default();
        if !(4..=5).contains(&encoding.len())
            || !encoding.iter().all(|&b| is_delimiter(b) && b != field)
            || (1..encoding.len()).any(|i| encoding[..i].contains(&encoding[i]))
        {
            return Err(Rejection::BadDelimiters);
        }
        let mut all = Vec::with_capacity(parts.len() + 1);
        all.push(&segment[..3]);
        all.extend(parts);
        Ok(Self {
            delimiters: Delimiters {
                field,
                component: encoding[0],
                repetition: encoding[1],
                subcomponent: encoding[3],
                encoding_characters: encoding.to_vec(),
            },
            parts: all,
        })
    }

    /// Field `n` (1-based, n >= 2) as raw bytes; empty if absent.
    pub fn field(&self, n: usize) -> &'a [u8] {
        self.parts
            .get(n.saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// Component `c` (1-based) of the first repetition of field `n`.
    pub fn component(&self, n: usize, c: usize) -> &'a [u8] {
        let field = self.field(n);
        let first = field
            .split(|&b| b == self.delimiters.repetition)
            .next()
            .unwrap_or_default();
        first
            .split(|&b| b == self.delimiters.component)
            .nth(c.saturating_sub(1))
            .unwrap_or_default()
    }
}

/// The MSH fields the connector uses.
#[derive(Debug, Clone)]
pub struct Msh<'a> {
    /// The segment itself, for the ACK's swapped sender/receiver fields.
    pub segment: HeaderSegment<'a>,
}

impl<'a> Msh<'a> {
    /// Parses the MSH at the start of `message` (leading CR/LF and spaces are skipped).
    ///
    /// # Errors
    /// [`Rejection::MissingMsh`], [`Rejection::BadDelimiters`], [`Rejection::MissingControlId`]
    /// or [`Rejection::ControlIdTooLong`].
    pub fn parse(message: &'a [u8]) -> Result<Self, Rejection> {
        let segment = HeaderSegment::parse(trim_start(message), b"MSH")?;
        let control_id = segment.field(10);
        if control_id.iter().all(u8::is_ascii_whitespace) {
            return Err(Rejection::MissingControlId);
        }
        if control_id.len() > MAX_CONTROL_ID {
            return Err(Rejection::ControlIdTooLong);
        }
        Ok(Self { segment })
    }

    /// MSH-10, the message control id (non-empty).
    pub fn control_id(&self) -> &'a [u8] {
        self.segment.field(10)
    }

    /// MSH-9.1 and MSH-9.2: message code and trigger event (e.g. `ADT`, `A01`).
    pub fn message_type(&self) -> (&'a [u8], &'a [u8]) {
        (self.segment.component(9, 1), self.segment.component(9, 2))
    }

    /// MSH-11, the processing id (`P`, `T`, `D`), as sent.
    pub fn processing_id(&self) -> &'a [u8] {
        self.segment.field(11)
    }

    /// MSH-12, the version id as sent (e.g. `2.5.1`, or `2.4^CHN`).
    pub fn version_field(&self) -> &'a [u8] {
        self.segment.field(12)
    }

    /// MSH-12.1, the version number (e.g. `2.5.1`).
    pub fn version(&self) -> &'a [u8] {
        self.segment.component(12, 1)
    }

    /// MSH-15, the accept acknowledgment type (`AL`, `NE`, `ER`, `SU`); empty in original mode.
    pub fn accept_ack_type(&self) -> &'a [u8] {
        self.segment.field(15)
    }

    /// The first repetition of MSH-18 (the message's default character set), trimmed.
    pub fn charset(&self) -> &'a [u8] {
        let field = self.segment.field(18);
        let first = field
            .split(|&b| b == self.segment.delimiters.repetition)
            .next()
            .unwrap_or_default();
        first.trim_ascii()
    }
}

/// Index of the first segment terminator (CR or LF), or the length.
pub fn segment_end(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len())
}

/// `bytes` without leading CR, LF, spaces and tabs.
pub fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// A usable separator: printable ASCII punctuation, not alphanumeric or space.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_punctuation()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &[u8] = b"MSH|^~\\&|HIS|H001|HUB|COUNTY|20240501083000||ADT^A01^ADT_A01|MSG00001|P|2.5.1|||AL|NE||UNICODE UTF-8\rEVN|A01|20240501083000\rPID|1||X\r";

    #[test]
    fn reads_the_fields_the_connector_needs() {
        let msh = Msh::parse(ADT).unwrap();
        assert_eq!(msh.control_id(), b"MSG00001");
        assert_eq!(msh.message_type(), (&b"ADT"[..], &b"A01"[..]));
        assert_eq!(msh.processing_id(), b"P");
        assert_eq!(msh.version(), b"2.5.1");
        assert_eq!(msh.accept_ack_type(), b"AL");
        assert_eq!(msh.charset(), b"UNICODE UTF-8");
        assert_eq!(msh.segment.field(3), b"HIS");
        assert_eq!(msh.segment.field(6), b"COUNTY");
        assert_eq!(msh.segment.delimiters, Delimiters::default());
    }

    #[test]
    fn honours_other_separators_and_terminators() {
        let msg = b"\r\nMSH#$*!@#LAB#L1#HUB#C#20240501##ORU$R01#ID-7#P#2.3.1$CHN\nOBX#1\n";
        let msh = Msh::parse(msg).unwrap();
        assert_eq!(msh.segment.delimiters.field, b'#');
        assert_eq!(msh.segment.delimiters.component, b'$');
        assert_eq!(msh.segment.delimiters.subcomponent, b'@');
        assert_eq!(msh.control_id(), b"ID-7");
        assert_eq!(msh.version_field(), b"2.3.1$CHN");
        assert_eq!(msh.version(), b"2.3.1");
        assert_eq!(msh.charset(), b"");
        let truncation = b"MSH|^~\\&#|A|B|C|D|||ACK|X1|P|2.7\r";
        assert!(Msh::parse(truncation).is_ok());
    }

    #[test]
    fn rejects_unusable_headers() {
        assert_eq!(
            Msh::parse(b"PID|1||X\r").unwrap_err(),
            Rejection::MissingMsh
        );
        assert_eq!(Msh::parse(b"").unwrap_err(), Rejection::MissingMsh);
        assert_eq!(Msh::parse(b"MSH").unwrap_err(), Rejection::BadDelimiters);
        assert_eq!(
            Msh::parse(b"MSHA^~\\&A").unwrap_err(),
            Rejection::BadDelimiters
        );
        assert_eq!(
            Msh::parse(b"MSH|^~|A|B\r").unwrap_err(),
            Rejection::BadDelimiters
        );
        assert_eq!(
            Msh::parse(b"MSH|^^\\&|A\r").unwrap_err(),
            Rejection::BadDelimiters
        );
        assert_eq!(
            Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01||P|2.5\r").unwrap_err(),
            Rejection::MissingControlId
        );
        let mut long = b"MSH|^~\\&|A|B|C|D|||ADT^A01|".to_vec();
        long.extend(std::iter::repeat_n(b'9', 200));
        long.extend_from_slice(b"|P|2.5\r");
        assert_eq!(Msh::parse(&long).unwrap_err(), Rejection::ControlIdTooLong);
        assert_eq!(
            Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01").unwrap_err(),
            Rejection::MissingControlId
        );
    }

    #[test]
    fn never_panics_on_noise() {
        let mut state = 0x1234_5678_u32;
        for len in 0..300 {
            let mut bytes = b"MSH".to_vec();
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                bytes.push((state % 7) as u8 + b'{');
            }
            let _ = Msh::parse(&bytes);
        }
    }
}

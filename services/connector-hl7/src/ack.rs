//! The `ACK` message: original mode (`AA`/`AE`/`AR`) or enhanced-mode accept acknowledgments
//! (`CA`/`CE`/`CR`) when MSH-15 asks for them.
//!
//! The ACK speaks the sender's dialect: its separators and encoding characters, its version
//! (MSH-12, with the `ERR` layout of that version), its charset (MSH-18 echoed; the sender's
//! application and facility fields are copied as raw bytes, so they stay in the message's charset,
//! and the connector's own text is encoded in it). MSH-3/4 and MSH-5/6 are swapped, MSA-2 echoes
//! MSH-10. A message without a usable MSH gets an ACK with `|^~\&`, version 2.5 and an empty MSA-2.

use crate::charset::Charset;
use crate::msh::{Delimiters, Msh};
use crate::rejection::{Rejection, Severity};

/// Version written when the message has none (or no usable MSH).
pub const FALLBACK_VERSION: &[u8] = b"2.5";

/// An acknowledgment code (HL7 table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// Original mode: accepted (here: durably stored).
    AA,
    /// Original mode: content error, do not resend unchanged.
    AE,
    /// Original mode: rejected for reasons unrelated to content, resend later.
    AR,
    /// Enhanced mode: committed to safe storage.
    CA,
    /// Enhanced mode: commit error.
    CE,
    /// Enhanced mode: commit reject, resend later.
    CR,
}

impl AckCode {
    /// The code as written in MSA-1 (and the `code` metric label).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AA => "AA",
            Self::AE => "AE",
            Self::AR => "AR",
            Self::CA => "CA",
            Self::CE => "CE",
            Self::CR => "CR",
        }
    }

    /// Whether this code tells the sender that the message is stored.
    pub const fn is_positive(self) -> bool {
        matches!(self, Self::AA | Self::CA)
    }
}

/// The code to answer `outcome` with, or `None` when the sender asked for no accept ACK in this
/// case (enhanced mode with MSH-15 `NE`, `ER` on success, `SU` on error).
pub fn ack_code(msh: Option<&Msh<'_>>, outcome: Result<(), Rejection>) -> Option<AckCode> {
    let accept = msh
        .map(Msh::accept_ack_type)
        .unwrap_or_default()
        .trim_ascii();
    let enhanced = !accept.is_empty();
    let code = match (outcome.map_err(Rejection::severity), enhanced) {
        (Ok(()), false) => AckCode::AA,
        (Err(Severity::Error), false) => AckCode::AE,
        (Err(Severity::Reject), false) => AckCode::AR,
        (Ok(()), true) => AckCode::CA,
        (Err(Severity::Error), true) => AckCode::CE,
        (Err(Severity::Reject), true) => AckCode::CR,
    };
    let wanted = match accept {
        b"NE" => false,
        b"ER" => !code.is_positive(),
        b"SU" => code.is_positive(),
        _ => true, // AL, empty (original mode), or an unknown value: always answer.
    };
    wanted.then_some(code)
}

/// What goes into one ACK besides the code.
#[derive(Debug, Clone, Copy)]
pub struct AckInput<'a> {
    /// The acknowledged message's MSH, if it had a usable one.
    pub msh: Option<&'a Msh<'a>>,
    /// Why it was refused, if it was.
    pub rejection: Option<Rejection>,
    /// The message's charset (for the connector's own text).
    pub charset: Charset,
    /// MSH-10 of the ACK itself.
    pub control_id: &'a str,
    /// MSH-7 of the ACK (`YYYYMMDDHHMMSS+ZZZZ`).
    pub timestamp: &'a str,
}

/// An HL7 version as numbers, for choosing the segment layout (`2.3.1` -> `(2, 3, 1)`).
fn version_number(version: &[u8]) -> (u8, u8, u8) {
    let mut parts = version.split(|&b| b == b'.').map(|p| {
        std::str::from_utf8(p)
            .ok()
            .and_then(|s| s.trim().parse::<u8>().ok())
    });
    let mut next = || parts.next().flatten().unwrap_or(0);
    let (major, minor, patch) = (next(), next(), next());
    if major == 0 {
        (2, 5, 0)
    } else {
        (major, minor, patch)
    }
}

/// Writes one ACK message (segments ended by CR, no MLLP framing).
pub fn build_ack(input: &AckInput<'_>, code: AckCode) -> Vec<u8> {
    let default = Delimiters::default();
    let d = input.msh.map_or(&default, |m| &m.segment.delimiters);
    let field = |n: usize| input.msh.map(|m| m.segment.field(n)).unwrap_or_default();
    let version_field = match input.msh.map(Msh::version_field) {
        Some(v) if !v.is_empty() => v,
        _ => FALLBACK_VERSION,
    };
    let version = version_number(input.msh.map(Msh::version).unwrap_or(FALLBACK_VERSION));
    let text = |t: &str| input.charset.encode(&sanitize(t, d));
    let (fs, cs, ss) = (d.field, d.component, d.subcomponent);

    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"MSH");
    out.push(fs);
    out.extend_from_slice(&d.encoding_characters);
    for n in [5, 6, 3, 4] {
        out.push(fs);
        out.extend_from_slice(field(n));
    }
    out.push(fs);
    out.extend_from_slice(input.timestamp.as_bytes());
    out.extend([fs, fs]);
    out.extend_from_slice(b"ACK");
    let event = input.msh.map(|m| m.message_type().1).unwrap_or_default();
    if version >= (2, 3, 0) && !event.is_empty() {
        out.push(cs);
        out.extend_from_slice(event);
    }
    if version >= (2, 3, 1) {
        if event.is_empty() {
            out.push(cs);
        }
        out.push(cs);
        out.extend_from_slice(b"ACK");
    }
    out.push(fs);
    out.extend_from_slice(input.control_id.as_bytes());
    out.push(fs);
    let processing = field(11);
    out.extend_from_slice(if processing.is_empty() {
        b"P"
    } else {
        processing
    });
    out.push(fs);
    out.extend_from_slice(version_field);
    let charset_field = field(18);
    let enhanced = matches!(code, AckCode::CA | AckCode::CE | AckCode::CR);
    if enhanced || !charset_field.is_empty() {
        out.extend([fs, fs, fs]); // MSH-13, MSH-14
        if enhanced {
            out.extend_from_slice(b"NE");
            out.push(fs);
            out.extend_from_slice(b"NE");
        } else {
            out.push(fs);
        }
        if !charset_field.is_empty() {
            out.extend([fs, fs]); // MSH-17
            out.extend_from_slice(charset_field);
        }
    }
    out.push(b'\r');

    out.extend_from_slice(b"MSA");
    out.push(fs);
    out.extend_from_slice(code.as_str().as_bytes());
    out.push(fs);
    out.extend_from_slice(input.msh.map(Msh::control_id).unwrap_or_default());
    let Some(rejection) = input.rejection else {
        out.push(b'\r');
        return out;
    };
    if version < (2, 7, 0) {
        out.push(fs); // MSA-3, text message (withdrawn in v2.7)
        out.extend(text(&rejection.to_string()));
    }
    out.push(b'\r');

    let (hl7_code, hl7_text) = rejection.hl7_code();
    out.extend_from_slice(b"ERR");
    out.push(fs);
    if version >= (2, 5, 0) {
        // ERR-2 location, ERR-3 code (CWE), ERR-4 severity, ERR-8 user message.
        out.push(fs);
        if let Some((segment, position)) = rejection.location() {
            out.extend_from_slice(segment.as_bytes());
            out.push(cs);
            out.push(b'1');
            if position > 0 {
                out.push(cs);
                out.extend_from_slice(position.to_string().as_bytes());
            }
        }
        out.push(fs);
        out.extend_from_slice(format!("{hl7_code}").as_bytes());
        out.push(cs);
        out.extend(text(hl7_text));
        out.push(cs);
        out.extend_from_slice(b"HL70357");
        out.push(fs);
        out.push(b'E');
        out.extend([fs, fs, fs, fs]);
        out.extend(text(&rejection.to_string()));
    } else {
        // ERR-1 (ELD): segment ^ sequence ^ field ^ code&text&HL70357.
        if let Some((segment, position)) = rejection.location() {
            out.extend_from_slice(segment.as_bytes());
            out.push(cs);
            out.push(b'1');
            out.push(cs);
            if position > 0 {
                out.extend_from_slice(position.to_string().as_bytes());
            }
        } else {
            out.extend([cs, cs]);
        }
        out.push(cs);
        out.extend_from_slice(format!("{hl7_code}").as_bytes());
        out.push(ss);
        out.extend(text(hl7_text));
        out.push(ss);
        out.extend_from_slice(b"HL70357");
    }
    out.push(b'\r');
    out
}

/// The connector's text with the message's separators and escape character replaced by spaces,
/// so that it never changes the ACK's structure.
fn sanitize(text: &str, d: &Delimiters) -> String {
    text.chars()
        .map(|c| {
            let b = u32::from(c);
            let special =
                b < 0x80 && (b as u8 == d.field || d.encoding_characters.contains(&(b as u8)));
            if special { ' ' } else { c }
        })
        .collect()
}

#[cfg(test)]
#[path = "ack_tests.rs"]
mod tests;

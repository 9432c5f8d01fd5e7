//! HL7 batches (`FHS`/`BHS` ... `BTS`/`FTS`) sent in one MLLP frame.
//!
//! Each contained message is stored on its own (the raw topic is one message per record, keyed
//! by its own MSH-10), as byte-exact slices of the frame. MLLP is one response per frame, so the
//! sender gets one frame back: a batch of ACKs, one per message in order, wrapped in `BHS`/`BTS`
//! (and `FHS`/`FTS` when the input had a file header), with BHS-12/FHS-12 referencing the
//! sender's batch/file control id. This is the batch acknowledgment of HL7 v2 chapter 2 (as
//! Mirth and Rhapsody answer batch frames); senders that expect a single ACK do not send batches.

use crate::msh::{Delimiters, HeaderSegment, trim_start};
use crate::rejection::Rejection;

/// What a frame holds.
#[derive(Debug)]
pub enum FrameContent<'a> {
    /// One message (or something without a header, refused later when MSH is parsed).
    Single(&'a [u8]),
    /// A batch: its headers and its messages, in order.
    Batch(Batch<'a>),
}

/// A batch's envelope and messages.
#[derive(Debug)]
pub struct Batch<'a> {
    /// The file header (`FHS`), if any.
    pub file_header: Option<HeaderSegment<'a>>,
    /// The batch header (`BHS`), if any.
    pub batch_header: Option<HeaderSegment<'a>>,
    /// Each message, from its MSH to the end of its last segment (terminators included).
    pub messages: Vec<&'a [u8]>,
}

impl Batch<'_> {
    /// The separators for the batch ACK envelope.
    pub fn delimiters(&self) -> Delimiters {
        self.file_header
            .as_ref()
            .or(self.batch_header.as_ref())
            .map(|h| h.delimiters.clone())
            .unwrap_or_default()
    }
}

/// Segments of `bytes` as `(name, start, end)`, `end` past the segment's terminators.
fn segments(bytes: &[u8]) -> impl Iterator<Item = (&[u8], usize, usize)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() && matches!(bytes[pos], b'\r' | b'\n') {
            pos += 1;
        }
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        while pos < bytes.len() && !matches!(bytes[pos], b'\r' | b'\n') {
            pos += 1;
        }
        let name = &bytes[start..(start + 3).min(pos)];
        while pos < bytes.len() && matches!(bytes[pos], b'\r' | b'\n') {
            pos += 1;
        }
        Some((name, start, pos))
    })
}

/// Splits a frame into its messages.
///
/// # Errors
/// [`Rejection::BadDelimiters`] when an FHS/BHS header is unusable.
pub fn split(frame: &[u8]) -> Result<FrameContent<'_>, Rejection> {
    let body = trim_start(frame);
    if !(body.starts_with(b"FHS") || body.starts_with(b"BHS")) {
        return Ok(FrameContent::Single(frame));
    }
    let mut batch = Batch {
        file_header: None,
        batch_header: None,
        messages: Vec::new(),
    };
    let mut current: Option<(usize, usize)> = None;
    for (name, start, end) in segments(frame) {
        match name {
            b"FHS" | b"BHS" | b"BTS" | b"FTS" | b"MSH" => {
                if let Some((s, e)) = current.take() {
                    batch.messages.push(&frame[s..e]);
                }
                match name {
                    b"FHS" if batch.file_header.is_none() => {
                        batch.file_header = Some(HeaderSegment::parse(&frame[start..], b"FHS")?);
                    }
                    b"BHS" if batch.batch_header.is_none() => {
                        batch.batch_header = Some(HeaderSegment::parse(&frame[start..], b"BHS")?);
                    }
                    b"MSH" => current = Some((start, end)),
                    _ => {}
                }
            }
            // A segment of the current message; anything outside a message is envelope.
            _ => {
                if let Some((_, e)) = current.as_mut() {
                    *e = end;
                }
            }
        }
    }
    if let Some((s, e)) = current {
        batch.messages.push(&frame[s..e]);
    }
    Ok(FrameContent::Batch(batch))
}

/// Wraps per-message ACKs into the batch ACK frame body.
pub fn wrap_acks(
    batch: &Batch<'_>,
    acks: &[Vec<u8>],
    control_id: &str,
    timestamp: &str,
) -> Vec<u8> {
    let d = batch.delimiters();
    let fs = d.field;
    let header = |out: &mut Vec<u8>, name: &[u8], original: Option<&HeaderSegment<'_>>| {
        let field = |n: usize| original.map(|h| h.field(n)).unwrap_or_default();
        out.extend_from_slice(name);
        out.push(fs);
        out.extend_from_slice(&d.encoding_characters);
        for n in [5, 6, 3, 4] {
            out.push(fs);
            out.extend_from_slice(field(n));
        }
        out.push(fs);
        out.extend_from_slice(timestamp.as_bytes());
        out.extend([fs, fs, fs, fs]); // -8 security, -9 name, -10 comment
        out.extend_from_slice(control_id.as_bytes()); // -11 control id
        out.push(fs);
        out.extend_from_slice(field(11)); // -12 reference control id
        out.push(b'\r');
    };
    let mut out = Vec::with_capacity(acks.iter().map(Vec::len).sum::<usize>() + 256);
    if batch.file_header.is_some() {
        header(&mut out, b"FHS", batch.file_header.as_ref());
    }
    header(&mut out, b"BHS", batch.batch_header.as_ref());
    for ack in acks {
        out.extend_from_slice(ack);
    }
    out.extend_from_slice(b"BTS");
    out.push(fs);
    out.extend_from_slice(acks.len().to_string().as_bytes());
    out.push(b'\r');
    if batch.file_header.is_some() {
        out.extend_from_slice(b"FTS");
        out.push(fs);
        out.push(b'1');
        out.push(b'\r');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BATCH: &[u8] =
        b"FHS|^~\\&|LIS|L1|HUB|C|20240501||||F-1\rBHS|^~\\&|LIS|L1|HUB|C|20240501||||B-1\r\
MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01|M1|P|2.5\rPID|1\rOBX|1\r\
MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01|M2|P|2.5\r\nOBX|1\r\n\
BTS|2\rFTS|1\r";

    #[test]
    fn splits_messages_byte_exact() {
        let FrameContent::Batch(batch) = split(BATCH).unwrap() else {
            panic!("not a batch");
        };
        assert_eq!(batch.messages.len(), 2);
        assert_eq!(
            batch.messages[0],
            b"MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01|M1|P|2.5\rPID|1\rOBX|1\r"
        );
        assert_eq!(
            batch.messages[1],
            b"MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01|M2|P|2.5\r\nOBX|1\r\n"
        );
        assert_eq!(batch.batch_header.as_ref().unwrap().field(11), b"B-1");

        let body = wrap_acks(&batch, &[b"MSH|a\rMSA|AA|M1\r".to_vec()], "A9", "20240501");
        assert_eq!(
            String::from_utf8_lossy(&body).replace('\r', "\n"),
            "FHS|^~\\&|HUB|C|LIS|L1|20240501||||A9|F-1\nBHS|^~\\&|HUB|C|LIS|L1|20240501||||A9|B-1\n\
MSH|a\nMSA|AA|M1\nBTS|1\nFTS|1\n"
        );
    }

    #[test]
    fn single_messages_and_bad_headers() {
        assert!(matches!(
            split(b"MSH|^~\\&|x\r"),
            Ok(FrameContent::Single(_))
        ));
        assert!(matches!(split(b"garbage"), Ok(FrameContent::Single(_))));
        assert_eq!(split(b"BHS|^^|x\r").unwrap_err(), Rejection::BadDelimiters);
        let FrameContent::Batch(empty) = split(b"BHS|^~\\&\rBTS|0\r").unwrap() else {
            panic!("not a batch");
        };
        assert!(empty.messages.is_empty());
    }
}

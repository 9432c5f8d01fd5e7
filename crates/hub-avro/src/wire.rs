//! The Confluent wire format: `0x00`, a big-endian `u32` schema id, then the Avro binary datum.
//!
//! Every Confluent-compatible client (Java, Python, Go, librdkafka-based serdes) reads and writes
//! this framing, so anything the hub produces can be decoded with the registry alone.

/// The magic byte that starts every framed message.
pub const MAGIC: u8 = 0;
/// Length of the header: magic byte plus schema id.
pub const HEADER_LEN: usize = 5;

/// A payload that is not in the Confluent wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than five bytes: not even a header.
    #[error("payload of {0} bytes is too short for the 5-byte Confluent header")]
    TooShort(usize),
    /// The first byte is not 0.
    #[error("unknown magic byte {0:#04x} (expected 0x00)")]
    BadMagic(u8),
}

/// Writes the header for `schema_id` into `out`, to be followed by the Avro datum.
pub fn write_header(out: &mut Vec<u8>, schema_id: u32) {
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Frames an Avro datum: header followed by `datum`.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
    write_header(&mut out, schema_id);
    out.extend_from_slice(datum);
    out
}

/// Splits a framed payload into its schema id and Avro datum.
///
/// # Errors
/// A payload shorter than the header or with a magic byte other than 0.
pub fn unframe(payload: &[u8]) -> Result<(u32, &[u8]), WireError> {
    let Some((header, datum)) = payload.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::TooShort(payload.len()));
    };
    if header[0] != MAGIC {
        return Err(WireError::BadMagic(header[0]));
    }
    let id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    Ok((id, datum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_unframes() {
        let framed = frame(0x0102_0304, b"datum");
        assert_eq!(&framed[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(unframe(&framed), Ok((0x0102_0304, &b"datum"[..])));
        assert_eq!(unframe(&[0, 0, 0, 0, 7]), Ok((7, &b""[..])));
    }

    #[test]
    fn rejects_short_and_foreign_payloads() {
        assert_eq!(unframe(b""), Err(WireError::TooShort(0)));
        assert_eq!(unframe(&[0, 0, 0, 1]), Err(WireError::TooShort(4)));
        assert_eq!(unframe(b"{\"json\":1}"), Err(WireError::BadMagic(b'{')));
    }
}

//! MLLP framing (`connector_hl7::mllp::MllpCodec`) over a byte stream cut into reads at
//! fuzzer-chosen points, then each frame through what the connection does next: batch split,
//! MSH parse, charset, ACK.
//!
//! Invariants: no panic; the items do not depend on how the stream was cut into reads (except
//! how much of an oversized frame's head is kept when the maximum is below
//! `OVERSIZE_HEAD`: what was buffered when the frame overflowed, always more than the maximum);
//! a frame (whole or truncated) never exceeds the maximum size; every byte is accounted for
//! (content, discarded garbage, or framing characters).
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use connector_hl7::ack::{AckInput, ack_code, build_ack};
use connector_hl7::batch::{FrameContent, split};
use connector_hl7::charset::Charset;
use connector_hl7::mllp::{CR, EB, MllpCodec, MllpItem, OVERSIZE_HEAD, SB};
use connector_hl7::msh::Msh;
use tokio_util::codec::Decoder;

#[derive(Debug, Arbitrary)]
struct Input {
    /// Maximum frame size (small, so that the oversize path is reached).
    max_frame: u16,
    /// Read sizes; the last one repeats.
    reads: Vec<u16>,
    stream: Vec<u8>,
}

fn decode_all(max_frame: usize, stream: &[u8], reads: &[u16]) -> (Vec<MllpItem>, u64) {
    let mut codec = MllpCodec::new(max_frame);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut discarded = 0;
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let size = reads
            .get(i)
            .or(reads.last())
            .map_or(rest.len(), |&n| usize::from(n).max(1));
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        i += 1;
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).expect("decode never fails") {
            items.push(item);
        }
        discarded += codec.take_discarded();
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("decode_eof never fails") {
        items.push(item);
    }
    assert!(buf.is_empty(), "bytes left in the buffer after EOF");
    (items, discarded + codec.take_discarded())
}

/// What the connector does with one frame's content.
fn handle(frame: &[u8]) {
    let messages = match split(frame) {
        Ok(FrameContent::Single(m)) => vec![m],
        Ok(FrameContent::Batch(b)) => {
            let _ = b.delimiters();
            b.messages
        }
        Err(_) => return,
    };
    for message in messages {
        let msh = Msh::parse(message).ok();
        let charset = msh
            .as_ref()
            .and_then(|m| std::str::from_utf8(m.charset()).ok())
            .and_then(Charset::from_hl7)
            .unwrap_or(Charset::UTF_8);
        let _ = charset.is_valid(message);
        if let Some(m) = &msh {
            let _ = charset.decode_lossy(m.control_id());
            let _ = (m.message_type(), m.processing_id(), m.version());
        }
        for rejection in [None, Some(connector_hl7::rejection::Rejection::Truncated)] {
            let outcome = rejection.map_or(Ok(()), Err);
            if let Some(code) = ack_code(msh.as_ref(), outcome) {
                let input = AckInput {
                    msh: msh.as_ref(),
                    rejection,
                    charset,
                    control_id: "ACK1",
                    timestamp: "20240501083000+0800",
                };
                assert!(!build_ack(&input, code).is_empty());
            }
        }
    }
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let max_frame = usize::from(input.max_frame).max(1);
    let stream = &input.stream;
    let (items, discarded) = decode_all(max_frame, stream, &input.reads);
    let (whole, whole_discarded) = decode_all(max_frame, stream, &[]);
    assert_eq!(
        items.len(),
        whole.len(),
        "items depend on how the stream was read"
    );
    for (item, one_read) in items.iter().zip(&whole) {
        match (item, one_read) {
            (
                MllpItem::TooLarge { head, size },
                MllpItem::TooLarge {
                    head: full_head,
                    size: full_size,
                },
            ) => {
                assert_eq!(size, full_size, "oversized frame sizes differ");
                assert!(full_head.starts_with(head), "oversized frame heads differ");
                let least = OVERSIZE_HEAD.min(max_frame + 1).min(*size);
                assert!(head.len() >= least, "head of {} < {least}", head.len());
            }
            _ => assert_eq!(item, one_read, "items depend on how the stream was read"),
        }
    }
    assert_eq!(
        discarded, whole_discarded,
        "discarded count depends on the reads"
    );

    let mut content = 0_usize;
    for item in &items {
        match item {
            MllpItem::Frame(b) | MllpItem::Truncated(b) => {
                assert!(b.len() <= max_frame, "a frame of {} > {max_frame}", b.len());
                assert!(
                    !b.contains(&SB) && !b.contains(&EB),
                    "block byte inside a frame"
                );
                if let MllpItem::Frame(b) = item {
                    assert!(!b.is_empty());
                }
                content += b.len();
                handle(b);
            }
            MllpItem::TooLarge { head, size } => {
                assert!(*size > max_frame, "TooLarge of {size} <= {max_frame}");
                assert!(head.len() <= OVERSIZE_HEAD.min(*size));
                content += size;
            }
        }
    }
    let framing = stream
        .iter()
        .filter(|&&b| b == SB || b == EB || b == CR)
        .count();
    let accounted = content + usize::try_from(discarded).expect("fits");
    assert!(accounted <= stream.len(), "more bytes out than in");
    assert!(
        stream.len() - accounted <= framing,
        "bytes lost: {} in, {accounted} accounted, {framing} framing characters",
        stream.len()
    );
});

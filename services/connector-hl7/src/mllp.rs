//! MLLP framing: `<VT 0x0B> message <FS 0x1C><CR 0x0D>`, with no length and no checksum.
//!
//! The decoder is a small state machine that owns the robustness rules, so the connection loop
//! only sees whole frames and clear events:
//! - bytes outside a frame (before a start block) are discarded and counted; the CR after an end
//!   block is framing, not garbage; an end block without its CR is accepted;
//! - a start block inside a frame means the previous frame was cut short: it is returned as
//!   [`MllpItem::Truncated`] and a new frame starts, as it does at EOF inside a frame;
//! - a frame growing past the maximum size is not buffered: its first bytes are kept (to read
//!   MSH for the `AE` and the DLQ), the rest is skipped up to its end block, and
//!   [`MllpItem::TooLarge`] is returned there (also when a start block cut it short), so no
//!   frame, whole or truncated, is ever larger than the maximum.
//!
//! It implements `tokio_util::codec::Decoder`, and scans each byte once even when a frame
//! arrives in many reads.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// Start block.
pub const SB: u8 = 0x0B;
/// End block.
pub const EB: u8 = 0x1C;
/// Carriage return after the end block.
pub const CR: u8 = 0x0D;

/// How many leading bytes of an oversized frame are kept.
pub const OVERSIZE_HEAD: usize = 64 * 1024;

/// What the decoder produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MllpItem {
    /// A complete frame's contents (framing removed, nothing else touched).
    Frame(Bytes),
    /// A frame larger than the maximum: its first bytes and its full size.
    TooLarge {
        /// The first [`OVERSIZE_HEAD`] bytes (or fewer).
        head: Bytes,
        /// Size of the whole frame contents, in bytes.
        size: usize,
    },
    /// A frame cut short by a new start block or the end of the stream.
    Truncated(Bytes),
}

#[derive(Debug)]
enum State {
    /// Outside a frame; `after_eb` when the previous byte ended a frame.
    Between { after_eb: bool },
    /// Inside a frame; `scanned` bytes of the buffer hold no block character.
    InFrame { scanned: usize },
    /// Skipping the rest of an oversized frame.
    Skipping { head: Bytes, size: usize },
}

/// The MLLP decoder.
#[derive(Debug)]
pub struct MllpCodec {
    max_frame: usize,
    state: State,
    discarded: u64,
}

impl MllpCodec {
    /// A decoder accepting frames of up to `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            max_frame,
            state: State::Between { after_eb: false },
            discarded: 0,
        }
    }

    /// Bytes discarded outside frames since the last call.
    pub fn take_discarded(&mut self) -> u64 {
        std::mem::take(&mut self.discarded)
    }

    /// Whether a frame has started and not ended (a read then has the short read timeout).
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Between { .. })
    }

    fn discard(&mut self, src: &mut BytesMut, n: usize, after_eb: bool) {
        let framing = usize::from(after_eb && n > 0 && src[0] == CR);
        self.discarded += (n - framing) as u64;
        src.advance(n);
    }
}

impl Decoder for MllpCodec {
    type Item = MllpItem;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<MllpItem>, std::io::Error> {
        loop {
            match &mut self.state {
                State::Between { after_eb } => {
                    let after_eb = *after_eb;
                    match src.iter().position(|&b| b == SB) {
                        Some(i) => {
                            self.discard(src, i, after_eb);
                            src.advance(1);
                            self.state = State::InFrame { scanned: 0 };
                        }
                        None => {
                            let n = src.len();
                            self.discard(src, n, after_eb);
                            // A CR may still follow an EB that ended the previous buffer.
                            self.state = State::Between {
                                after_eb: after_eb && n == 0,
                            };
                            return Ok(None);
                        }
                    }
                }
                State::InFrame { scanned } => {
                    let found = src[*scanned..]
                        .iter()
                        .position(|&b| b == EB || b == SB)
                        .map(|i| i + *scanned);
                    match found {
                        Some(i) if src[i] == EB => {
                            let frame = src.split_to(i).freeze();
                            src.advance(1);
                            self.state = State::Between { after_eb: true };
                            if frame.len() > self.max_frame {
                                let size = frame.len();
                                let head = frame.slice(..OVERSIZE_HEAD.min(size));
                                return Ok(Some(MllpItem::TooLarge { head, size }));
                            }
                            if frame.is_empty() {
                                continue; // A keep-alive some engines send; nothing to answer.
                            }
                            return Ok(Some(MllpItem::Frame(frame)));
                        }
                        Some(i) => {
                            let partial = src.split_to(i).freeze();
                            src.advance(1);
                            self.state = State::InFrame { scanned: 0 };
                            // Cut short and too large (the start block came in the same read
                            // that took the frame past the maximum): too large wins, as it does
                            // when the overflow is seen first.
                            if partial.len() > self.max_frame {
                                let size = partial.len();
                                let head = partial.slice(..OVERSIZE_HEAD.min(size));
                                return Ok(Some(MllpItem::TooLarge { head, size }));
                            }
                            return Ok(Some(MllpItem::Truncated(partial)));
                        }
                        None if src.len() > self.max_frame => {
                            let size = src.len();
                            let head = src.split_to(OVERSIZE_HEAD.min(size)).freeze();
                            src.clear();
                            self.state = State::Skipping { head, size };
                        }
                        None => {
                            *scanned = src.len();
                            return Ok(None);
                        }
                    }
                }
                State::Skipping { head, size } => {
                    match src.iter().position(|&b| b == EB || b == SB) {
                        Some(i) => {
                            let item = MllpItem::TooLarge {
                                head: head.clone(),
                                size: *size + i,
                            };
                            let was_eb = src[i] == EB;
                            src.advance(i + 1);
                            self.state = if was_eb {
                                State::Between { after_eb: true }
                            } else {
                                State::InFrame { scanned: 0 }
                            };
                            return Ok(Some(item));
                        }
                        None => {
                            *size += src.len();
                            src.clear();
                            return Ok(None);
                        }
                    }
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<MllpItem>, std::io::Error> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        let state = std::mem::replace(&mut self.state, State::Between { after_eb: false });
        Ok(match state {
            State::Between { .. } => None,
            State::InFrame { .. } => Some(MllpItem::Truncated(src.split().freeze())),
            State::Skipping { head, size } => Some(MllpItem::TooLarge { head, size }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = vec![SB];
        v.extend_from_slice(body);
        v.extend_from_slice(&[EB, CR]);
        v
    }

    /// Feeds `input` in chunks of `chunk` bytes and collects every item, then EOF.
    fn run(codec: &mut MllpCodec, input: &[u8], chunk: usize) -> (Vec<MllpItem>, u64) {
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        let mut discarded = 0;
        for piece in input.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                items.push(item);
            }
            discarded += codec.take_discarded();
        }
        while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            items.push(item);
        }
        (items, discarded + codec.take_discarded())
    }

    #[test]
    fn frames_survive_any_split_across_reads() {
        let mut input = frame(b"MSH|one\r");
        input.extend(frame(b"MSH|two\r"));
        input.extend(b"\x1c\r"); // a stray end block between frames is garbage
        for chunk in [1, 2, 3, 7, 64] {
            let (items, discarded) = run(&mut MllpCodec::new(1024), &input, chunk);
            assert_eq!(
                items,
                vec![
                    MllpItem::Frame(Bytes::from_static(b"MSH|one\r")),
                    MllpItem::Frame(Bytes::from_static(b"MSH|two\r")),
                ],
                "chunk {chunk}"
            );
            assert_eq!(discarded, 2, "chunk {chunk}");
        }
    }

    #[test]
    fn garbage_before_frames_is_counted_and_dropped() {
        let mut input = b"GET / HTTP/1.1\r\n".to_vec();
        input.extend(frame(b"MSH|a"));
        input.extend([0, 1, 2]);
        input.extend(frame(b"MSH|b"));
        let (items, discarded) = run(&mut MllpCodec::new(1024), &input, 5);
        assert_eq!(items.len(), 2);
        assert_eq!(discarded, 16 + 3);
    }

    #[test]
    fn missing_cr_and_empty_frames_are_tolerated() {
        let mut input = vec![SB, EB, CR, SB];
        input.extend(b"MSH|x");
        input.push(EB);
        input.extend(frame(b"MSH|y"));
        let (items, discarded) = run(&mut MllpCodec::new(1024), &input, 1);
        assert_eq!(items.len(), 2);
        assert_eq!(discarded, 0);
    }

    #[test]
    fn truncated_frames_are_reported() {
        let mut input = vec![SB];
        input.extend(b"MSH|cut");
        input.extend(frame(b"MSH|whole"));
        input.extend([SB]);
        input.extend(b"MSH|eof");
        let (items, _) = run(&mut MllpCodec::new(1024), &input, 4);
        assert_eq!(
            items,
            vec![
                MllpItem::Truncated(Bytes::from_static(b"MSH|cut")),
                MllpItem::Frame(Bytes::from_static(b"MSH|whole")),
                MllpItem::Truncated(Bytes::from_static(b"MSH|eof")),
            ]
        );
    }

    #[test]
    fn oversized_frames_are_skipped_without_buffering() {
        let big = vec![b'x'; OVERSIZE_HEAD * 3];
        let mut input = frame(&big);
        input.extend(frame(b"MSH|next"));
        for chunk in [1000, 4096, 1 << 20] {
            let mut codec = MllpCodec::new(OVERSIZE_HEAD * 2);
            let (items, _) = run(&mut codec, &input, chunk);
            match &items[0] {
                MllpItem::TooLarge { head, size } => {
                    assert_eq!(*size, big.len(), "chunk {chunk}");
                    assert_eq!(head.len(), OVERSIZE_HEAD);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(items[1], MllpItem::Frame(Bytes::from_static(b"MSH|next")));
        }
        let (items, _) = run(&mut MllpCodec::new(4), &frame(b"MSH|12345"), 64);
        assert!(matches!(&items[..], [MllpItem::TooLarge { size: 9, .. }]));
    }

    /// Found by `scripts/fuzz mllp_frames` (minimised): a frame cut short by a start block that
    /// arrives in the same read as the bytes taking it past the maximum was returned as a
    /// 78-byte `Truncated` item with a 77-byte maximum. It is too large, whatever the reads.
    #[test]
    fn a_truncated_frame_over_the_maximum_is_too_large() {
        let parts: [&[u8]; 5] = [
            b"\x8f\x8f\x8f\x8f\x8f\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x8f\x8f\x8f\x0b\x8f\x8f\x8f\x8f\x8f",
            b"\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\xa2\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f",
            b"\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\xf2\xce\x8f\x8f\x8f\x8f\x8f\x8f\xf5\x8f\x8f\x8f\x8f\x8f",
            b"\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\xf2\xce\x8f\x8f",
            b"\x8f\x0b\x8f\x8f\x8f\x8f\x8f\x0d",
        ];
        let input = parts.concat();
        assert_eq!(input.len(), 104);
        assert_eq!((input[18], input[97]), (SB, SB)); // the frame between has 78 bytes
        for chunk in [1, 7, 78, 181] {
            let (items, discarded) = run(&mut MllpCodec::new(77), &input, chunk);
            assert_eq!(items.len(), 2, "chunk {chunk}");
            assert!(
                matches!(&items[0], MllpItem::TooLarge { head, size: 78 } if head.len() == 78),
                "chunk {chunk}: {:?}",
                items[0]
            );
            assert_eq!(
                items[1],
                MllpItem::Truncated(Bytes::copy_from_slice(&input[98..])),
                "chunk {chunk}"
            );
            assert_eq!(discarded, 18, "chunk {chunk}");
        }
    }

    #[test]
    fn random_noise_never_panics() {
        let mut state = 0x9e37_79b9_u32;
        let mut noise = Vec::new();
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            noise.push((state >> 8) as u8 % 32);
        }
        for chunk in [1, 13, 1000] {
            let _ = run(&mut MllpCodec::new(200), &noise, chunk);
        }
    }
}

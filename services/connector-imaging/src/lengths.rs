//! Declared element lengths checked against the file's size before dicom-object reads a file.
//!
//! dicom-object (0.10) allocates and zeroes a value's *declared* length before reading it, in
//! the file meta group as in the data set: a 500-byte file declaring a 4 GB element would cost
//! 4 GB of memory (found by fuzzing, `scripts/fuzz dicom_metadata`). No element of a real file is
//! longer than the file, so [`check`] walks the element headers (the meta group with
//! dicom-object's own header decoder, the data set with dicom-parser's token reader, which yields
//! each header before reading its value) up to the top level's pixel data (inside a sequence it
//! is an ordinary element to dicom-object) and refuses a file that declares more bytes than it
//! has.
//!
//! Files it cannot walk (no `DICM`, an unknown transfer syntax, a syntax error) pass: the full
//! read then reports them with its own error. A deflated data set is checked up to its meta group
//! only, since its values are legitimately longer than the compressed file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::decode::{Decode, file_header_decoder};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_parser::DataSetReader;
use dicom_parser::dataset::DataToken;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// An element declaring more bytes than the whole file: tag and declared length (no values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    /// `(gggg,eeee)`.
    pub tag: String,
    /// The declared length.
    pub declared: u64,
    /// The file's size.
    pub file_size: u64,
}

/// Checks the declared lengths of the file at `path` (see the module documentation).
///
/// # Errors
/// The first element longer than the file. I/O errors pass (the full read reports them).
pub fn check(path: &Path) -> Result<(), TooLong> {
    let Ok(mut file) = File::open(path) else {
        return Ok(());
    };
    let Ok(size) = file.metadata().map(|m| m.len()) else {
        return Ok(());
    };
    let mut head = [0_u8; 132];
    let start = match file.read_exact(&mut head) {
        Ok(()) if &head[128..132] == b"DICM" => 132,
        _ if head.starts_with(b"DICM") => 4,
        _ => return Ok(()),
    };
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Ok(());
    }
    let mut src = BufReader::new(file);
    let Some(ts_uid) = meta_group(&mut src, size)? else {
        return Ok(());
    };
    let Some(ts) = TransferSyntaxRegistry.get(&ts_uid) else {
        return Ok(());
    };
    if matches!(ts.codec(), Codec::Dataset(Some(_))) {
        return Ok(());
    }
    let Ok(reader) = DataSetReader::new_with_ts(src, ts) else {
        return Ok(());
    };
    // Sequences open: dicom-object stops at the top level's pixel data only.
    let mut depth = 0_usize;
    for token in reader {
        let Ok(token) = token else {
            return Ok(());
        };
        match token {
            DataToken::ElementHeader(h) if depth == 0 && h.tag == tags::PIXEL_DATA => break,
            DataToken::PixelSequenceStart if depth == 0 => break,
            DataToken::ElementHeader(h) => {
                if let Some(len) = h.len.get() {
                    too_long(h.tag.group(), h.tag.element(), u64::from(len), size)?;
                }
            }
            DataToken::SequenceStart { .. } | DataToken::PixelSequenceStart => depth += 1,
            DataToken::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn too_long(group: u16, element: u16, declared: u64, file_size: u64) -> Result<(), TooLong> {
    if declared > file_size {
        return Err(TooLong {
            tag: format!("({group:04X},{element:04X})"),
            declared,
            file_size,
        });
    }
    Ok(())
}

/// Walks the file meta group as dicom-object reads it (its header decoder, up to the group
/// length) and returns the transfer syntax UID, `None` when it cannot be walked.
fn meta_group(src: &mut impl Read, size: u64) -> Result<Option<String>, TooLong> {
    let decoder = file_header_decoder();
    let Ok((first, _)) = decoder.decode_header(src) else {
        return Ok(None);
    };
    let mut group_length = [0_u8; 4];
    if first.tag != Tag(0x0002, 0x0000) || src.read_exact(&mut group_length).is_err() {
        return Ok(None);
    }
    let group_length = u64::from(u32::from_le_bytes(group_length));
    let mut ts_uid = None;
    let mut read = 0_u64;
    while read < group_length {
        let Ok((header, header_len)) = decoder.decode_header(src) else {
            return Ok(None);
        };
        let Some(len) = header.len.get().map(u64::from) else {
            return Ok(None);
        };
        too_long(header.tag.group(), header.tag.element(), len, size)?;
        let mut value = Vec::new();
        if src.by_ref().take(len).read_to_end(&mut value).is_err() {
            return Ok(None);
        }
        if header.tag == Tag(0x0002, 0x0010) {
            let text = String::from_utf8_lossy(&value);
            ts_uid = Some(text.trim_end_matches(['\0', ' ']).to_owned());
        }
        read += header_len as u64 + len;
    }
    Ok(ts_uid)
}

//! Where a file part's bytes lie in an `upload.file` answer, so that a driver can
//! move them straight to their place in a download (one copy, no buffer per part)
//! and pass on the rest of the answer without them.
//!
//! Schema (layer 223): `upload.file#96a18d5 type:storage.FileType mtime:int
//! bytes:bytes = upload.File`, every `storage.FileType` a constructor without fields;
//! `bytes` as TL serializes it (core.telegram.org/mtproto/serialize#base-types): a
//! length byte below 254, or 254 and a 3-byte length, then the bytes, then zeros to
//! a multiple of 4.

use std::ops::Range;

use super::wire::Reader;

const UPLOAD_FILE: u32 = 0x096a_18d5;

/// The constructors of `storage.FileType` (none has fields).
const FILE_TYPES: [u32; 10] = [
    0xaa96_3b05, // storage.fileUnknown
    0x40bc_6f52, // storage.filePartial
    0x007e_fe0e, // storage.fileJpeg
    0xcae1_aadf, // storage.fileGif
    0x0a4f_63c0, // storage.filePng
    0xae1e_508d, // storage.filePdf
    0x528a_0677, // storage.fileMp3
    0x4b09_ebbc, // storage.fileMov
    0xb3ce_a0e4, // storage.fileMp4
    0x1081_464c, // storage.fileWebp
];

/// Constructor, type and mtime: what comes before `bytes`.
pub const HEAD_LEN: usize = 12;

/// `bytes` of length 0: the length byte and three bytes of padding.
pub const EMPTY_BYTES: [u8; 4] = [0; 4];

/// The range of the file bytes in `body` when it is one well-formed `upload.file`
/// (nothing after it but its padding, the padding zeros); None for anything else,
/// which then goes the usual way.
pub fn upload_file_bytes(body: &[u8]) -> Option<Range<usize>> {
    let mut r = Reader::new(body);
    if r.u32("constructor").ok()? != UPLOAD_FILE || !FILE_TYPES.contains(&r.u32("type").ok()?) {
        return None;
    }
    r.u32("mtime").ok()?;
    let long_form = body.get(HEAD_LEN) == Some(&254);
    let bytes = r.bytes("bytes").ok()?;
    let start = HEAD_LEN + if long_form { 4 } else { 1 };
    let end = start + bytes.len();
    if r.pos() != body.len() || body[end..].iter().any(|&b| b != 0) {
        return None;
    }
    // A long length for a short string is not how TL writes it (and not what the JS
    // decoder would accept either): left to the usual path, which reports it.
    if long_form && bytes.len() < 254 {
        return None;
    }
    Some(start..end)
}

/// Turns `body` (an `upload.file`) into the same answer with empty `bytes`, where it
/// lies: no allocation per part.
pub fn strip_bytes(body: &mut Vec<u8>) {
    body.truncate(HEAD_LEN);
    body.extend_from_slice(&EMPTY_BYTES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::wire::{put_bytes, put_u32};

    /// An upload.file as TL writes it (storage.filePartial, mtime 7).
    fn upload_file(bytes: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        put_u32(&mut b, UPLOAD_FILE);
        put_u32(&mut b, 0x40bc_6f52);
        put_u32(&mut b, 7);
        put_bytes(&mut b, bytes);
        b
    }

    #[test]
    fn finds_the_bytes_of_every_length_class() {
        for n in [
            0usize,
            1,
            3,
            4,
            253,
            254,
            255,
            4096,
            512 * 1024,
            (1 << 20) - 1,
        ] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            let body = upload_file(&data);
            let r = upload_file_bytes(&body).unwrap_or_else(|| panic!("length {n}"));
            assert_eq!(&body[r], &data[..], "length {n}");
        }
    }

    #[test]
    fn the_rest_is_the_same_answer_with_empty_bytes() {
        let mut body = upload_file(&[9; 300]);
        strip_bytes(&mut body);
        assert_eq!(body, upload_file(&[]));
    }

    #[test]
    fn anything_else_goes_the_usual_way() {
        let good = upload_file(&[5; 1000]);
        // Another constructor (upload.cdnFile), an unknown file type, a cut body, a
        // body with more after it, non-zero padding, a long length for a short string.
        let mut cdn = good.clone();
        cdn[..4].copy_from_slice(&0xa99f_ca4fu32.to_le_bytes());
        let mut bad_type = good.clone();
        bad_type[4..8].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        let cut = good[..good.len() - 4].to_vec();
        let mut longer = good.clone();
        longer.extend_from_slice(&[0; 4]);
        let mut dirty = upload_file(&[5; 999]);
        let last = dirty.len() - 1;
        dirty[last] = 1;
        let mut long_short = upload_file(&[]);
        long_short.truncate(HEAD_LEN);
        long_short.extend_from_slice(&[254, 4, 0, 0, 1, 2, 3, 4]);
        for (what, body) in [
            ("cdnFile", cdn),
            ("type", bad_type),
            ("cut", cut),
            ("longer", longer),
            ("padding", dirty),
            ("long length", long_short),
            ("empty", Vec::new()),
            ("head only", good[..HEAD_LEN].to_vec()),
        ] {
            assert_eq!(upload_file_bytes(&body), None, "{what}");
        }
        assert!(upload_file_bytes(&good).is_some());
    }
}

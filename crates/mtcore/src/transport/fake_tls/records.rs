//! The data phase: obfuscated2 bytes carried in TLS application-data records.
//!
//! RFC 8446 section 5.1: a record's plaintext is at most 2^14 bytes; on the
//! wire a TLS 1.3 record says version 0x0303 (5.1, legacy_record_version).
//! We send at most 2^14 bytes per record and accept up to 2^14 + 2048 (the
//! TLS 1.2 ciphertext limit, RFC 5246 6.2.3), as an encrypted record may be
//! longer than its plaintext. A ChangeCipherSpec record is tolerated before
//! the first application-data record (middlebox compatibility, RFC 8446
//! appendix D.4); anything else (alerts, handshake records) ends the stream.

use std::ops::Range;

use super::{APPLICATION_DATA, CCS_RECORD, CHANGE_CIPHER_SPEC, RECORD_HEADER};
use crate::transport::TransportError;

/// The most payload bytes we put in one record.
pub const MAX_OUT_RECORD: usize = 1 << 14;
/// The most payload bytes we accept in one record.
pub const MAX_IN_RECORD: usize = (1 << 14) + 2048;

/// How many records carry `len` bytes (at least one, even for none).
pub fn records_for(len: usize) -> usize {
    len.div_ceil(MAX_OUT_RECORD).max(1)
}

/// Bytes that wrapping `len` bytes adds after them (the headers of every
/// record but the first, which goes in front).
pub fn extra_after(len: usize) -> usize {
    (records_for(len) - 1) * RECORD_HEADER
}

/// Bytes that wrapping adds in front: the first record's header, and the
/// ChangeCipherSpec record when `ccs`.
pub fn extra_before(ccs: bool) -> usize {
    RECORD_HEADER + if ccs { CCS_RECORD.len() } else { 0 }
}

fn header(len: usize) -> [u8; RECORD_HEADER] {
    let l = (len as u16).to_be_bytes();
    [APPLICATION_DATA, 3, 3, l[0], l[1]]
}

/// Wraps `buf[data]` into application-data records where it lies, preceded
/// by a ChangeCipherSpec record when `ccs`. Needs `extra_before(ccs)` bytes
/// before `data` and `extra_after(data.len())` after it; returns the range
/// of the records.
pub fn wrap_in_place(
    buf: &mut [u8],
    data: Range<usize>,
    ccs: bool,
) -> Result<Range<usize>, TransportError> {
    let before = extra_before(ccs);
    let after = extra_after(data.len());
    if data.start < before || buf.len() < data.end || buf.len() - data.end < after {
        return Err(TransportError::BufferTooSmall {
            needed_before: before,
            needed_after: after,
        });
    }
    let n = records_for(data.len());
    // Move every chunk but the first right by the headers in front of it,
    // last chunk first so nothing is overwritten before it moved.
    for i in (1..n).rev() {
        let from = data.start + i * MAX_OUT_RECORD;
        let to = from + i * RECORD_HEADER;
        let len = (data.end - from).min(MAX_OUT_RECORD);
        buf.copy_within(from..from + len, to);
        buf[to - RECORD_HEADER..to].copy_from_slice(&header(len));
    }
    let first = data.len().min(MAX_OUT_RECORD);
    buf[data.start - RECORD_HEADER..data.start].copy_from_slice(&header(first));
    let start = data.start - before;
    if ccs {
        buf[start..start + CCS_RECORD.len()].copy_from_slice(&CCS_RECORD);
    }
    Ok(start..data.end + after)
}

/// Wraps `data` into a new Vec of records (convenience and tests).
pub fn wrap(data: &[u8], ccs: bool) -> Vec<u8> {
    let before = extra_before(ccs);
    let mut buf = vec![0; before + data.len() + extra_after(data.len())];
    buf[before..before + data.len()].copy_from_slice(data);
    let range = wrap_in_place(&mut buf, before..before + data.len(), ccs).expect("room reserved");
    debug_assert_eq!(range, 0..buf.len());
    buf
}

/// Streaming unwrapper of records: hands out payload bytes as they arrive.
#[derive(Debug, Default)]
pub struct RecordReader {
    header: [u8; RECORD_HEADER],
    have: usize,
    /// Payload bytes of the current record still to come.
    remaining: usize,
    /// The current record is a ChangeCipherSpec: its byte is dropped.
    discard: bool,
    seen_data: bool,
}

impl RecordReader {
    /// Takes wire bytes and passes each piece of payload to `sink`, in order.
    /// A bad record fails the stream (the caller keeps the error).
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), TransportError> {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(chunk.len());
                if !self.discard {
                    sink(&chunk[..n]);
                }
                self.remaining -= n;
                chunk = &chunk[n..];
                continue;
            }
            let n = (RECORD_HEADER - self.have).min(chunk.len());
            self.header[self.have..self.have + n].copy_from_slice(&chunk[..n]);
            self.have += n;
            chunk = &chunk[n..];
            if self.have == RECORD_HEADER {
                self.have = 0;
                self.start_record()?;
            }
        }
        Ok(())
    }

    fn start_record(&mut self) -> Result<(), TransportError> {
        let [kind, major, minor, hi, lo] = self.header;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let bad = TransportError::BadTlsRecord { content_type: kind };
        if (major, minor) != (3, 3) {
            return Err(bad);
        }
        match kind {
            APPLICATION_DATA => {
                if len > MAX_IN_RECORD {
                    return Err(TransportError::TlsRecordTooLong {
                        len,
                        max: MAX_IN_RECORD,
                    });
                }
                self.seen_data = true;
                self.discard = false;
            }
            CHANGE_CIPHER_SPEC if !self.seen_data && len == 1 => self.discard = true,
            _ => return Err(bad),
        }
        self.remaining = len;
        Ok(())
    }
}

//! The full transport: total length, sequence number, payload, CRC32.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#full
//! The length counts all four parts (so it is at least 12); each direction
//! numbers its frames from 0; the CRC32 covers length, seqno and payload.
//! It has no preamble, no quick-ack and no obfuscated2 protocol tag.

use std::ops::Range;

use super::{check_room, Head, TransportError};

/// Length and seqno.
pub const HEADER: usize = 8;
/// The CRC32.
pub const TRAILER: usize = 4;
/// Header and trailer together: the smallest valid length field.
pub const OVERHEAD: usize = HEADER + TRAILER;

/// Sequence numbers of both directions of one connection.
#[derive(Debug, Clone, Default)]
pub struct Full {
    send_seq: u32,
    recv_seq: u32,
}

impl Full {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes header and CRC around `payload` inside `buf`; returns the frame's range.
    pub fn write(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
        max: usize,
    ) -> Result<Range<usize>, TransportError> {
        let len = payload.len();
        if len == 0 {
            return Err(TransportError::BadLength { len });
        }
        let max = max.min(u32::MAX as usize - OVERHEAD);
        if len > max {
            return Err(TransportError::FrameTooLong { len, max });
        }
        check_room(buf.len(), &payload, HEADER, TRAILER)?;
        let start = payload.start - HEADER;
        buf[start..start + 4].copy_from_slice(&((len + OVERHEAD) as u32).to_le_bytes());
        buf[start + 4..start + 8].copy_from_slice(&self.send_seq.to_le_bytes());
        let crc = crc32fast::hash(&buf[start..payload.end]);
        buf[payload.end..payload.end + TRAILER].copy_from_slice(&crc.to_le_bytes());
        self.send_seq = self.send_seq.wrapping_add(1);
        Ok(start..payload.end + TRAILER)
    }

    /// Reads the header at the start of `bytes`; `None` means more bytes are needed.
    pub fn head(bytes: &[u8], max: usize) -> Result<Option<Head>, TransportError> {
        let Some(word) = bytes.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes(word.try_into().expect("4 bytes")) as usize;
        if len <= OVERHEAD {
            return Err(TransportError::BadLength { len });
        }
        if len - OVERHEAD > max {
            return Err(TransportError::FrameTooLong {
                len: len - OVERHEAD,
                max,
            });
        }
        Ok(Some(Head::Frame {
            header: HEADER,
            body: len - OVERHEAD,
            trailer: TRAILER,
            quick_ack: false,
        }))
    }

    /// Checks a whole frame's CRC, then its seqno, and counts it.
    pub fn finish(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        let (data, crc) = frame.split_at(frame.len() - TRAILER);
        let got = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
        let expected = crc32fast::hash(data);
        if got != expected {
            return Err(TransportError::BadCrc { expected, got });
        }
        let seq = u32::from_le_bytes(data[4..8].try_into().expect("4 bytes"));
        if seq != self.recv_seq {
            return Err(TransportError::BadSeq {
                expected: self.recv_seq,
                got: seq,
            });
        }
        self.recv_seq = self.recv_seq.wrapping_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(full: &mut Full, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; HEADER + payload.len() + TRAILER];
        buf[HEADER..HEADER + payload.len()].copy_from_slice(payload);
        let r = full
            .write(&mut buf, HEADER..HEADER + payload.len(), 1 << 20)
            .unwrap();
        assert_eq!(r, 0..buf.len());
        buf
    }

    // Layout per the spec; the CRC is the standard CRC-32 (IEEE), whose check
    // value over "123456789" is 0xcbf43926.
    #[test]
    fn layout_and_crc() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        let mut full = Full::new();
        let f = frame(&mut full, &[0xaa; 4]);
        assert_eq!(&f[..8], &[16, 0, 0, 0, 0, 0, 0, 0]);
        let crc = crc32fast::hash(&f[..12]);
        assert_eq!(&f[12..], &crc.to_le_bytes());
        let f = frame(&mut full, &[0xaa; 4]);
        assert_eq!(&f[4..8], &[1, 0, 0, 0]);
    }

    #[test]
    fn checks_crc_then_seq() {
        let mut tx = Full::new();
        let mut rx = Full::new();
        let f0 = frame(&mut tx, b"abcdefgh");
        let f1 = frame(&mut tx, b"ijklmnop");
        assert_eq!(
            Full::head(&f0, 100).unwrap(),
            Some(Head::Frame {
                header: 8,
                body: 8,
                trailer: 4,
                quick_ack: false
            })
        );
        let mut bad = f0.clone();
        bad[9] ^= 1;
        assert!(matches!(
            rx.finish(&bad),
            Err(TransportError::BadCrc { .. })
        ));
        assert_eq!(
            rx.finish(&f1),
            Err(TransportError::BadSeq {
                expected: 0,
                got: 1
            })
        );
        rx.finish(&f0).unwrap();
        rx.finish(&f1).unwrap();
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(
            Full::head(&[12, 0, 0, 0], 100),
            Err(TransportError::BadLength { len: 12 })
        );
        assert_eq!(
            Full::head(&[113, 0, 0, 0], 100),
            Err(TransportError::FrameTooLong { len: 101, max: 100 })
        );
        assert_eq!(Full::head(&[113, 0, 0], 100), Ok(None));
    }
}

//! The abridged transport: a length in 4-byte words, one byte when it is
//! below 0x7f, else 0x7f and three little-endian bytes.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#abridged
//! Quick-ack (same page, #quick-ack): a client sets the length byte's high bit
//! (0x80 | words, or 0xff before the 3-byte length) to ask for one; the server
//! answers with the 4-byte token byte-swapped, so that its first byte on the
//! wire has the high bit set and can never be mistaken for a length byte.

use std::ops::Range;

use super::{check_room, Head, Role, TransportError};

/// The longest header: 0x7f and three length bytes.
pub const MAX_HEADER: usize = 4;
/// Preamble sent once by an unobfuscated client.
pub const PREAMBLE: [u8; 1] = [0xef];
/// Largest payload the 3-byte word count can describe.
pub const MAX_LEN: usize = 0xff_ffff * 4;

const QUICK_ACK_BIT: u8 = 0x80;

fn header_len(words: usize) -> usize {
    if words < 0x7f {
        1
    } else {
        4
    }
}

/// Writes the header in front of `payload` inside `buf`; returns the frame's range.
pub fn write(
    buf: &mut [u8],
    payload: Range<usize>,
    quick_ack: bool,
    max: usize,
) -> Result<Range<usize>, TransportError> {
    let len = payload.len();
    if len == 0 {
        return Err(TransportError::BadLength { len });
    }
    if !len.is_multiple_of(4) {
        return Err(TransportError::Unaligned { len });
    }
    if len > max.min(MAX_LEN) {
        return Err(TransportError::FrameTooLong {
            len,
            max: max.min(MAX_LEN),
        });
    }
    let words = len / 4;
    let hlen = header_len(words);
    check_room(buf.len(), &payload, hlen, 0)?;
    let start = payload.start - hlen;
    let flag = if quick_ack { QUICK_ACK_BIT } else { 0 };
    if hlen == 1 {
        buf[start] = words as u8 | flag;
    } else {
        buf[start] = 0x7f | flag;
        buf[start + 1..start + 4].copy_from_slice(&(words as u32).to_le_bytes()[..3]);
    }
    Ok(start..payload.end)
}

/// The 4 bytes a server sends to confirm a quick-ack request: the token
/// (high bit set) in big-endian order, as the spec's "bswap" asks.
pub fn quick_ack_answer(token: u32) -> [u8; 4] {
    (token | 0x8000_0000).to_be_bytes()
}

/// Reads the header at the start of `bytes` (the unread stream). `role` is
/// the side that decodes: a client sees quick-ack answers, a server sees
/// quick-ack requests. `None` means more bytes are needed.
pub fn head(bytes: &[u8], role: Role, max: usize) -> Result<Option<Head>, TransportError> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    let has_flag = first & QUICK_ACK_BIT != 0;
    if has_flag && role == Role::Client {
        let Some(token) = bytes.get(..4) else {
            return Ok(None);
        };
        let token = u32::from_be_bytes(token.try_into().expect("4 bytes"));
        return Ok(Some(Head::QuickAck { token }));
    }
    let byte = first & !QUICK_ACK_BIT;
    let (header, words) = if byte < 0x7f {
        (1, byte as usize)
    } else {
        let Some(b) = bytes.get(1..4) else {
            return Ok(None);
        };
        (4, u32::from_le_bytes([b[0], b[1], b[2], 0]) as usize)
    };
    let len = words * 4;
    if len == 0 {
        return Err(TransportError::BadLength { len });
    }
    if len > max {
        return Err(TransportError::FrameTooLong { len, max });
    }
    Ok(Some(Head::Frame {
        header,
        body: len,
        trailer: 0,
        quick_ack: has_flag,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8], quick_ack: bool) -> Vec<u8> {
        let mut buf = vec![0; MAX_HEADER + payload.len()];
        buf[MAX_HEADER..].copy_from_slice(payload);
        let end = buf.len();
        let r = write(&mut buf, MAX_HEADER..end, quick_ack, usize::MAX).unwrap();
        buf[r].to_vec()
    }

    // Byte layouts from the spec's envelope description.
    #[test]
    fn short_and_long_headers() {
        assert_eq!(frame(&[1, 2, 3, 4], false), [0x01, 1, 2, 3, 4]);
        assert_eq!(frame(&[0; 8], true)[0], 0x82);
        let f = frame(&[7; 0x7e * 4], false);
        assert_eq!(f[0], 0x7e);
        assert_eq!(f.len(), 1 + 0x7e * 4);
        let f = frame(&[7; 0x7f * 4], false);
        assert_eq!(&f[..4], &[0x7f, 0x7f, 0, 0]);
        let f = frame(&[7; 0x1234 * 4], true);
        assert_eq!(&f[..4], &[0xff, 0x34, 0x12, 0]);
    }

    #[test]
    fn rejects_unaligned_empty_and_long() {
        let mut buf = [0u8; 16];
        assert_eq!(
            write(&mut buf, 4..7, false, 100),
            Err(TransportError::Unaligned { len: 3 })
        );
        assert_eq!(
            write(&mut buf, 4..4, false, 100),
            Err(TransportError::BadLength { len: 0 })
        );
        assert_eq!(
            write(&mut buf, 4..12, false, 4),
            Err(TransportError::FrameTooLong { len: 8, max: 4 })
        );
        assert!(matches!(
            write(&mut buf, 0..8, false, 100),
            Err(TransportError::BufferTooSmall { .. })
        ));
    }

    #[test]
    fn heads() {
        let h = head(&[0x02, 0, 0], Role::Client, 100).unwrap();
        assert_eq!(
            h,
            Some(Head::Frame {
                header: 1,
                body: 8,
                trailer: 0,
                quick_ack: false
            })
        );
        assert_eq!(head(&[0x7f, 1, 0], Role::Client, 1000).unwrap(), None);
        let h = head(&[0xff, 1, 1, 0], Role::Server, 10_000).unwrap();
        assert_eq!(
            h,
            Some(Head::Frame {
                header: 4,
                body: 0x101 * 4,
                trailer: 0,
                quick_ack: true
            })
        );
        let h = head(&quick_ack_answer(0x8123_4567), Role::Client, 100).unwrap();
        assert_eq!(h, Some(Head::QuickAck { token: 0x8123_4567 }));
        assert_eq!(
            head(&[0x00], Role::Client, 100),
            Err(TransportError::BadLength { len: 0 })
        );
        assert_eq!(
            head(&[0x7f, 0xff, 0xff, 0xff], Role::Server, 100),
            Err(TransportError::FrameTooLong {
                len: MAX_LEN,
                max: 100
            })
        );
    }
}

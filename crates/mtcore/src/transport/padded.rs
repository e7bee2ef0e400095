//! The padded intermediate transport: like intermediate, but 0..15 random
//! bytes follow the payload and the length word counts them too.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#padded-intermediate
//! The receiver cannot tell payload from padding: MTProto payloads are whole
//! 4-byte words, so the decoder drops `length % 4` trailing bytes (as tdlib
//! does) and hands up the rest. Up to 12 padding bytes may therefore still
//! trail a packet; the message layer reads its own lengths (an encrypted
//! message's ciphertext is the largest multiple of 16 after its 24-byte header,
//! a plain message has message_data_length).

use std::ops::Range;

use super::intermediate::{check_len, read_length, write_length, HEADER};
use super::{check_room, Head, RandomSource, Role, TransportError};

/// Largest padding the sender adds.
pub const MAX_PADDING: usize = 15;
/// Preamble sent once by an unobfuscated client.
pub const PREAMBLE: [u8; 4] = [0xdd; 4];

pub use super::intermediate::quick_ack_answer;

/// Writes the header in front of `payload` and 0..15 random bytes after it;
/// returns the frame's range.
pub fn write<R: RandomSource + ?Sized>(
    buf: &mut [u8],
    payload: Range<usize>,
    quick_ack: bool,
    max: usize,
    rng: &mut R,
) -> Result<Range<usize>, TransportError> {
    check_len(payload.len(), max)?;
    let mut pad = [0u8; 1];
    rng.fill_random(&mut pad);
    let pad = (pad[0] & 0x0f) as usize;
    check_len(payload.len() + pad, usize::MAX)?;
    check_room(buf.len(), &payload, HEADER, pad)?;
    let end = payload.end + pad;
    rng.fill_random(&mut buf[payload.end..end]);
    let start = write_length(buf, &payload, payload.len() + pad, quick_ack);
    Ok(start..end)
}

/// Reads the header at the start of `bytes`; `None` means more bytes are needed.
pub fn head(bytes: &[u8], role: Role, max: usize) -> Result<Option<Head>, TransportError> {
    let (quick_ack, len) = match read_length(bytes, role) {
        None => return Ok(None),
        Some(Err(token)) => return Ok(Some(Head::QuickAck { token })),
        Some(Ok(v)) => v,
    };
    if len < 4 {
        return Err(TransportError::BadLength { len });
    }
    let max_field = max.saturating_add(MAX_PADDING);
    if len > max_field {
        return Err(TransportError::FrameTooLong {
            len,
            max: max_field,
        });
    }
    Ok(Some(Head::Frame {
        header: HEADER,
        body: len - len % 4,
        trailer: len % 4,
        quick_ack,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_with_fixed_randomness() {
        let mut buf = vec![0u8; 4 + 8 + MAX_PADDING];
        buf[4..12].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        // The first random byte chooses 0x5a & 15 = 10 padding bytes.
        let mut rng = |b: &mut [u8]| b.fill(0x5a);
        let r = write(&mut buf, 4..12, false, usize::MAX, &mut rng).unwrap();
        assert_eq!(r, 0..22);
        assert_eq!(&buf[..4], &[18, 0, 0, 0]);
        assert_eq!(&buf[12..22], &[0x5a; 10]);
        assert_eq!(
            head(&buf, Role::Server, 100).unwrap(),
            Some(Head::Frame {
                header: 4,
                body: 16,
                trailer: 2,
                quick_ack: false
            })
        );
    }

    #[test]
    fn heads() {
        assert_eq!(
            head(&[3, 0, 0, 0], Role::Client, 100),
            Err(TransportError::BadLength { len: 3 })
        );
        assert_eq!(
            head(&[116, 0, 0, 0], Role::Client, 100),
            Err(TransportError::FrameTooLong { len: 116, max: 115 })
        );
        assert_eq!(
            head(&quick_ack_answer(7), Role::Client, 100).unwrap(),
            Some(Head::QuickAck { token: 0x8000_0007 })
        );
    }
}

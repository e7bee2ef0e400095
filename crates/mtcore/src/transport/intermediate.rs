//! The intermediate transport: a 4-byte little-endian length, then the payload.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#intermediate
//! Quick-ack (#quick-ack): the length's high bit asks for one; the server's
//! answer takes the place of a length word (high bit set, no payload).

use std::ops::Range;

use super::{check_room, Head, Role, TransportError};

/// The header is always the 4-byte length.
pub const HEADER: usize = 4;
/// Preamble sent once by an unobfuscated client.
pub const PREAMBLE: [u8; 4] = [0xee; 4];
/// Largest length the 31 bits left beside the quick-ack flag can describe.
pub const MAX_LEN: usize = 0x7fff_ffff;

const QUICK_ACK_BIT: u32 = 0x8000_0000;

/// Writes the length word for a frame whose length field is `field_len`
/// just before `payload`; shared with the padded variant.
pub(crate) fn write_length(
    buf: &mut [u8],
    payload: &Range<usize>,
    field_len: usize,
    quick_ack: bool,
) -> usize {
    let start = payload.start - HEADER;
    let flag = if quick_ack { QUICK_ACK_BIT } else { 0 };
    buf[start..payload.start].copy_from_slice(&(field_len as u32 | flag).to_le_bytes());
    start
}

/// Rejects a payload length no peer would accept (empty or over the limit).
pub(crate) fn check_len(len: usize, max: usize) -> Result<(), TransportError> {
    if len == 0 {
        return Err(TransportError::BadLength { len });
    }
    let max = max.min(MAX_LEN);
    if len > max {
        return Err(TransportError::FrameTooLong { len, max });
    }
    Ok(())
}

/// Writes the header in front of `payload` inside `buf`; returns the frame's range.
pub fn write(
    buf: &mut [u8],
    payload: Range<usize>,
    quick_ack: bool,
    max: usize,
) -> Result<Range<usize>, TransportError> {
    check_len(payload.len(), max)?;
    check_room(buf.len(), &payload, HEADER, 0)?;
    let start = write_length(buf, &payload, payload.len(), quick_ack);
    Ok(start..payload.end)
}

/// The 4 bytes a server sends to confirm a quick-ack request: the token,
/// high bit set, in place of a length word.
pub fn quick_ack_answer(token: u32) -> [u8; 4] {
    (token | QUICK_ACK_BIT).to_le_bytes()
}

/// Reads the length word at the start of `bytes`: (quick-ack flag, length),
/// or a quick-ack answer when a client decodes.
pub(crate) fn read_length(bytes: &[u8], role: Role) -> Option<Result<(bool, usize), u32>> {
    let word = u32::from_le_bytes(bytes.get(..HEADER)?.try_into().expect("4 bytes"));
    let flag = word & QUICK_ACK_BIT != 0;
    if flag && role == Role::Client {
        return Some(Err(word));
    }
    Some(Ok((flag, (word & !QUICK_ACK_BIT) as usize)))
}

/// Reads the header at the start of `bytes`; `None` means more bytes are needed.
pub fn head(bytes: &[u8], role: Role, max: usize) -> Result<Option<Head>, TransportError> {
    let (quick_ack, len) = match read_length(bytes, role) {
        None => return Ok(None),
        Some(Err(token)) => return Ok(Some(Head::QuickAck { token })),
        Some(Ok(v)) => v,
    };
    if len == 0 {
        return Err(TransportError::BadLength { len });
    }
    if len > max {
        return Err(TransportError::FrameTooLong { len, max });
    }
    Ok(Some(Head::Frame {
        header: HEADER,
        body: len,
        trailer: 0,
        quick_ack,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Byte layout from the spec: length 0x28 little-endian, then the payload
    // (the first 4 bytes of mtpylon's plain frame in vectors/obfuscated2.json).
    #[test]
    fn layout() {
        let mut buf = vec![0u8; 4 + 0x28];
        let r = write(&mut buf, 4..4 + 0x28, false, usize::MAX).unwrap();
        assert_eq!(r, 0..4 + 0x28);
        assert_eq!(&buf[..4], &[0x28, 0, 0, 0]);
        write(&mut buf, 4..4 + 0x28, true, usize::MAX).unwrap();
        assert_eq!(&buf[..4], &[0x28, 0, 0, 0x80]);
    }

    #[test]
    fn heads() {
        assert_eq!(head(&[1, 0, 0], Role::Server, 10).unwrap(), None);
        assert_eq!(
            head(&[5, 0, 0, 0x80], Role::Server, 10).unwrap(),
            Some(Head::Frame {
                header: 4,
                body: 5,
                trailer: 0,
                quick_ack: true
            })
        );
        assert_eq!(
            head(&quick_ack_answer(0x1234), Role::Client, 10).unwrap(),
            Some(Head::QuickAck { token: 0x8000_1234 })
        );
        assert_eq!(
            head(&[0, 0, 0, 0], Role::Client, 10),
            Err(TransportError::BadLength { len: 0 })
        );
        assert_eq!(
            head(&[11, 0, 0, 0], Role::Client, 10),
            Err(TransportError::FrameTooLong { len: 11, max: 10 })
        );
    }
}

//! Unencrypted messages, used only while creating an authorization key.
//!
//! Spec (https://core.telegram.org/mtproto/description#unencrypted-message):
//! auth_key_id = 0 (8) ‖ message_id (8) ‖ message_data_length (4) ‖ message_data.

use crate::crypto::envelope::Sender;

/// Bytes before the body.
pub const PLAIN_HEADER_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainError {
    TooShort(usize),
    /// An encrypted message (or garbage) where a plain one was expected.
    AuthKeyIdNotZero(u64),
    LengthMismatch {
        declared: u32,
        available: usize,
    },
    /// msg_id parity does not fit the sender (client: 0 mod 4; server: 1 or 3 mod 4).
    BadMsgId(u64),
}

impl std::fmt::Display for PlainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort(n) => write!(f, "plain message of {n} bytes is shorter than its header"),
            Self::AuthKeyIdNotZero(id) => write!(f, "auth_key_id {id:016x} is not zero"),
            Self::LengthMismatch {
                declared,
                available,
            } => write!(
                f,
                "declared length {declared} does not match {available} bytes"
            ),
            Self::BadMsgId(id) => write!(f, "msg_id {id:016x} has the wrong parity"),
        }
    }
}

impl std::error::Error for PlainError {}

/// Builds a plain message after `headroom` zero bytes (room for the transport header).
pub fn wrap(msg_id: u64, body: &[u8], headroom: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(headroom + PLAIN_HEADER_LEN + body.len());
    out.resize(headroom + 8, 0);
    out.extend_from_slice(&msg_id.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Checks a plain message sent by `from` and returns its msg_id and body.
pub fn unwrap(packet: &[u8], from: Sender) -> Result<(u64, &[u8]), PlainError> {
    if packet.len() < PLAIN_HEADER_LEN {
        return Err(PlainError::TooShort(packet.len()));
    }
    let key_id = u64::from_le_bytes(packet[..8].try_into().expect("8 bytes"));
    if key_id != 0 {
        return Err(PlainError::AuthKeyIdNotZero(key_id));
    }
    let msg_id = u64::from_le_bytes(packet[8..16].try_into().expect("8 bytes"));
    let parity_ok = match from {
        Sender::Client => msg_id % 4 == 0,
        Sender::Server => msg_id % 4 != 0 && msg_id % 2 == 1,
    };
    if !parity_ok || msg_id == 0 {
        return Err(PlainError::BadMsgId(msg_id));
    }
    let declared = u32::from_le_bytes(packet[16..20].try_into().expect("4 bytes"));
    let body = &packet[PLAIN_HEADER_LEN..];
    if declared as usize != body.len() {
        return Err(PlainError::LengthMismatch {
            declared,
            available: body.len(),
        });
    }
    Ok((msg_id, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_then_unwrap() {
        let packet = wrap(0x5e07_2d45_0000_0004, &[1, 2, 3, 4], 4);
        assert_eq!(&packet[..12], &[0; 12]);
        // A server-sent copy (odd id) of the same body.
        let mut server = packet[4..].to_vec();
        server[8] |= 1;
        let (id, body) = unwrap(&server, Sender::Server).unwrap();
        assert_eq!(id, 0x5e07_2d45_0000_0005);
        assert_eq!(body, &[1, 2, 3, 4]);
        assert_eq!(
            unwrap(&packet[4..], Sender::Client).unwrap().1,
            &[1, 2, 3, 4]
        );
    }

    // The req_pq_multi and resPQ messages of the official sample
    // (core.telegram.org/mtproto/samples-auth_key, 2025-10 snapshot, as collected in
    // vectors/mtproto-auth-sample.json).
    const REQ_PQ_MULTI: &str =
        "0000000000000000ACA807005EDDDF6814000000F18E7EBE37D3746B7F006B2C54257AF5763139A5";
    const RES_PQ: &str = "000000000000000001D4F0A85EDDDF68500000006324160537D3746B7F006B2C54257AF5763139A51A320B7B03E28A32871E3E5EE3861063081503491A5532EFE100000015C4B51C0300000085FD64DE851D9DD0A5B7F709355FC30B216BE86C022BB4C3";

    #[test]
    fn official_sample_messages() {
        let req = hex::decode(REQ_PQ_MULTI).unwrap();
        let (id, body) = unwrap(&req, Sender::Client).unwrap();
        assert_eq!(id, 7557002095548147884);
        assert_eq!(wrap(id, body, 0), req);
        let res = hex::decode(RES_PQ).unwrap();
        let (id, body) = unwrap(&res, Sender::Server).unwrap();
        assert_eq!(id, 7557002098382001153);
        assert_eq!(body.len(), 80);
        assert_eq!(&body[..4], &[0x63, 0x24, 0x16, 0x05]);
    }

    #[test]
    fn every_check_fails_on_its_own_field() {
        let good = hex::decode(RES_PQ).unwrap();
        assert!(unwrap(&good, Sender::Server).is_ok());
        assert_eq!(
            unwrap(&good[..19], Sender::Server),
            Err(PlainError::TooShort(19))
        );
        assert!(matches!(
            unwrap(&good[..good.len() - 4], Sender::Server),
            Err(PlainError::LengthMismatch {
                declared: 80,
                available: 76
            })
        ));
        let mut bad = good.clone();
        bad[0] = 1;
        assert_eq!(
            unwrap(&bad, Sender::Server),
            Err(PlainError::AuthKeyIdNotZero(1))
        );
        // A server message with a client's parity, and the reverse.
        assert!(matches!(
            unwrap(&good, Sender::Client),
            Err(PlainError::BadMsgId(_))
        ));
        let req = hex::decode(REQ_PQ_MULTI).unwrap();
        assert!(matches!(
            unwrap(&req, Sender::Server),
            Err(PlainError::BadMsgId(_))
        ));
    }
}

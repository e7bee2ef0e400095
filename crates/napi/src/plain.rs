//! The handshake's plain (unencrypted) messages and the msg_id of a moment: the
//! message layer's helpers that need no session.
//!
//! 64-bit ids cross as bigint: outputs are unsigned; inputs may be signed
//! (int64 as the TL layer reads them) or unsigned.

use mtcore::crypto::envelope::Sender;
use mtcore::mtp::{self, plain};
use napi::bindgen_prelude::{BigInt, Buffer};
use napi_derive::napi;

use crate::convert::{big, ms, u64_of};
use crate::errors::{coded, JsError};

#[napi(object)]
pub struct MtpPlainMessage {
    pub msg_id: BigInt,
    pub body: Buffer,
}

/// An unencrypted message (auth_key_id 0 ‖ msg_id ‖ length ‖ body) after `headroom` bytes.
#[napi]
pub fn mtp_plain_wrap(msg_id: BigInt, body: Buffer, headroom: Option<u32>) -> Buffer {
    plain::wrap(u64_of(&msg_id), &body, headroom.unwrap_or(0) as usize).into()
}

/// Checks an unencrypted message (from the server unless `fromClient`) and splits it.
#[napi]
pub fn mtp_plain_unwrap(
    packet: Buffer,
    from_client: Option<bool>,
) -> Result<MtpPlainMessage, JsError> {
    let from = if from_client == Some(true) {
        Sender::Client
    } else {
        Sender::Server
    };
    let (msg_id, body) = plain::unwrap(&packet, from).map_err(|e| {
        let code = match e {
            plain::PlainError::TooShort(_) => "ERR_PLAIN_TOO_SHORT",
            plain::PlainError::AuthKeyIdNotZero(_) => "ERR_PLAIN_AUTH_KEY_ID",
            plain::PlainError::LengthMismatch { .. } => "ERR_PLAIN_LENGTH",
            plain::PlainError::BadMsgId(_) => "ERR_PLAIN_MSG_ID",
        };
        coded(code, e)
    })?;
    Ok(MtpPlainMessage {
        msg_id: big(msg_id),
        body: body.to_vec().into(),
    })
}

/// The msg_id for a moment (ms since the epoch), low two bits zero: for the handshake's
/// plain messages, which have no session.
#[napi]
pub fn mtp_msg_id_at(now: f64) -> BigInt {
    big(mtp::msg_id::msg_id_at(ms(now)))
}

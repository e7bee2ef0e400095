//! JS binding of mtcore::crypto::bind: the encrypted_message of auth.bindTempAuthKey.

use mtcore::crypto::bind::{self, BindError};
use mtcore::crypto::envelope;
use napi::bindgen_prelude::{BigInt, BufferSlice};
use napi::Env;
use napi_derive::napi;

use super::new_buffer;
use crate::convert::u64_of;
use crate::errors::{coded, JsError};
use crate::random::with_random;

fn bind_error(e: BindError) -> JsError {
    let code = match e {
        BindError::UnalignedInner { .. } => "ERR_BAD_LENGTH",
        BindError::InnerTooLong { .. } => "ERR_TOO_LONG",
    };
    coded(code, e)
}

/// auth.bindTempAuthKey's `encrypted_message`: `inner` (a serialized
/// bind_auth_key_inner) encrypted with the 256-byte permanent key `permKey` the
/// MTProto v1 way, stamped with `msgId` (the msg_id of the query that carries it).
#[napi]
pub fn bind_temp_key_message<'env>(
    env: &'env Env,
    perm_key: &[u8],
    msg_id: BigInt,
    inner: &[u8],
) -> Result<BufferSlice<'env>, JsError> {
    let key = envelope::AuthKey::from_slice(perm_key).ok_or_else(|| {
        coded(
            "ERR_BAD_KEY_LENGTH",
            format!("an auth key is 256 bytes, got {}", perm_key.len()),
        )
    })?;
    let msg_id = u64_of(&msg_id);
    let out = with_random(|random| bind::encrypt_bind_message(&key, msg_id, inner, random))?
        .map_err(bind_error)?;
    new_buffer(env, &out)
}

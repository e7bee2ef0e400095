//! JS binding of mtcore::crypto.

use crate::errors::{coded, JsError};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

/// Placeholder until the crypto module lands: echoes a 16-byte-aligned input.
#[napi]
pub fn probe_aligned(data: Buffer) -> Result<Buffer, JsError> {
    if !data.len().is_multiple_of(16) {
        return Err(coded(
            "ERR_BAD_LENGTH",
            format!("length {} is not a multiple of 16", data.len()),
        ));
    }
    Ok(Buffer::from(data.to_vec()))
}

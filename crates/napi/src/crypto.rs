//! JS binding of mtcore::crypto: AES-256-IGE, SHA-1/SHA-256 and the MTProto 2.0
//! envelope (in crypto/envelope.rs).
//!
//! Every operation has a form that returns a new Buffer and a form that works in a
//! caller's buffer: creating a Buffer costs far more than the crypto of a small
//! message, so hot paths reuse buffers.
//!
//! Buffers are taken as `Uint8ArraySlice` (a pointer, no reference held) so that a
//! mutable view is made only after every read-only argument has been copied out:
//! JS may pass views of the same memory in several arguments.
//!
//! crypto/fast.rs replaces the exports of the in-place IGE and SHA write-into calls with
//! plain Node-API callbacks over the same shared functions (see there why).

mod bind;
mod envelope;
mod fast;

use mtcore::crypto::{ige, sha};
use napi::bindgen_prelude::{BufferSlice, Uint8ArraySlice};
use napi::Env;
use napi_derive::napi;

use crate::errors::{coded, JsError};

/// A 32-byte argument (AES key or IGE iv), copied out of JS memory.
fn bytes32(arg: &[u8], code: &'static str, what: &str) -> Result<[u8; 32], JsError> {
    <[u8; 32]>::try_from(arg)
        .map_err(|_| coded(code, format!("{what} must be 32 bytes, got {}", arg.len())))
}

fn aligned(len: usize) -> Result<(), JsError> {
    if len.is_multiple_of(16) {
        Ok(())
    } else {
        Err(coded(
            "ERR_BAD_LENGTH",
            format!("data length {len} is not a multiple of 16"),
        ))
    }
}

fn key_iv(key: &[u8], iv: &[u8]) -> Result<([u8; 32], [u8; 32]), JsError> {
    Ok((
        bytes32(key, "ERR_BAD_KEY_LENGTH", "AES-256 key")?,
        bytes32(iv, "ERR_BAD_IV_LENGTH", "IGE iv")?,
    ))
}

/// A new Buffer holding a copy of `bytes`.
///
/// `napi_create_buffer_copy` rather than handing over a Rust allocation: an external
/// buffer needs a finalizer and counts as external memory, which makes V8 collect
/// more often; measured several times slower per call.
fn new_buffer<'env>(env: &'env Env, bytes: &[u8]) -> Result<BufferSlice<'env>, JsError> {
    BufferSlice::copy_from(env, bytes).map_err(|e| coded("ERR_NAPI", e))
}

/// The mutable bytes of a JS buffer, to be taken after every other argument was read.
fn bytes_mut<'a>(arg: &'a mut Uint8ArraySlice) -> &'a mut [u8] {
    // SAFETY: the slice points into a live JS typed array for the duration of the
    // call (JS is blocked on it), and the bindings copy every other buffer argument
    // out before calling this, so no other Rust reference to this memory exists.
    unsafe { arg.as_mut() }
}

/// AES-256-IGE encryption into a new Buffer. `iv` is 32 bytes (OpenSSL/Telegram
/// convention: c_{-1} ‖ p_{-1}); `data` is whole 16-byte blocks.
#[napi]
pub fn aes_ige_encrypt<'env>(
    env: &'env Env,
    data: Uint8ArraySlice,
    key: Uint8ArraySlice,
    iv: Uint8ArraySlice,
) -> Result<BufferSlice<'env>, JsError> {
    let (key, iv) = key_iv(&key, &iv)?;
    aligned(data.len())?;
    let mut out = new_buffer(env, &data)?;
    ige_in_place(&mut out, &key, &iv, true)?;
    Ok(out)
}

/// AES-256-IGE decryption into a new Buffer.
#[napi]
pub fn aes_ige_decrypt<'env>(
    env: &'env Env,
    data: Uint8ArraySlice,
    key: Uint8ArraySlice,
    iv: Uint8ArraySlice,
) -> Result<BufferSlice<'env>, JsError> {
    let (key, iv) = key_iv(&key, &iv)?;
    aligned(data.len())?;
    let mut out = new_buffer(env, &data)?;
    ige_in_place(&mut out, &key, &iv, false)?;
    Ok(out)
}

/// IGE over `data` in place, the length checked: shared by the bindings and fast paths.
fn ige_in_place(
    data: &mut [u8],
    key: &[u8; 32],
    iv: &[u8; 32],
    encrypt: bool,
) -> Result<(), JsError> {
    aligned(data.len())?;
    if encrypt {
        ige::encrypt_in_place(data, key, iv).expect("length checked");
    } else {
        ige::decrypt_in_place(data, key, iv).expect("length checked");
    }
    Ok(())
}

/// AES-256-IGE encryption of `data` in place.
#[napi]
pub fn aes_ige_encrypt_in_place(
    mut data: Uint8ArraySlice,
    key: Uint8ArraySlice,
    iv: Uint8ArraySlice,
) -> Result<(), JsError> {
    let (key, iv) = key_iv(&key, &iv)?;
    ige_in_place(bytes_mut(&mut data), &key, &iv, true)
}

/// AES-256-IGE decryption of `data` in place.
#[napi]
pub fn aes_ige_decrypt_in_place(
    mut data: Uint8ArraySlice,
    key: Uint8ArraySlice,
    iv: Uint8ArraySlice,
) -> Result<(), JsError> {
    let (key, iv) = key_iv(&key, &iv)?;
    ige_in_place(bytes_mut(&mut data), &key, &iv, false)
}

/// SHA-1 digest (20 bytes) in a new Buffer.
#[napi]
pub fn sha1<'env>(env: &'env Env, data: &[u8]) -> Result<BufferSlice<'env>, JsError> {
    new_buffer(env, &sha::sha1(&[data]))
}

/// SHA-256 digest (32 bytes) in a new Buffer.
#[napi]
pub fn sha256<'env>(env: &'env Env, data: &[u8]) -> Result<BufferSlice<'env>, JsError> {
    new_buffer(env, &sha::sha256(&[data]))
}

/// Writes `digest` into `out` at `offset` (0 when omitted).
fn write_digest(digest: &[u8], out: &mut [u8], offset: Option<u32>) -> Result<(), JsError> {
    let at = offset.unwrap_or(0) as usize;
    let len = out.len();
    let dest = out.get_mut(at..at + digest.len()).ok_or_else(|| {
        coded(
            "ERR_OUT_OF_RANGE",
            format!(
                "a {}-byte digest at offset {at} overruns {len} bytes",
                digest.len()
            ),
        )
    })?;
    dest.copy_from_slice(digest);
    Ok(())
}

/// Writes SHA-1(data) (20 bytes) into `out` at `offset`.
#[napi]
pub fn sha1_into(
    data: Uint8ArraySlice,
    mut out: Uint8ArraySlice,
    offset: Option<u32>,
) -> Result<(), JsError> {
    let digest = sha::sha1(&[&data[..]]);
    write_digest(&digest, bytes_mut(&mut out), offset)
}

/// Writes SHA-256(data) (32 bytes) into `out` at `offset`.
#[napi]
pub fn sha256_into(
    data: Uint8ArraySlice,
    mut out: Uint8ArraySlice,
    offset: Option<u32>,
) -> Result<(), JsError> {
    let digest = sha::sha256(&[&data[..]]);
    write_digest(&digest, bytes_mut(&mut out), offset)
}

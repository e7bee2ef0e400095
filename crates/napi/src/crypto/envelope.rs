//! JS binding of mtcore::crypto::envelope: MTProto 2.0 message encryption.
//!
//! `fromServer` says who encrypted the packet (x = 8 in the key derivation when the
//! server did, 0 when the client did): a client encrypts with `false` and decrypts
//! with `true`; TestDc the other way round.
//!
//! Convenience forms take the raw 256-byte key and return new Buffers. The hot path
//! takes an `AuthKey` handle (auth_key_id computed once) and works in the caller's
//! buffer: a packet is laid out as auth_key_id (8) ‖ msg_key (16) ‖ ciphertext, so
//! the plaintext is written at offset ENVELOPE_HEADER_LEN after the packet start.

use mtcore::crypto::envelope::{self, EnvelopeError, NoRoom, Sender};
use napi::bindgen_prelude::{
    BigInt, BufferSlice, ClassInstance, Uint32ArraySlice, Uint8ArraySlice,
};
use napi::Env;
use napi_derive::napi;

use super::{bytes_mut, new_buffer};
use crate::errors::{coded, JsError};
use crate::random::with_random;

/// Bytes before the ciphertext in an encrypted packet: auth_key_id and msg_key.
#[napi]
pub const ENVELOPE_HEADER_LEN: u32 = envelope::OUTER_HEADER_LEN as u32;

fn sender(from_server: bool) -> Sender {
    if from_server {
        Sender::Server
    } else {
        Sender::Client
    }
}

fn auth_key(bytes: &[u8]) -> Result<envelope::AuthKey, JsError> {
    envelope::AuthKey::from_slice(bytes).ok_or_else(|| {
        coded(
            "ERR_BAD_KEY_LENGTH",
            format!("an auth key is 256 bytes, got {}", bytes.len()),
        )
    })
}

fn envelope_error(e: EnvelopeError) -> JsError {
    let code = match e {
        EnvelopeError::BadPacketLength(_) => "ERR_BAD_PACKET_LENGTH",
        EnvelopeError::AuthKeyIdMismatch { .. } => "ERR_AUTH_KEY_ID_MISMATCH",
        EnvelopeError::MsgKeyMismatch => "ERR_MSG_KEY_MISMATCH",
        EnvelopeError::BadMessageLength { .. } => "ERR_BAD_MESSAGE_LENGTH",
        EnvelopeError::BadPadding(_) => "ERR_BAD_PADDING",
    };
    coded(code, e)
}

fn no_room(e: NoRoom) -> JsError {
    coded("ERR_NO_ROOM", e)
}

/// `buf[start..start + len]`, or a coded error when it is not inside `buf`.
fn range(buf: &mut [u8], start: u32, len: usize) -> Result<&mut [u8], JsError> {
    let total = buf.len();
    let start = start as usize;
    buf.get_mut(start..start.saturating_add(len))
        .ok_or_else(|| {
            coded(
                "ERR_OUT_OF_RANGE",
                format!("{len} bytes at offset {start} overrun a buffer of {total}"),
            )
        })
}

fn encrypt_new<'env>(
    env: &'env Env,
    key: &envelope::AuthKey,
    plaintext: &[u8],
    from_server: bool,
) -> Result<BufferSlice<'env>, JsError> {
    let packet =
        with_random(|random| envelope::encrypt(key, sender(from_server), plaintext, random))?;
    new_buffer(env, &packet)
}

fn decrypt_new<'env>(
    env: &'env Env,
    key: &envelope::AuthKey,
    packet: &[u8],
    from_server: bool,
) -> Result<BufferSlice<'env>, JsError> {
    let mut buf = packet.to_vec();
    let plain =
        envelope::decrypt_in_place(key, sender(from_server), &mut buf).map_err(envelope_error)?;
    new_buffer(env, &buf[plain])
}

/// Encrypts `plaintext` (salt ‖ session_id ‖ msg_id ‖ seq_no ‖ length ‖ body) with the
/// 256-byte `authKey`: appends 12..1024 random padding bytes up to whole blocks and
/// returns auth_key_id ‖ msg_key ‖ ciphertext.
#[napi]
pub fn encrypt_message<'env>(
    env: &'env Env,
    auth_key_bytes: &[u8],
    plaintext: &[u8],
    from_server: bool,
) -> Result<BufferSlice<'env>, JsError> {
    encrypt_new(env, &auth_key(auth_key_bytes)?, plaintext, from_server)
}

/// Decrypts and checks `packet`; returns the plaintext without padding.
#[napi]
pub fn decrypt_message<'env>(
    env: &'env Env,
    auth_key_bytes: &[u8],
    packet: &[u8],
    from_server: bool,
) -> Result<BufferSlice<'env>, JsError> {
    decrypt_new(env, &auth_key(auth_key_bytes)?, packet, from_server)
}

/// An authorization key prepared once per session: the hot path's handle.
#[napi]
pub struct AuthKey {
    inner: envelope::AuthKey,
}

#[napi]
impl AuthKey {
    /// Takes the 256-byte key (copied; the caller's buffer may be reused).
    #[napi(constructor)]
    pub fn new(key: &[u8]) -> Result<Self, JsError> {
        Ok(AuthKey {
            inner: auth_key(key)?,
        })
    }

    /// auth_key_id as TL's `long` reads it from the wire (signed little-endian).
    #[napi(getter)]
    pub fn id(&self) -> BigInt {
        BigInt::from(i64::from_le_bytes(*self.inner.id_bytes()))
    }

    /// Like `encryptMessage` with this key.
    #[napi]
    pub fn encrypt<'env>(
        &self,
        env: &'env Env,
        plaintext: &[u8],
        from_server: bool,
    ) -> Result<BufferSlice<'env>, JsError> {
        encrypt_new(env, &self.inner, plaintext, from_server)
    }

    /// Like `decryptMessage` with this key.
    #[napi]
    pub fn decrypt<'env>(
        &self,
        env: &'env Env,
        packet: &[u8],
        from_server: bool,
    ) -> Result<BufferSlice<'env>, JsError> {
        decrypt_new(env, &self.inner, packet, from_server)
    }

    /// Encrypts in `buf`: the plaintext is at `start + ENVELOPE_HEADER_LEN`, `plainLen`
    /// bytes long, and the bytes after it up to the end of `buf` are room for the
    /// padding (27 bytes always suffice; up to 48 more are used when there). Writes the
    /// packet at `start` and returns its length.
    #[napi]
    pub fn encrypt_in_place(
        &self,
        mut buf: Uint8ArraySlice,
        start: u32,
        plain_len: u32,
        from_server: bool,
    ) -> Result<u32, JsError> {
        let buf = bytes_mut(&mut buf);
        let room = buf.len().saturating_sub(start as usize);
        let packet = range(buf, start, room)?;
        let len = with_random(|random| {
            envelope::encrypt_in_slice(
                &self.inner,
                sender(from_server),
                packet,
                plain_len as usize,
                random,
            )
        })?
        .map_err(no_room)?;
        Ok(len as u32)
    }

    /// Decrypts and checks the `len`-byte packet at `start` of `buf` in place; returns
    /// the plaintext's length (padding excluded), which starts at
    /// `start + ENVELOPE_HEADER_LEN`. On an error the bytes are left scrambled.
    #[napi]
    pub fn decrypt_in_place(
        &self,
        mut buf: Uint8ArraySlice,
        start: u32,
        len: u32,
        from_server: bool,
    ) -> Result<u32, JsError> {
        let packet = range(bytes_mut(&mut buf), start, len as usize)?;
        let plain = envelope::decrypt_in_place(&self.inner, sender(from_server), packet)
            .map_err(envelope_error)?;
        Ok(plain.len() as u32)
    }
}

/// Words per message in `encryptMessages`'s `slots`.
const SLOT_WORDS: usize = 4;

/// Encrypts many messages of one buffer in one call. `slots` holds 4 words per message:
/// packet start in `buf`, plaintext length, room (bytes from the start that the packet
/// may use), and, written on return, the packet length. Each plaintext sits at its
/// start + ENVELOPE_HEADER_LEN. `keys` holds one key per message, or a single key for
/// all. Every slot is checked before any is encrypted.
#[napi]
pub fn encrypt_messages(
    keys: Vec<ClassInstance<AuthKey>>,
    mut buf: Uint8ArraySlice,
    mut slots: Uint32ArraySlice,
    from_server: bool,
) -> Result<(), JsError> {
    if !slots.len().is_multiple_of(SLOT_WORDS) {
        return Err(coded(
            "ERR_BAD_SLOTS",
            format!(
                "slots hold {SLOT_WORDS} words per message, got {}",
                slots.len()
            ),
        ));
    }
    let count = slots.len() / SLOT_WORDS;
    if keys.len() != 1 && keys.len() != count {
        return Err(coded(
            "ERR_BAD_SLOTS",
            format!("{} keys for {count} messages", keys.len()),
        ));
    }
    // Read the slots out first: `slots` and `buf` may view the same memory.
    let mut words: Vec<u32> = slots.to_vec();
    let buf = bytes_mut(&mut buf);
    let sender = sender(from_server);
    for (i, slot) in words.chunks_exact(SLOT_WORDS).enumerate() {
        let (start, plain, room) = (slot[0], slot[1] as usize, slot[2] as usize);
        if (start as usize).saturating_add(room) > buf.len() {
            return Err(coded(
                "ERR_OUT_OF_RANGE",
                format!(
                    "message {i}: {room} bytes at offset {start} overrun a buffer of {}",
                    buf.len()
                ),
            ));
        }
        let needed = envelope::min_packet_len(plain);
        if room < needed {
            let e = NoRoom {
                needed,
                available: room,
            };
            return Err(coded("ERR_NO_ROOM", format!("message {i}: {e}")));
        }
    }
    with_random(|random| {
        for (i, slot) in words.chunks_exact_mut(SLOT_WORDS).enumerate() {
            let key = &keys[if keys.len() == 1 { 0 } else { i }].inner;
            let start = slot[0] as usize;
            let packet = &mut buf[start..start + slot[2] as usize];
            let len = envelope::encrypt_in_slice(key, sender, packet, slot[1] as usize, random)
                .expect("room checked above");
            slot[3] = len as u32;
        }
    })?;
    // SAFETY: as for `bytes_mut`; `buf`'s mutable view is no longer used.
    let out = unsafe { slots.as_mut() };
    for (o, l) in out
        .chunks_exact_mut(SLOT_WORDS)
        .zip(words.chunks_exact(SLOT_WORDS))
    {
        o[3] = l[3];
    }
    Ok(())
}

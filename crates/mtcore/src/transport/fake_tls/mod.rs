//! Fake TLS: the wrapper that `ee` MTProxy secrets ask for, so that an
//! obfuscated2 connection looks like a TLS 1.3 session to an observer.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation
//! names the `ee` secret form; the wire format below is the one MTProxy
//! servers and Telegram clients agree on (public descriptions of the MTProxy
//! protocol and of TDLib's TLS emulation):
//!
//! 1. The client sends a browser-like ClientHello (one handshake record of
//!    517 bytes, SNI = the secret's domain). Its 32-byte `random` is
//!    HMAC-SHA256(key, hello with random zeroed) XOR (zeros(28) ‖ unix time
//!    as a LE u32), so the server can check the secret and the time.
//! 2. The server answers with a ServerHello record, a ChangeCipherSpec record
//!    and one application-data record of random bytes (a fake certificate).
//!    The ServerHello's `random` is HMAC-SHA256(key, client random ‖ the whole
//!    answer with that random zeroed).
//! 3. Then both sides carry obfuscated2 (keys from the same 16-byte secret)
//!    inside application-data records `17 03 03 len`; the client's first
//!    record is preceded by a ChangeCipherSpec record, as a real client's.
//!
//! The handshake (steps 1-2) lives in [`hello`] and [`answer`]; the record
//! layer of step 3 in [`records`], which `Codec` uses when its secret is an
//! `ee` one. Sans-IO: time and randomness come in as arguments.

pub mod answer;
pub mod hello;
pub mod records;
mod replay;
mod x25519;

pub use replay::ReplayCache;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Offset of the 32-byte `random` in both hellos: record header (5),
/// handshake type (1), handshake length (3), legacy version (2).
pub const RANDOM_AT: usize = 11;
/// Length of a TLS record header: type, version (2), length (2).
pub const RECORD_HEADER: usize = 5;

/// Record content types (RFC 8446 section 5.1).
pub const CHANGE_CIPHER_SPEC: u8 = 0x14;
pub const ALERT: u8 = 0x15;
pub const HANDSHAKE: u8 = 0x16;
pub const APPLICATION_DATA: u8 = 0x17;

/// The ChangeCipherSpec record a TLS 1.3 client sends in middlebox
/// compatibility mode (RFC 8446 appendix D.4).
pub const CCS_RECORD: [u8; 6] = [CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1];

/// HMAC-SHA256 keyed by the secret's 16 bytes over the concatenated parts.
pub(crate) fn digest(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests;

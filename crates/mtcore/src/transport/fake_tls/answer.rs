//! The server's answer to a ClientHello: built by the server, checked by the
//! client.
//!
//! Three records: a TLS 1.3 ServerHello (RFC 8446 section 4.1.3: legacy
//! version 0x0303, the random, the client's session id echoed,
//! TLS_AES_128_GCM_SHA256, null compression, key_share x25519 and
//! supported_versions 0x0304), a ChangeCipherSpec, and one application-data
//! record of random bytes standing for the encrypted certificate. The
//! ServerHello's random is HMAC-SHA256(key, client random ‖ the three records
//! with that random zeroed).

use subtle::ConstantTimeEq;

use super::{
    digest, x25519, APPLICATION_DATA, CCS_RECORD, CHANGE_CIPHER_SPEC, HANDSHAKE, RANDOM_AT,
    RECORD_HEADER,
};
use crate::transport::{RandomSource, TransportError};

/// Range of the fake certificate's length: what real certificate chains
/// weigh, so the answer's size does not stand out.
const FAKE_CERT_MIN: usize = 1024;
const FAKE_CERT_SPAN: usize = 3072;

/// The most bytes a client reads as the answer (three full records).
pub const MAX_ANSWER_LEN: usize = 3 * (RECORD_HEADER + (1 << 14) + 256);

/// Server side: the answer to a ClientHello whose random is `client_random`
/// and session id `session_id`.
pub fn server_answer<R: RandomSource + ?Sized>(
    key: &[u8; 16],
    client_random: &[u8; 32],
    session_id: &[u8],
    rng: &mut R,
) -> Vec<u8> {
    let mut share = [0u8; 32];
    x25519::fake_public_key(rng, &mut share);
    let mut hello = Vec::with_capacity(128);
    hello.extend_from_slice(&[3, 3]);
    hello.extend_from_slice(&[0; 32]);
    hello.push(session_id.len() as u8);
    hello.extend_from_slice(session_id);
    hello.extend_from_slice(&[0x13, 0x01, 0x00]);
    let mut exts = Vec::with_capacity(46);
    exts.extend_from_slice(&[0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20]);
    exts.extend_from_slice(&share);
    exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
    hello.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    hello.extend_from_slice(&exts);

    let mut size = [0u8; 2];
    rng.fill_random(&mut size);
    let cert_len = FAKE_CERT_MIN + usize::from(u16::from_le_bytes(size)) % FAKE_CERT_SPAN;

    let mut out = Vec::with_capacity(hello.len() + 9 + CCS_RECORD.len() + 5 + cert_len);
    out.extend_from_slice(&[HANDSHAKE, 3, 3]);
    out.extend_from_slice(&((hello.len() + 4) as u16).to_be_bytes());
    out.push(2); // server_hello
    out.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&hello);
    out.extend_from_slice(&CCS_RECORD);
    out.extend_from_slice(&[APPLICATION_DATA, 3, 3]);
    out.extend_from_slice(&(cert_len as u16).to_be_bytes());
    let at = out.len();
    out.resize(at + cert_len, 0);
    rng.fill_random(&mut out[at..]);

    let random = digest(key, &[client_random, &out]);
    out[RANDOM_AT..RANDOM_AT + 32].copy_from_slice(&random);
    out
}

fn bad(reason: &'static str) -> TransportError {
    TransportError::BadServerHello { reason }
}

/// The record at `at`: its content type and total length, or `None` while
/// its header has not arrived. Checks the version bytes.
fn record_at(bytes: &[u8], at: usize) -> Result<Option<(u8, usize)>, TransportError> {
    let Some(h) = bytes.get(at..at + RECORD_HEADER) else {
        return Ok(None);
    };
    if h[1..3] != [3, 3] {
        return Err(bad("record version is not 0x0303"));
    }
    Ok(Some((
        h[0],
        RECORD_HEADER + usize::from(u16::from_be_bytes([h[3], h[4]])),
    )))
}

/// Client side: checks the answer at the start of `bytes` against the
/// client's `random`. `Ok(None)` while it has not wholly arrived; `Ok(Some(n))`
/// once the three records (n bytes) are there and the digest matches
/// (compared in constant time). Bytes after them belong to the data phase.
pub fn check_answer(
    bytes: &[u8],
    key: &[u8; 16],
    client_random: &[u8; 32],
) -> Result<Option<usize>, TransportError> {
    let Some((kind, hello_len)) = record_at(bytes, 0)? else {
        return Ok(None);
    };
    if kind != HANDSHAKE {
        return Err(bad("first record is not a handshake record"));
    }
    if hello_len < RANDOM_AT + 32 + 1 {
        return Err(bad("ServerHello too short"));
    }
    if bytes.get(RECORD_HEADER).is_some_and(|&t| t != 2) {
        return Err(bad("not a ServerHello"));
    }
    let Some((kind, ccs_len)) = record_at(bytes, hello_len)? else {
        return Ok(None);
    };
    if kind != CHANGE_CIPHER_SPEC || ccs_len != CCS_RECORD.len() {
        return Err(bad("second record is not ChangeCipherSpec"));
    }
    let Some((kind, data_len)) = record_at(bytes, hello_len + ccs_len)? else {
        return Ok(None);
    };
    if kind != APPLICATION_DATA {
        return Err(bad("third record is not application data"));
    }
    let total = hello_len + ccs_len + data_len;
    if total > MAX_ANSWER_LEN {
        return Err(bad("answer too long"));
    }
    let Some(answer) = bytes.get(..total) else {
        return Ok(None);
    };
    if answer[hello_len..hello_len + ccs_len] != CCS_RECORD {
        return Err(bad("malformed ChangeCipherSpec"));
    }
    let mut zeroed = answer.to_vec();
    zeroed[RANDOM_AT..RANDOM_AT + 32].fill(0);
    let expect = digest(key, &[client_random, &zeroed]);
    if !bool::from(expect.ct_eq(&answer[RANDOM_AT..RANDOM_AT + 32])) {
        return Err(TransportError::BadTlsDigest);
    }
    Ok(Some(total))
}

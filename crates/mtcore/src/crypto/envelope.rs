//! The MTProto 2.0 message envelope: msg_key, key derivation, padding, auth_key_id.
//!
//! Spec: https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector
//! An encrypted message is auth_key_id (8) ‖ msg_key (16) ‖ AES-256-IGE(plaintext ‖ padding),
//! where plaintext = salt (8) ‖ session_id (8) ‖ msg_id (8) ‖ seq_no (4) ‖ length (4) ‖ body.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ige;

/// Bytes before the ciphertext: auth_key_id and msg_key.
pub const OUTER_HEADER_LEN: usize = 24;
/// Bytes of the inner header: salt, session_id, msg_id, seq_no, message_data_length.
pub const INNER_HEADER_LEN: usize = 32;
/// Padding bounds of MTProto 2.0.
pub const MIN_PADDING: usize = 12;
pub const MAX_PADDING: usize = 1024;

/// Who encrypted a message: it selects x in the key derivation (0 client, 8 server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Client,
    Server,
}

impl Sender {
    fn x(self) -> usize {
        match self {
            Sender::Client => 0,
            Sender::Server => 8,
        }
    }
}

/// A 2048-bit authorization key with its precomputed id.
#[derive(Clone)]
pub struct AuthKey {
    key: [u8; 256],
    id: [u8; 8],
}

impl std::fmt::Debug for AuthKey {
    // Never print the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthKey(id={:016x})", self.id())
    }
}

impl AuthKey {
    pub fn new(key: [u8; 256]) -> Self {
        let hash = Sha1::digest(key);
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash[12..20]);
        AuthKey { key, id }
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(Self::new(bytes.try_into().ok()?))
    }

    pub fn bytes(&self) -> &[u8; 256] {
        &self.key
    }

    /// auth_key_id as it appears on the wire (the low 64 bits of SHA1(auth_key)).
    pub fn id_bytes(&self) -> &[u8; 8] {
        &self.id
    }

    pub fn id(&self) -> u64 {
        u64::from_le_bytes(self.id)
    }

    /// msg_key = the middle 128 bits of SHA256(auth_key[88+x .. 120+x] ‖ plaintext ‖ padding).
    pub fn msg_key(&self, sender: Sender, padded_plaintext: &[u8]) -> [u8; 16] {
        let x = sender.x();
        let hash = Sha256::new()
            .chain_update(&self.key[88 + x..120 + x])
            .chain_update(padded_plaintext)
            .finalize();
        hash[8..24].try_into().expect("16 bytes")
    }

    /// aes_key and aes_iv for one message from its msg_key.
    pub fn derive_aes(&self, sender: Sender, msg_key: &[u8; 16]) -> ([u8; 32], [u8; 32]) {
        let x = sender.x();
        let a = Sha256::new()
            .chain_update(msg_key)
            .chain_update(&self.key[x..x + 36])
            .finalize();
        let b = Sha256::new()
            .chain_update(&self.key[40 + x..76 + x])
            .chain_update(msg_key)
            .finalize();
        let mut key = [0u8; 32];
        let mut iv = [0u8; 32];
        key[..8].copy_from_slice(&a[..8]);
        key[8..24].copy_from_slice(&b[8..24]);
        key[24..].copy_from_slice(&a[24..32]);
        iv[..8].copy_from_slice(&b[..8]);
        iv[8..24].copy_from_slice(&a[8..24]);
        iv[24..].copy_from_slice(&b[24..32]);
        (key, iv)
    }
}

/// Why an incoming encrypted message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Shorter than the headers, or the ciphertext is not whole blocks.
    BadPacketLength(usize),
    AuthKeyIdMismatch {
        expected: u64,
        got: u64,
    },
    MsgKeyMismatch,
    /// message_data_length does not fit the decrypted bytes (or is not a multiple of 4).
    BadMessageLength {
        declared: u32,
        available: usize,
    },
    /// The padding after the body is outside 12..=1024 bytes.
    BadPadding(usize),
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadPacketLength(n) => write!(f, "encrypted packet of {n} bytes is malformed"),
            Self::AuthKeyIdMismatch { expected, got } => {
                write!(f, "auth_key_id {got:016x} does not match {expected:016x}")
            }
            Self::MsgKeyMismatch => write!(f, "msg_key does not match the decrypted message"),
            Self::BadMessageLength {
                declared,
                available,
            } => {
                write!(
                    f,
                    "message length {declared} does not fit {available} decrypted bytes"
                )
            }
            Self::BadPadding(n) => write!(f, "padding of {n} bytes is outside 12..1024"),
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// Padding for a plaintext of `len` bytes: 12..=1024 bytes, total a multiple of 16.
/// `extra_blocks` (random, taken modulo what fits) adds whole blocks to hide lengths.
pub fn padding_len(len: usize, extra_blocks: u8) -> usize {
    let base = MIN_PADDING + (16 - (len % 16 + MIN_PADDING) % 16) % 16;
    let room = (MAX_PADDING - base) / 16;
    base + 16 * (usize::from(extra_blocks) % (room + 1))
}

/// The shortest packet for a plaintext of `plain_len` bytes: headers, plaintext and the
/// minimum padding (saturating, so a huge length never wraps around).
pub fn min_packet_len(plain_len: usize) -> usize {
    (OUTER_HEADER_LEN + padding_len(plain_len, 0)).saturating_add(plain_len)
}

/// The buffer has no room after the plaintext for the minimum padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    /// Bytes the packet needs: headers, plaintext and the minimum padding.
    pub needed: usize,
    pub available: usize,
}

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the encrypted packet needs {} bytes, the buffer has {}",
            self.needed, self.available
        )
    }
}

impl std::error::Error for NoRoom {}

/// Extra padding blocks for one message, drawn from `random`.
///
/// Small messages stay small: random extra blocks only up to 3, which keeps the
/// packet length from being exact without costing bandwidth on bot traffic.
fn extra_blocks(random: &mut dyn FnMut(&mut [u8])) -> u8 {
    let mut extra = [0u8; 1];
    random(&mut extra);
    extra[0] & 3
}

/// Fills the padding of `packet` (headers ‖ plaintext ‖ padding, whole blocks after the
/// headers) from `random`, encrypts it and writes auth_key_id and msg_key.
fn seal(
    key: &AuthKey,
    sender: Sender,
    packet: &mut [u8],
    plain_len: usize,
    random: &mut dyn FnMut(&mut [u8]),
) {
    let (header, data) = packet.split_at_mut(OUTER_HEADER_LEN);
    random(&mut data[plain_len..]);
    let msg_key = key.msg_key(sender, data);
    let (aes_key, aes_iv) = key.derive_aes(sender, &msg_key);
    ige::encrypt_in_place(data, &aes_key, &aes_iv).expect("padded to whole blocks");
    header[..8].copy_from_slice(key.id_bytes());
    header[8..].copy_from_slice(&msg_key);
}

/// Encrypts `buf[start + OUTER_HEADER_LEN..]` (the plaintext) in place, then writes
/// auth_key_id and msg_key into `buf[start..start + OUTER_HEADER_LEN]`.
///
/// The caller reserves the 24 header bytes up front so a packet is built with one
/// allocation; padding is appended from `random`, which fills a slice with random bytes.
pub fn encrypt_in_place(
    key: &AuthKey,
    sender: Sender,
    buf: &mut Vec<u8>,
    start: usize,
    random: &mut dyn FnMut(&mut [u8]),
) {
    let plain_len = buf.len() - start - OUTER_HEADER_LEN;
    let pad = padding_len(plain_len, extra_blocks(random));
    buf.resize(buf.len() + pad, 0);
    seal(key, sender, &mut buf[start..], plain_len, random);
}

/// Encrypts in a fixed buffer: the plaintext sits at
/// `packet[OUTER_HEADER_LEN..OUTER_HEADER_LEN + plain_len]` and the bytes after it are
/// room for the padding. Returns the packet length (headers, ciphertext), which is at
/// most `packet.len()`; the padding takes fewer extra blocks when the room is short.
///
/// Draws from `random` exactly as `encrypt_in_place` does, so both give the same bytes
/// when the room suffices.
pub fn encrypt_in_slice(
    key: &AuthKey,
    sender: Sender,
    packet: &mut [u8],
    plain_len: usize,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<usize, NoRoom> {
    let min_len = min_packet_len(plain_len);
    if packet.len() < min_len {
        return Err(NoRoom {
            needed: min_len,
            available: packet.len(),
        });
    }
    let spare_blocks = (packet.len() - min_len) / 16;
    let extra = extra_blocks(random).min(spare_blocks.min(3) as u8);
    let len = OUTER_HEADER_LEN + plain_len + padding_len(plain_len, extra);
    seal(key, sender, &mut packet[..len], plain_len, random);
    Ok(len)
}

/// Encrypts a plaintext into a new packet: auth_key_id ‖ msg_key ‖ ciphertext.
pub fn encrypt(
    key: &AuthKey,
    sender: Sender,
    plaintext: &[u8],
    random: &mut dyn FnMut(&mut [u8]),
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(OUTER_HEADER_LEN + plaintext.len() + MAX_PADDING.min(64));
    buf.resize(OUTER_HEADER_LEN, 0);
    buf.extend_from_slice(plaintext);
    encrypt_in_place(key, sender, &mut buf, 0, random);
    buf
}

/// Decrypts a packet in place and checks it; on success returns the range of the
/// plaintext (inner header and body, padding excluded) within `packet`.
///
/// `sender` is who encrypted it (a client decrypts `Sender::Server` packets).
pub fn decrypt_in_place(
    key: &AuthKey,
    sender: Sender,
    packet: &mut [u8],
) -> Result<std::ops::Range<usize>, EnvelopeError> {
    let len = packet.len();
    if len < OUTER_HEADER_LEN + INNER_HEADER_LEN + MIN_PADDING
        || !(len - OUTER_HEADER_LEN).is_multiple_of(16)
    {
        return Err(EnvelopeError::BadPacketLength(len));
    }
    let got_id: [u8; 8] = packet[..8].try_into().expect("8 bytes");
    if got_id != *key.id_bytes() {
        return Err(EnvelopeError::AuthKeyIdMismatch {
            expected: key.id(),
            got: u64::from_le_bytes(got_id),
        });
    }
    let msg_key: [u8; 16] = packet[8..OUTER_HEADER_LEN].try_into().expect("16 bytes");
    let (aes_key, aes_iv) = key.derive_aes(sender, &msg_key);
    let body = &mut packet[OUTER_HEADER_LEN..];
    ige::decrypt_in_place(body, &aes_key, &aes_iv).expect("whole blocks checked above");
    // Check msg_key before anything that depends on the plaintext, in constant time.
    let expected = key.msg_key(sender, body);
    if !bool::from(expected.ct_eq(&msg_key)) {
        return Err(EnvelopeError::MsgKeyMismatch);
    }
    let declared = u32::from_le_bytes(body[28..32].try_into().expect("4 bytes"));
    let available = body.len() - INNER_HEADER_LEN;
    if !declared.is_multiple_of(4) || declared as usize > available {
        return Err(EnvelopeError::BadMessageLength {
            declared,
            available,
        });
    }
    let padding = available - declared as usize;
    if !(MIN_PADDING..=MAX_PADDING).contains(&padding) {
        return Err(EnvelopeError::BadPadding(padding));
    }
    Ok(OUTER_HEADER_LEN..OUTER_HEADER_LEN + INNER_HEADER_LEN + declared as usize)
}

/// The session_id a packet names, read by decrypting only its first block: AES-IGE
/// decrypts block by block, and the inner header's first 16 bytes are the salt and the
/// session_id. Nothing is checked (msg_key covers the whole plaintext): a server uses it
/// to find the session that then decrypts and checks the packet in full. None for a
/// packet too short to hold a message or under another key.
pub fn peek_session_id(key: &AuthKey, sender: Sender, packet: &[u8]) -> Option<u64> {
    if packet.len() < OUTER_HEADER_LEN + INNER_HEADER_LEN + MIN_PADDING
        || packet[..8] != *key.id_bytes()
    {
        return None;
    }
    let msg_key: [u8; 16] = packet[8..OUTER_HEADER_LEN].try_into().ok()?;
    let (aes_key, aes_iv) = key.derive_aes(sender, &msg_key);
    let mut first: [u8; 16] = packet[OUTER_HEADER_LEN..OUTER_HEADER_LEN + 16]
        .try_into()
        .ok()?;
    ige::decrypt_in_place(&mut first, &aes_key, &aes_iv).ok()?;
    Some(u64::from_le_bytes(first[8..16].try_into().ok()?))
}

/// Decrypts into a new buffer holding the plaintext without padding.
pub fn decrypt(key: &AuthKey, sender: Sender, packet: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let mut buf = packet.to_vec();
    let range = decrypt_in_place(key, sender, &mut buf)?;
    buf.truncate(range.end);
    buf.drain(..range.start);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_the_session_id_of_the_first_block_only() {
        let key = AuthKey::new([7u8; 256]);
        let mut plain = vec![0u8; INNER_HEADER_LEN + 1024];
        plain[8..16].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        plain[28..32].copy_from_slice(&1024u32.to_le_bytes());
        let packet = encrypt(&key, Sender::Client, &plain, &mut |b: &mut [u8]| b.fill(3));
        assert_eq!(
            peek_session_id(&key, Sender::Client, &packet),
            Some(0x1122_3344_5566_7788)
        );
        let full = decrypt(&key, Sender::Client, &packet).unwrap();
        assert_eq!(&full[8..16], &0x1122_3344_5566_7788u64.to_le_bytes());
        // The rest of the packet does not matter to the peek (the full decryption checks it).
        let mut tail_changed = packet.clone();
        let n = tail_changed.len();
        tail_changed[n - 1] ^= 1;
        assert_eq!(
            peek_session_id(&key, Sender::Client, &tail_changed),
            Some(0x1122_3344_5566_7788)
        );
        assert!(decrypt(&key, Sender::Client, &tail_changed).is_err());
        // Another key, or a packet too short: none.
        assert_eq!(
            peek_session_id(&AuthKey::new([8u8; 256]), Sender::Client, &packet),
            None
        );
        assert_eq!(peek_session_id(&key, Sender::Client, &packet[..40]), None);
    }

    fn vectors() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vectors/mtproto2-kdf.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors/ of the repository"))
            .unwrap()
    }

    fn unhex(v: &serde_json::Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap()).unwrap()
    }

    // aes_key/aes_iv vectors of vectors/mtproto2-kdf.json (grammers, mtcute, gramjs).
    #[test]
    fn key_iv_vectors() {
        let v = vectors();
        for case in v["key_iv_vectors"].as_array().unwrap() {
            let key = AuthKey::from_slice(&unhex(&case["auth_key"])).unwrap();
            let sender = if case["x"].as_u64() == Some(0) {
                Sender::Client
            } else {
                Sender::Server
            };
            let msg_key: [u8; 16] = unhex(&case["msg_key"]).try_into().unwrap();
            let (k, iv) = key.derive_aes(sender, &msg_key);
            assert_eq!(k.to_vec(), unhex(&case["aes_key"]), "{}", case["name"]);
            assert_eq!(iv.to_vec(), unhex(&case["aes_iv"]), "{}", case["name"]);
        }
    }

    // Full message vectors: encrypting with the vector's padding gives its exact bytes,
    // and the server vector decrypts to its plaintext through every check.
    #[test]
    fn message_vectors() {
        let v = vectors();
        for case in v["message_vectors"].as_array().unwrap() {
            if case.get("padding").is_none() {
                let key = AuthKey::from_slice(&unhex(&case["auth_key"])).unwrap();
                let plain =
                    decrypt(&key, Sender::Server, &unhex(&case["encrypted_message"])).unwrap();
                let full = unhex(&case["plaintext"]);
                assert_eq!(plain, full[..plain.len()], "{}", case["name"]);
                assert_eq!(full.len() - plain.len(), 24, "{}: padding", case["name"]);
                continue;
            }
            let key = AuthKey::from_slice(&unhex(&case["auth_key"])).unwrap();
            let sender = if case["direction"].as_str().unwrap().starts_with("client") {
                Sender::Client
            } else {
                Sender::Server
            };
            let mut padded = unhex(&case["plaintext"]);
            padded.extend(unhex(&case["padding"]));
            let msg_key = key.msg_key(sender, &padded);
            assert_eq!(
                msg_key.to_vec(),
                unhex(&case["msg_key"]),
                "{}",
                case["name"]
            );
            let (k, iv) = key.derive_aes(sender, &msg_key);
            ige::encrypt_in_place(&mut padded, &k, &iv).unwrap();
            let mut packet = key.id_bytes().to_vec();
            packet.extend_from_slice(&msg_key);
            packet.extend_from_slice(&padded);
            assert_eq!(
                packet,
                unhex(&case["encrypted_message"]),
                "{}",
                case["name"]
            );
        }
    }

    fn counter_random() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            for b in buf {
                n = n.wrapping_mul(31).wrapping_add(7);
                *b = n;
            }
        }
    }

    fn inner(body_len: usize) -> Vec<u8> {
        let mut p = vec![0x11; INNER_HEADER_LEN];
        p[28..32].copy_from_slice(&(body_len as u32).to_le_bytes());
        p.extend((0..body_len).map(|i| i as u8));
        p
    }

    #[test]
    fn round_trip_and_every_flipped_byte_is_rejected() {
        // Uneven key bytes, so that x = 0 and x = 8 select different material.
        let key = AuthKey::new(std::array::from_fn(|i| (i * 13 + 5) as u8));
        let plain = inner(40);
        let packet = encrypt(&key, Sender::Client, &plain, &mut counter_random());
        assert_eq!(decrypt(&key, Sender::Client, &packet).unwrap(), plain);
        // Decrypting as the other side uses other key material and fails.
        assert_eq!(
            decrypt(&key, Sender::Server, &packet),
            Err(EnvelopeError::MsgKeyMismatch)
        );
        for i in 0..packet.len() {
            let mut bad = packet.clone();
            bad[i] ^= 0x01;
            assert!(
                decrypt(&key, Sender::Client, &bad).is_err(),
                "flip at {i} accepted"
            );
        }
    }

    #[test]
    fn in_slice_matches_the_vec_form_and_respects_the_room() {
        let key = AuthKey::new(std::array::from_fn(|i| (i * 29 + 3) as u8));
        for body_len in [0usize, 4, 12, 16, 100, 1000] {
            let plain = inner(body_len);
            let expected = encrypt(&key, Sender::Server, &plain, &mut counter_random());
            // Ample room: the same random draws give the same packet.
            let mut buf = vec![0u8; OUTER_HEADER_LEN + plain.len() + MAX_PADDING];
            buf[OUTER_HEADER_LEN..OUTER_HEADER_LEN + plain.len()].copy_from_slice(&plain);
            let n = encrypt_in_slice(
                &key,
                Sender::Server,
                &mut buf,
                plain.len(),
                &mut counter_random(),
            )
            .unwrap();
            assert_eq!(buf[..n], expected[..], "body {body_len}");
            // Every room from too short to ample: an error, or a packet that fits and decrypts.
            let min = OUTER_HEADER_LEN + plain.len() + padding_len(plain.len(), 0);
            for room in min - 1..min + 64 {
                let mut buf = vec![0u8; room];
                buf[OUTER_HEADER_LEN..OUTER_HEADER_LEN + plain.len()].copy_from_slice(&plain);
                let mut random = counter_random();
                match encrypt_in_slice(&key, Sender::Client, &mut buf, plain.len(), &mut random) {
                    Err(e) => assert_eq!(
                        (room, e),
                        (
                            min - 1,
                            NoRoom {
                                needed: min,
                                available: min - 1
                            }
                        )
                    ),
                    Ok(n) => {
                        assert!(n <= room);
                        let got = decrypt(&key, Sender::Client, &buf[..n]).unwrap();
                        assert_eq!(got, plain);
                    }
                }
            }
        }
    }

    #[test]
    fn padding_stays_within_bounds() {
        for len in 32..600 {
            for extra in [0u8, 1, 3, 255] {
                let p = padding_len(len, extra);
                assert!((MIN_PADDING..=MAX_PADDING).contains(&p));
                assert_eq!((len + p) % 16, 0);
            }
        }
    }

    #[test]
    fn declared_length_must_fit() {
        let key = AuthKey::new([3; 256]);
        let mut plain = inner(16);
        plain[28..32].copy_from_slice(&4000u32.to_le_bytes());
        let packet = encrypt(&key, Sender::Server, &plain, &mut counter_random());
        assert!(matches!(
            decrypt(&key, Sender::Server, &packet),
            Err(EnvelopeError::BadMessageLength { declared: 4000, .. })
        ));
    }
}

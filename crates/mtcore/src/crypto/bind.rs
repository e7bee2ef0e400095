//! The `encrypted_message` of auth.bindTempAuthKey (Perfect Forward Secrecy).
//!
//! Spec: https://core.telegram.org/method/auth.bindTempAuthKey ("Generating
//! encrypted_message") and https://core.telegram.org/api/pfs. The client serializes
//! `bind_auth_key_inner` and encrypts it with the *permanent* key the MTProto v1 way:
//!
//! - plaintext = random (16, in place of server_salt ‖ session_id) ‖ msg_id (8, the same
//!   msg_id as the auth.bindTempAuthKey query that carries it) ‖ seq_no (4, 0) ‖
//!   message_data_length (4) ‖ bind_auth_key_inner ‖ padding (0..15 random bytes to a
//!   whole AES block);
//! - msg_key = the lower 128 bits of SHA1(plaintext without the padding);
//! - aes_key, aes_iv from the v1 derivation with x = 0 (sent by the client);
//! - encrypted_message = perm_auth_key_id (8) ‖ msg_key (16) ‖ AES-256-IGE(plaintext).

use super::envelope::AuthKey;
use super::ige;
use super::sha::sha1;

/// Bytes of the v1 inner header: random (16), msg_id, seq_no, message_data_length.
const INNER_HEADER_LEN: usize = 32;

/// Why a binding message cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
    /// The serialized bind_auth_key_inner is not whole 32-bit words (TL always is).
    UnalignedInner { len: usize },
    /// More than fits message_data_length (or a sane request).
    InnerTooLong { len: usize, max: usize },
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindError::UnalignedInner { len } => {
                write!(
                    f,
                    "the inner message of {len} bytes is not whole 4-byte words"
                )
            }
            BindError::InnerTooLong { len, max } => {
                write!(f, "the inner message of {len} bytes exceeds {max}")
            }
        }
    }
}

impl std::error::Error for BindError {}

/// Longest inner message accepted (bind_auth_key_inner is 40 bytes).
pub const MAX_INNER_LEN: usize = 1024;

/// MTProto v1 aes_key and aes_iv for `msg_key` (mtproto/description, the pre-2.0 scheme),
/// x = 0 for a message sent by the client.
pub fn derive_aes_v1(key: &[u8; 256], msg_key: &[u8; 16]) -> ([u8; 32], [u8; 32]) {
    let a = sha1(&[&msg_key[..], &key[0..32]]);
    let b = sha1(&[&key[32..48], &msg_key[..], &key[48..64]]);
    let c = sha1(&[&key[64..96], &msg_key[..]]);
    let d = sha1(&[&msg_key[..], &key[96..128]]);
    let mut aes_key = [0u8; 32];
    aes_key[..8].copy_from_slice(&a[..8]);
    aes_key[8..20].copy_from_slice(&b[8..20]);
    aes_key[20..].copy_from_slice(&c[4..16]);
    let mut aes_iv = [0u8; 32];
    aes_iv[..12].copy_from_slice(&a[8..20]);
    aes_iv[12..20].copy_from_slice(&b[..8]);
    aes_iv[20..24].copy_from_slice(&c[16..20]);
    aes_iv[24..].copy_from_slice(&d[..8]);
    (aes_key, aes_iv)
}

/// Builds `encrypted_message` for auth.bindTempAuthKey: `inner` (a serialized
/// bind_auth_key_inner) under `perm_key`, stamped with `msg_id` (the carrying query's).
/// `random` fills the 16 random header bytes and the padding.
pub fn encrypt_bind_message(
    perm_key: &AuthKey,
    msg_id: u64,
    inner: &[u8],
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<Vec<u8>, BindError> {
    let len = inner.len();
    if !len.is_multiple_of(4) {
        return Err(BindError::UnalignedInner { len });
    }
    if len > MAX_INNER_LEN {
        return Err(BindError::InnerTooLong {
            len,
            max: MAX_INNER_LEN,
        });
    }
    let plain_len = INNER_HEADER_LEN + len;
    let padded_len = plain_len.div_ceil(16) * 16;
    let mut out = vec![0u8; 24 + padded_len];
    {
        let data = &mut out[24..];
        random(&mut data[..16]);
        data[16..24].copy_from_slice(&msg_id.to_le_bytes());
        // seq_no stays 0 (spec).
        data[28..32].copy_from_slice(&(len as u32).to_le_bytes());
        data[32..plain_len].copy_from_slice(inner);
        random(&mut data[plain_len..]);
    }
    let hash = sha1(&[&out[24..24 + plain_len]]);
    let mut msg_key = [0u8; 16];
    msg_key.copy_from_slice(&hash[4..20]);
    let (aes_key, aes_iv) = derive_aes_v1(perm_key.bytes(), &msg_key);
    ige::encrypt_in_place(&mut out[24..], &aes_key, &aes_iv).expect("whole blocks");
    out[..8].copy_from_slice(perm_key.id_bytes());
    out[8..24].copy_from_slice(&msg_key);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> AuthKey {
        let mut k = [0u8; 256];
        for (i, b) in k.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(seed);
        }
        AuthKey::new(k)
    }

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(1);
                *x = n;
            }
        }
    }

    fn open(perm: &AuthKey, msg: &[u8]) -> Vec<u8> {
        let msg_key: [u8; 16] = msg[8..24].try_into().unwrap();
        let (k, iv) = derive_aes_v1(perm.bytes(), &msg_key);
        let mut data = msg[24..].to_vec();
        ige::decrypt_in_place(&mut data, &k, &iv).unwrap();
        data
    }

    #[test]
    fn layout_and_roundtrip() {
        let perm = key(7);
        let inner: Vec<u8> = (0..40u8).collect();
        let msg_id = 0x6543_2100_0000_1234u64;
        let out = encrypt_bind_message(&perm, msg_id, &inner, &mut counter()).unwrap();
        // 24 header bytes, then 32 + 40 = 72 plaintext bytes padded to 80.
        assert_eq!(out.len(), 24 + 80);
        assert_eq!(&out[..8], perm.id_bytes());
        let plain = open(&perm, &out);
        assert_eq!(&plain[..16], &(1..=16u8).collect::<Vec<_>>()[..]);
        assert_eq!(
            u64::from_le_bytes(plain[16..24].try_into().unwrap()),
            msg_id
        );
        assert_eq!(u32::from_le_bytes(plain[24..28].try_into().unwrap()), 0);
        assert_eq!(u32::from_le_bytes(plain[28..32].try_into().unwrap()), 40);
        assert_eq!(&plain[32..72], &inner[..]);
        // msg_key covers the plaintext without its padding.
        assert_eq!(&out[8..24], &sha1(&[&plain[..72]])[4..20]);
    }

    #[test]
    fn padding_is_under_one_block() {
        let perm = key(1);
        for words in 0..12 {
            let inner = vec![0xabu8; words * 4];
            let out = encrypt_bind_message(&perm, 4, &inner, &mut counter()).unwrap();
            let pad = out.len() - 24 - 32 - inner.len();
            assert!(pad < 16, "padding {pad}");
            assert_eq!((out.len() - 24) % 16, 0);
        }
    }

    #[test]
    fn another_key_or_msg_id_changes_everything() {
        let inner = [5u8; 40];
        let a = encrypt_bind_message(&key(1), 8, &inner, &mut counter()).unwrap();
        let b = encrypt_bind_message(&key(2), 8, &inner, &mut counter()).unwrap();
        let c = encrypt_bind_message(&key(1), 12, &inner, &mut counter()).unwrap();
        assert_ne!(a[8..], b[8..]);
        assert_ne!(a[8..], c[8..]);
        // A wrong key does not reproduce the inner message.
        assert_ne!(&open(&key(2), &a)[32..72], &inner[..]);
    }

    #[test]
    fn rejects_bad_inner() {
        let k = key(0);
        assert_eq!(
            encrypt_bind_message(&k, 4, &[0u8; 6], &mut counter()),
            Err(BindError::UnalignedInner { len: 6 })
        );
        assert!(matches!(
            encrypt_bind_message(&k, 4, &vec![0u8; 2048], &mut counter()),
            Err(BindError::InnerTooLong { .. })
        ));
    }

    #[test]
    fn v1_derivation_pinned() {
        // Computed with Python's hashlib from the derivation of mtproto/description (v1).
        let k = key(3);
        let (aes_key, aes_iv) = derive_aes_v1(k.bytes(), &[0x11u8; 16]);
        assert_eq!(
            hex::encode(aes_key),
            "e535741b76fa1a9b148a2c28df05f91adaac9cc5d80e562687e6d5c3d40ec5ee"
        );
        assert_eq!(
            hex::encode(aes_iv),
            "685182789462b91ec010615547bd87ff706bea6ffd40e47217728a985b26626b"
        );
    }
}

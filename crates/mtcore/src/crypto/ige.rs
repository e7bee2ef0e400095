//! AES-256 in Infinite Garble Extension mode, as MTProto uses it.
//!
//! With c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}, the 32-byte iv is c_{-1} ‖ p_{-1}
//! (the OpenSSL `AES_ige_encrypt` convention, which Telegram follows).
//! Both directions are sequential, so they work in place on one block at a time.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;

/// The data length was not a multiple of the 16-byte block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnalignedLength(pub usize);

impl std::fmt::Display for UnalignedLength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "data length {} is not a multiple of 16", self.0)
    }
}

impl std::error::Error for UnalignedLength {}

#[inline(always)]
fn xor16(a: &mut [u8; 16], b: &[u8; 16]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// Encrypts `data` in place with AES-256-IGE.
pub fn encrypt_in_place(
    data: &mut [u8],
    key: &[u8; 32],
    iv: &[u8; 32],
) -> Result<(), UnalignedLength> {
    if !data.len().is_multiple_of(16) {
        return Err(UnalignedLength(data.len()));
    }
    let cipher = Aes256::new(GenericArray::from_slice(key));
    let mut prev_c: [u8; 16] = iv[..16].try_into().expect("16 bytes");
    let mut prev_p: [u8; 16] = iv[16..].try_into().expect("16 bytes");
    for chunk in data.chunks_exact_mut(16) {
        let plain: [u8; 16] = (&*chunk).try_into().expect("16 bytes");
        let mut block = plain;
        xor16(&mut block, &prev_c);
        cipher.encrypt_block(GenericArray::from_mut_slice(&mut block));
        xor16(&mut block, &prev_p);
        chunk.copy_from_slice(&block);
        prev_c = block;
        prev_p = plain;
    }
    Ok(())
}

/// Decrypts `data` in place with AES-256-IGE.
pub fn decrypt_in_place(
    data: &mut [u8],
    key: &[u8; 32],
    iv: &[u8; 32],
) -> Result<(), UnalignedLength> {
    if !data.len().is_multiple_of(16) {
        return Err(UnalignedLength(data.len()));
    }
    let cipher = Aes256::new(GenericArray::from_slice(key));
    let mut prev_c: [u8; 16] = iv[..16].try_into().expect("16 bytes");
    let mut prev_p: [u8; 16] = iv[16..].try_into().expect("16 bytes");
    for chunk in data.chunks_exact_mut(16) {
        let cipher_block: [u8; 16] = (&*chunk).try_into().expect("16 bytes");
        let mut block = cipher_block;
        xor16(&mut block, &prev_p);
        cipher.decrypt_block(GenericArray::from_mut_slice(&mut block));
        xor16(&mut block, &prev_c);
        chunk.copy_from_slice(&block);
        prev_c = cipher_block;
        prev_p = block;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // Every AES-256 vector of ../shared/vectors/aes-ige.json (OpenSSL igetest.c,
    // grammers-crypto, gramjs and the official auth-key sample), both directions.
    #[test]
    fn shared_vectors_round_trip() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/aes-ige.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("missing {path}: the shared vectors sit beside the repository");
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut checked = 0;
        for v in json["vectors"].as_array().unwrap() {
            if v["key_bits"].as_u64() != Some(256) {
                continue;
            }
            let key: [u8; 32] = unhex(v["key"].as_str().unwrap()).try_into().unwrap();
            let iv: [u8; 32] = unhex(v["iv"].as_str().unwrap()).try_into().unwrap();
            let plain = unhex(v["plaintext"].as_str().unwrap());
            let cipher = unhex(v["ciphertext"].as_str().unwrap());
            let mut buf = plain.clone();
            encrypt_in_place(&mut buf, &key, &iv).unwrap();
            assert_eq!(buf, cipher, "encrypt {}", v["name"]);
            decrypt_in_place(&mut buf, &key, &iv).unwrap();
            assert_eq!(buf, plain, "decrypt {}", v["name"]);
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} AES-256 vectors found");
    }

    #[test]
    fn rejects_unaligned_length() {
        let mut buf = [0u8; 17];
        assert_eq!(
            encrypt_in_place(&mut buf, &[0; 32], &[0; 32]),
            Err(UnalignedLength(17))
        );
        assert_eq!(
            decrypt_in_place(&mut buf, &[0; 32], &[0; 32]),
            Err(UnalignedLength(17))
        );
    }
}

//! AES-256 in Infinite Garble Extension mode, as MTProto uses it.
//!
//! With c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}, the 32-byte iv is c_{-1} ‖ p_{-1}
//! (the OpenSSL `AES_ige_encrypt` convention, which Telegram follows).
//! Both directions are sequential, so they work in place on one block at a time.

use aes09::cipher::consts::U16;
use aes09::cipher::{
    BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit,
};
use aes09::{Aes256Dec, Aes256Enc, Block};

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
fn xor(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

#[inline(always)]
fn block(bytes: &[u8]) -> [u8; 16] {
    bytes.try_into().expect("16-byte chunk")
}

/// The IGE chain of one call, run inside the cipher's backend.
///
/// `aes` picks AES-NI at run time; through `encrypt_with_backend` the whole loop
/// below is compiled inside its `target_feature` function, so each block costs
/// the AES rounds and two XORs, with no per-block dispatch or call.
struct Ige<'a> {
    data: &'a mut [u8],
    iv: &'a [u8; 32],
}

/// Encryption: c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}.
struct IgeEncrypt<'a>(Ige<'a>);

impl BlockSizeUser for IgeEncrypt<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for IgeEncrypt<'_> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let Ige { data, iv } = self.0;
        let mut prev_c = block(&iv[..16]);
        let mut prev_p = block(&iv[16..]);
        for chunk in data.chunks_exact_mut(16) {
            let plain = block(chunk);
            let mut x = Block::from(xor(&plain, &prev_c));
            backend.encrypt_block((&mut x).into());
            prev_c = xor(&x.into(), &prev_p);
            chunk.copy_from_slice(&prev_c);
            prev_p = plain;
        }
    }
}

/// Decryption: p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}.
struct IgeDecrypt<'a>(Ige<'a>);

impl BlockSizeUser for IgeDecrypt<'_> {
    type BlockSize = U16;
}

impl BlockCipherDecClosure for IgeDecrypt<'_> {
    #[inline(always)]
    fn call<B: BlockCipherDecBackend<BlockSize = U16>>(self, backend: &B) {
        let Ige { data, iv } = self.0;
        let mut prev_c = block(&iv[..16]);
        let mut prev_p = block(&iv[16..]);
        for chunk in data.chunks_exact_mut(16) {
            let cipher = block(chunk);
            let mut x = Block::from(xor(&cipher, &prev_p));
            backend.decrypt_block((&mut x).into());
            prev_p = xor(&x.into(), &prev_c);
            chunk.copy_from_slice(&prev_p);
            prev_c = cipher;
        }
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
    // The encryption-only key schedule: half the setup of `Aes256`.
    let cipher = Aes256Enc::new(key.into());
    cipher.encrypt_with_backend(IgeEncrypt(Ige { data, iv }));
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
    let cipher = Aes256Dec::new(key.into());
    cipher.decrypt_with_backend(IgeDecrypt(Ige { data, iv }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // Every AES-256 vector of vectors/aes-ige.json (OpenSSL igetest.c,
    // grammers-crypto, gramjs and the official auth-key sample), both directions.
    #[test]
    fn shared_vectors_round_trip() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/aes-ige.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("missing {path}: the vectors are kept in the repository's vectors/");
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

    /// IGE written block by block over the cipher's one-block calls: the textbook form
    /// that the backend loop above must match.
    fn naive(data: &[u8], key: &[u8; 32], iv: &[u8; 32], encrypt: bool) -> Vec<u8> {
        let enc = Aes256Enc::new(key.into());
        let dec = Aes256Dec::new(key.into());
        let (mut x_in, mut x_out) = if encrypt {
            (block(&iv[..16]), block(&iv[16..]))
        } else {
            (block(&iv[16..]), block(&iv[..16]))
        };
        let mut out = Vec::new();
        for chunk in data.chunks(16) {
            let input = block(chunk);
            let mut b = Block::from(xor(&input, &x_in));
            if encrypt {
                enc.encrypt_block(&mut b);
            } else {
                dec.decrypt_block(&mut b);
            }
            let o = xor(&b.into(), &x_out);
            out.extend_from_slice(&o);
            x_in = o;
            x_out = input;
        }
        out
    }

    #[test]
    fn matches_the_block_by_block_form() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        };
        for blocks in 0..70 {
            let key: [u8; 32] = std::array::from_fn(|_| next());
            let iv: [u8; 32] = std::array::from_fn(|_| next());
            let plain: Vec<u8> = (0..16 * blocks).map(|_| next()).collect();
            let mut buf = plain.clone();
            encrypt_in_place(&mut buf, &key, &iv).unwrap();
            assert_eq!(buf, naive(&plain, &key, &iv, true), "{blocks} blocks");
            assert_eq!(naive(&buf, &key, &iv, false), plain, "{blocks} blocks");
            decrypt_in_place(&mut buf, &key, &iv).unwrap();
            assert_eq!(buf, plain, "{blocks} blocks");
        }
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

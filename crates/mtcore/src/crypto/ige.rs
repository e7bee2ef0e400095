//! AES-256 in Infinite Garble Extension mode, as MTProto uses it.
//!
//! With c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}, the 32-byte iv is c_{-1} ‖ p_{-1}
//! (the OpenSSL `AES_ige_encrypt` convention, which Telegram follows).
//! Both directions are sequential, so they work in place on one block at a time.
//!
//! Two implementations, picked per call: crypto/aes_ni.rs on x86-64 CPUs with AES-NI
//! (the chain in registers, at the CBC speed limit), and ige/portable.rs over the
//! `aes` crate everywhere else. The tests below hold the first to the second.

/// Public for the benchmarks (benches/crypto.rs prints AES-NI beside it).
pub mod portable;

#[cfg(target_arch = "x86_64")]
use super::aes_ni::AesNi;

/// The data length was not a multiple of the 16-byte block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnalignedLength(pub usize);

impl std::fmt::Display for UnalignedLength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "data length {} is not a multiple of 16", self.0)
    }
}

impl std::error::Error for UnalignedLength {}

fn whole_blocks(data: &mut [u8]) -> Result<&mut [[u8; 16]], UnalignedLength> {
    if !data.len().is_multiple_of(16) {
        return Err(UnalignedLength(data.len()));
    }
    Ok(data.as_chunks_mut::<16>().0)
}

/// Encrypts `data` in place with AES-256-IGE.
pub fn encrypt_in_place(
    data: &mut [u8],
    key: &[u8; 32],
    iv: &[u8; 32],
) -> Result<(), UnalignedLength> {
    let blocks = whole_blocks(data)?;
    #[cfg(target_arch = "x86_64")]
    if let Some(ni) = AesNi::detect() {
        ni.ige_encrypt(blocks, key, iv);
        return Ok(());
    }
    portable::encrypt(blocks, key, iv);
    Ok(())
}

/// Decrypts `data` in place with AES-256-IGE.
pub fn decrypt_in_place(
    data: &mut [u8],
    key: &[u8; 32],
    iv: &[u8; 32],
) -> Result<(), UnalignedLength> {
    let blocks = whole_blocks(data)?;
    #[cfg(target_arch = "x86_64")]
    if let Some(ni) = AesNi::detect() {
        ni.ige_decrypt(blocks, key, iv);
        return Ok(());
    }
    portable::decrypt(blocks, key, iv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes09::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
    use aes09::{Aes256Dec, Aes256Enc, Block};

    fn block(bytes: &[u8]) -> [u8; 16] {
        bytes.try_into().expect("16-byte chunk")
    }

    fn xor(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
        std::array::from_fn(|i| a[i] ^ b[i])
    }

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    struct Vector {
        key: [u8; 32],
        iv: [u8; 32],
        plain: Vec<u8>,
        cipher: Vec<u8>,
        name: String,
    }

    /// Every AES-256 vector of vectors/aes-ige.json (OpenSSL igetest.c,
    /// grammers-crypto, gramjs and the official auth-key sample).
    fn vectors() -> Vec<Vector> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/aes-ige.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("missing {path}: the vectors are kept in the repository's vectors/");
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let vectors: Vec<_> = json["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["key_bits"].as_u64() == Some(256))
            .map(|v| Vector {
                key: unhex(v["key"].as_str().unwrap()).try_into().unwrap(),
                iv: unhex(v["iv"].as_str().unwrap()).try_into().unwrap(),
                plain: unhex(v["plaintext"].as_str().unwrap()),
                cipher: unhex(v["ciphertext"].as_str().unwrap()),
                name: v["name"].to_string(),
            })
            .collect();
        assert!(
            vectors.len() >= 5,
            "only {} AES-256 vectors found",
            vectors.len()
        );
        vectors
    }

    #[test]
    fn shared_vectors_round_trip() {
        for Vector {
            key,
            iv,
            plain,
            cipher,
            name,
        } in vectors()
        {
            let mut buf = plain.clone();
            encrypt_in_place(&mut buf, &key, &iv).unwrap();
            assert_eq!(buf, cipher, "encrypt {name}");
            decrypt_in_place(&mut buf, &key, &iv).unwrap();
            assert_eq!(buf, plain, "decrypt {name}");
        }
    }

    /// The portable form on its own (the public functions take AES-NI where it exists).
    #[test]
    fn vectors_portable() {
        for Vector {
            key,
            iv,
            plain,
            cipher,
            name,
        } in vectors()
        {
            let mut buf = plain.clone();
            portable::encrypt(whole_blocks(&mut buf).unwrap(), &key, &iv);
            assert_eq!(buf, cipher, "encrypt {name}");
            portable::decrypt(whole_blocks(&mut buf).unwrap(), &key, &iv);
            assert_eq!(buf, plain, "decrypt {name}");
        }
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
        let mut next = byte_stream(0x2545_f491_4f6c_dd1d);
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

    /// xorshift64: a fixed, reproducible stream of test bytes.
    fn byte_stream(mut state: u64) -> impl FnMut() -> u8 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        }
    }

    /// AES-NI against the portable form: random keys, ivs and lengths (up to 1,100
    /// blocks, past every unrolling), both directions, in a larger buffer at every
    /// byte offset (loads and stores are unaligned) with the bytes around untouched.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn aes_ni_matches_portable() {
        let Some(ni) = AesNi::detect() else {
            eprintln!("this CPU has no AES-NI: only the portable form runs here");
            return;
        };
        let mut next = byte_stream(0x9e37_79b9_7f4a_7c15);
        let lengths = (0..40).chain([64, 255, 256, 1024, 1100]);
        for (round, blocks) in lengths.chain((0..60).map(|i| 3 * i + 7)).enumerate() {
            let key: [u8; 32] = std::array::from_fn(|_| next());
            let iv: [u8; 32] = std::array::from_fn(|_| next());
            let offset = round % 16;
            let around: Vec<u8> = (0..16 * blocks + 32).map(|_| next()).collect();
            let span = offset..offset + 16 * blocks;

            let mut ours = around.clone();
            ni.ige_encrypt(whole_blocks(&mut ours[span.clone()]).unwrap(), &key, &iv);
            let mut reference = around.clone();
            portable::encrypt(
                whole_blocks(&mut reference[span.clone()]).unwrap(),
                &key,
                &iv,
            );
            assert_eq!(ours, reference, "encrypt, {blocks} blocks at +{offset}");

            // Decrypt both the ciphertext (round trip) and the random bytes themselves.
            ni.ige_decrypt(whole_blocks(&mut ours[span.clone()]).unwrap(), &key, &iv);
            assert_eq!(ours, around, "round trip, {blocks} blocks at +{offset}");
            let mut reference = around.clone();
            portable::decrypt(
                whole_blocks(&mut reference[span.clone()]).unwrap(),
                &key,
                &iv,
            );
            ni.ige_decrypt(whole_blocks(&mut ours[span.clone()]).unwrap(), &key, &iv);
            assert_eq!(ours, reference, "decrypt, {blocks} blocks at +{offset}");
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

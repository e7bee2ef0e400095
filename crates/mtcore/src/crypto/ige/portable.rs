//! IGE over the RustCrypto `aes` crate: the form used where aes_ni.rs cannot run
//! (other CPUs, x86-64 without AES-NI), and the reference aes_ni.rs is tested against.
//!
//! `aes` picks its own hardware backend (AES-NI, ARMv8 AES) or a constant-time
//! software one at run time; through `encrypt_with_backend` the whole loop below is
//! compiled inside its `target_feature` function, so each block costs the AES rounds
//! and two XORs, with no per-block dispatch or call.

use aes09::cipher::consts::U16;
use aes09::cipher::{
    BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit,
};
use aes09::{Aes256Dec, Aes256Enc, Block};

#[inline(always)]
fn xor(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// The two halves of the iv: (c_{-1}, p_{-1}).
fn iv_halves(iv: &[u8; 32]) -> ([u8; 16], [u8; 16]) {
    let (c, p) = iv.split_at(16);
    (
        c.try_into().expect("16 bytes"),
        p.try_into().expect("16 bytes"),
    )
}

/// The IGE chain of one call, run inside the cipher's backend.
struct Ige<'a> {
    blocks: &'a mut [[u8; 16]],
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
        let Ige { blocks, iv } = self.0;
        let (mut prev_c, mut prev_p) = iv_halves(iv);
        for block in blocks {
            let plain = *block;
            let mut x = Block::from(xor(&plain, &prev_c));
            backend.encrypt_block((&mut x).into());
            prev_c = xor(&x.into(), &prev_p);
            *block = prev_c;
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
        let Ige { blocks, iv } = self.0;
        let (mut prev_c, mut prev_p) = iv_halves(iv);
        for block in blocks {
            let cipher = *block;
            let mut x = Block::from(xor(&cipher, &prev_p));
            backend.decrypt_block((&mut x).into());
            prev_p = xor(&x.into(), &prev_c);
            *block = prev_p;
            prev_c = cipher;
        }
    }
}

/// AES-256-IGE encryption of whole blocks in place.
pub fn encrypt(blocks: &mut [[u8; 16]], key: &[u8; 32], iv: &[u8; 32]) {
    // The encryption-only key schedule: half the setup of `Aes256`.
    Aes256Enc::new(key.into()).encrypt_with_backend(IgeEncrypt(Ige { blocks, iv }));
}

/// AES-256-IGE decryption of whole blocks in place.
pub fn decrypt(blocks: &mut [[u8; 16]], key: &[u8; 32], iv: &[u8; 32]) {
    Aes256Dec::new(key.into()).decrypt_with_backend(IgeDecrypt(Ige { blocks, iv }));
}

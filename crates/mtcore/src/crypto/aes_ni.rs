//! AES-256-IGE with the x86-64 AES-NI instructions, round keys and chain in registers.
//!
//! Why our own: both IGE directions are one sequential chain of AES calls, like CBC
//! encryption, so their speed limit is the latency of 14 AES rounds per block. Through
//! the `aes` crate's backend (ige/portable.rs) each block's state passes through byte
//! arrays and the two IGE XORs sit on the chain; on an AMD EPYC that ran at 0.71 of
//! `openssl speed -evp aes-256-cbc` at 16 KiB (issue #19). Here the chain stays in a
//! register, and the two XORs and the first round key are folded into the last round's
//! key, which does not depend on the chain: per block the chain is exactly the 14 AES
//! instructions (CBC's is those and one XOR). Measured on a Xeon (2026-12-07,
//! `cargo bench -p mtcore --bench crypto ige`): 16 KiB 1,130 MB/s against the portable
//! form's 1,040; 64 B (a new key each call) 82 ns against 97 encrypting, 97 against
//! 117 decrypting. bench/crypto.bench.ts prints the ratio to CBC.
//!
//! Only [`AesNi::detect`] makes an [`AesNi`], so its safe methods run only on a CPU
//! with AES-NI; elsewhere ige.rs uses the portable code. The key schedule is FIPS 197
//! §5.2 (AES-256: Nk = 8, 15 round keys) written with AESENCLAST, and decryption
//! uses the equivalent inverse cipher of §5.3.5 (AESIMC on the middle round keys).
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m128i, _mm_aesdec_si128, _mm_aesdeclast_si128, _mm_aesenc_si128, _mm_aesenclast_si128,
    _mm_aesimc_si128, _mm_loadu_si128, _mm_set1_epi32, _mm_setr_epi8, _mm_setzero_si128,
    _mm_shuffle_epi32, _mm_shuffle_epi8, _mm_slli_si128, _mm_storeu_si128, _mm_xor_si128,
};

/// Proof that this CPU executes AES-NI: made only by [`AesNi::detect`].
#[derive(Debug, Clone, Copy)]
pub struct AesNi(());

impl AesNi {
    /// `Some` when the CPU has AES-NI and SSSE3 (every AES-NI CPU has both; std caches
    /// the CPUID answer, so this is a load a call).
    #[inline]
    pub fn detect() -> Option<Self> {
        (std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("ssse3"))
            .then_some(AesNi(()))
    }

    /// AES-256-IGE encryption of whole blocks in place (ige.rs checks the length).
    #[inline]
    pub fn ige_encrypt(self, blocks: &mut [[u8; 16]], key: &[u8; 32], iv: &[u8; 32]) {
        // SAFETY: `self` exists only where AES-NI and SSSE3 were detected at run time.
        unsafe { ige_encrypt(blocks, key, iv) }
    }

    /// AES-256-IGE decryption of whole blocks in place.
    #[inline]
    pub fn ige_decrypt(self, blocks: &mut [[u8; 16]], key: &[u8; 32], iv: &[u8; 32]) {
        // SAFETY: as for `ige_encrypt`.
        unsafe { ige_decrypt(blocks, key, iv) }
    }
}

#[target_feature(enable = "aes,ssse3")]
#[inline]
fn load(bytes: &[u8; 16]) -> __m128i {
    // SAFETY: `bytes` is 16 readable bytes, and loadu needs no alignment (SSE2 is part
    // of x86-64).
    unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
}

#[target_feature(enable = "aes,ssse3")]
#[inline]
fn store(bytes: &mut [u8; 16], value: __m128i) {
    // SAFETY: `bytes` is 16 writable bytes, and storeu needs no alignment.
    unsafe { _mm_storeu_si128(bytes.as_mut_ptr().cast(), value) }
}

#[target_feature(enable = "aes,ssse3")]
#[inline]
fn xor(a: __m128i, b: __m128i) -> __m128i {
    _mm_xor_si128(a, b)
}

/// The running XOR of a round key's four words: w0, w0^w1, w0^w1^w2, w0^w1^w2^w3.
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn prefix_xor(k: __m128i) -> __m128i {
    let k = xor(k, _mm_slli_si128::<4>(k));
    xor(k, _mm_slli_si128::<8>(k))
}

/// Round key 2j from keys 2j-2 and 2j-1: its first word takes
/// SubWord(RotWord(w[i-1])) ^ Rcon. With one word in all four columns ShiftRows moves
/// nothing, so AESENCLAST is SubWord of each column XOR its key: RotWord is a byte
/// shuffle before it and Rcon the key. (AESKEYGENASSIST does the same with a longer
/// latency, and the 13 steps of the schedule are one chain.)
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn even_key(two_back: __m128i, one_back: __m128i, rcon: i32) -> __m128i {
    let rot_word_3 = _mm_setr_epi8(
        13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12,
    );
    let t = _mm_aesenclast_si128(_mm_shuffle_epi8(one_back, rot_word_3), _mm_set1_epi32(rcon));
    xor(prefix_xor(two_back), t)
}

/// Round key 2j+1: for Nk = 8 the word at i % 8 == 4 takes SubWord(w[i-1]).
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn odd_key(two_back: __m128i, one_back: __m128i) -> __m128i {
    let t = _mm_aesenclast_si128(_mm_shuffle_epi32::<0xff>(one_back), _mm_setzero_si128());
    xor(prefix_xor(two_back), t)
}

/// The 15 encryption round keys of an AES-256 key (FIPS 197 §5.2).
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn encryption_keys(key: &[u8; 32]) -> [__m128i; 15] {
    let (lo, hi) = key.split_at(16);
    let k0 = load(lo.try_into().expect("16 bytes"));
    let k1 = load(hi.try_into().expect("16 bytes"));
    let k2 = even_key(k0, k1, 0x01);
    let k3 = odd_key(k1, k2);
    let k4 = even_key(k2, k3, 0x02);
    let k5 = odd_key(k3, k4);
    let k6 = even_key(k4, k5, 0x04);
    let k7 = odd_key(k5, k6);
    let k8 = even_key(k6, k7, 0x08);
    let k9 = odd_key(k7, k8);
    let k10 = even_key(k8, k9, 0x10);
    let k11 = odd_key(k9, k10);
    let k12 = even_key(k10, k11, 0x20);
    let k13 = odd_key(k11, k12);
    let k14 = even_key(k12, k13, 0x40);
    [
        k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14,
    ]
}

/// The round keys of the equivalent inverse cipher (FIPS 197 §5.3.5): reversed, with
/// InvMixColumns applied to all but the first and last.
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn decryption_keys(key: &[u8; 32]) -> [__m128i; 15] {
    let e = encryption_keys(key);
    let mut d = e;
    d[0] = e[14];
    for i in 1..14 {
        d[i] = _mm_aesimc_si128(e[14 - i]);
    }
    d[14] = e[0];
    d
}

/// Rounds 1 to 13 of AES-256 encryption (round 0's XOR and round 14 are the caller's).
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn middle_encrypt(mut s: __m128i, k: &[__m128i; 15]) -> __m128i {
    for key in &k[1..14] {
        s = _mm_aesenc_si128(s, *key);
    }
    s
}

/// Rounds 1 to 13 of the inverse cipher.
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn middle_decrypt(mut s: __m128i, k: &[__m128i; 15]) -> __m128i {
    for key in &k[1..14] {
        s = _mm_aesdec_si128(s, *key);
    }
    s
}

/// The two halves of an IGE iv: (c_{-1}, p_{-1}) in the OpenSSL convention.
#[target_feature(enable = "aes,ssse3")]
#[inline]
fn iv_halves(iv: &[u8; 32]) -> (__m128i, __m128i) {
    let (first, second) = iv.split_at(16);
    (
        load(first.try_into().expect("16 bytes")),
        load(second.try_into().expect("16 bytes")),
    )
}

/// c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}.
///
/// The state entering block i+1's rounds is c_i ^ p_{i+1} ^ k0 = AESENCLAST(x, k14) ^
/// p_{i-1} ^ p_{i+1} ^ k0, so the last round takes k14 ^ k0 ^ p_{i-1} ^ p_{i+1} as its
/// key (ready before the chain gets there) and yields the next state directly;
/// c_i = that ^ p_{i+1} ^ k0 is written beside the chain.
#[target_feature(enable = "aes,ssse3")]
fn ige_encrypt(blocks: &mut [[u8; 16]], key: &[u8; 32], iv: &[u8; 32]) {
    let Some(last) = blocks.len().checked_sub(1) else {
        return;
    };
    let k = encryption_keys(key);
    let k14_k0 = xor(k[14], k[0]);
    let (c_prev, mut p_prev) = iv_halves(iv);
    let mut p = load(&blocks[0]);
    let mut state = xor(xor(p, c_prev), k[0]);
    for i in 0..last {
        let p_next = load(&blocks[i + 1]);
        let next_k0 = xor(p_next, k[0]);
        let fold = xor(xor(k14_k0, p_prev), p_next);
        state = _mm_aesenclast_si128(middle_encrypt(state, &k), fold);
        store(&mut blocks[i], xor(state, next_k0));
        p_prev = p;
        p = p_next;
    }
    let c = _mm_aesenclast_si128(middle_encrypt(state, &k), xor(k[14], p_prev));
    store(&mut blocks[last], c);
}

/// p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}: the same folding with the roles of p and c swapped.
#[target_feature(enable = "aes,ssse3")]
fn ige_decrypt(blocks: &mut [[u8; 16]], key: &[u8; 32], iv: &[u8; 32]) {
    let Some(last) = blocks.len().checked_sub(1) else {
        return;
    };
    let d = decryption_keys(key);
    let d14_d0 = xor(d[14], d[0]);
    let (mut c_prev, p_prev) = iv_halves(iv);
    let mut c = load(&blocks[0]);
    let mut state = xor(xor(c, p_prev), d[0]);
    for i in 0..last {
        let c_next = load(&blocks[i + 1]);
        let next_d0 = xor(c_next, d[0]);
        let fold = xor(xor(d14_d0, c_prev), c_next);
        state = _mm_aesdeclast_si128(middle_decrypt(state, &d), fold);
        store(&mut blocks[i], xor(state, next_d0));
        c_prev = c;
        c = c_next;
    }
    let p = _mm_aesdeclast_si128(middle_decrypt(state, &d), xor(d[14], c_prev));
    store(&mut blocks[last], p);
}

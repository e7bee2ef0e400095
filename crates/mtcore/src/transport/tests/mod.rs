//! Tests across the transport modules: the shared obfuscated2 vectors, round
//! trips of every configuration, garbage and mutations.

mod garbage;
mod roundtrip;
mod vectors;

use super::*;

/// A small deterministic generator (SplitMix64) so failures replay.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill_random(&mut v);
        v
    }
}

impl RandomSource for TestRng {
    fn fill_random(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

/// Splits `data` into random chunks (some empty, some single bytes).
pub fn random_chunks<'a>(rng: &mut TestRng, data: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = match rng.below(4) {
            0 => rng.below(2),
            1 => rng.below(16),
            2 => rng.below(300),
            _ => rng.below(rest.len() + 1),
        }
        .min(rest.len());
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

/// Pushes `data` in random chunks and collects every frame until the first error.
pub fn feed(
    codec: &mut Codec,
    rng: &mut TestRng,
    data: &[u8],
) -> (Vec<OwnedFrame>, Option<TransportError>) {
    let mut frames = Vec::new();
    for chunk in random_chunks(rng, data) {
        if let Err(e) = codec.push(chunk) {
            return (frames, Some(e));
        }
        loop {
            match codec.next_frame() {
                Ok(Some(f)) => frames.push(f.into()),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

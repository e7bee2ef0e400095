//! SHA-1 and SHA-256 over one or several byte strings.
//!
//! Thin helpers over RustCrypto's `sha1`/`sha2`, which use the SHA extensions
//! (SHA-NI, ARMv8 SHA2) when the CPU has them, detected once at run time.

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// SHA-1 of the concatenation of `parts`.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }

    // FIPS 180-2 appendix examples ("abc" and the 448-bit message) and the empty string.
    #[test]
    fn fips_examples() {
        assert_eq!(
            hex(&sha1(&[b"abc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&sha1(&[])), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha256(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha256(&[long])),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // Split anywhere, the digest is that of the concatenation.
        assert_eq!(sha256(&[&long[..5], &long[5..]]), sha256(&[long]));
        assert_eq!(sha1(&[&long[..17], &long[17..]]), sha1(&[long]));
    }

    // A long input (one million 'a', FIPS 180-2) crosses many blocks.
    #[test]
    fn million_a() {
        let data = vec![b'a'; 1_000_000];
        assert_eq!(
            hex(&sha1(&[&data])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
        assert_eq!(
            hex(&sha256(&[&data])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }
}

//! Primality tests for big numbers: Miller-Rabin, and the safe-prime test
//! that MTProto asks of an unknown DH prime (core.telegram.org/mtproto/
//! security_guidelines: "dh_prime ... is a safe prime, meaning that both
//! dh_prime and (dh_prime - 1) / 2 are prime").
//!
//! The numbers come from the server, which may be hostile, so the witnesses
//! must not be predictable before the number is chosen. Instead of asking the
//! caller for randomness, each witness is derived from SHA-256 of the number
//! itself (a Fiat-Shamir-style choice): a server grinding for a composite that
//! passes t rounds succeeds with probability at most 4^-t per candidate, and
//! each candidate costs it t modular exponentiations. The test stays
//! deterministic and sans-IO.

use super::prime64::is_prime_u64;
use super::{BigUint, Modulus};
use sha2::{Digest, Sha256};

/// Miller-Rabin rounds used for server-supplied numbers: error <= 2^-64.
pub const DEFAULT_ROUNDS: usize = 32;

/// Odd primes below 1000, for trial division.
const SMALL_PRIMES: [u64; 167] = odd_primes_below_1000();

const fn odd_primes_below_1000() -> [u64; 167] {
    let mut out = [0u64; 167];
    let mut count = 0;
    let mut n = 3u64;
    while n < 1000 {
        let mut d = 3;
        let mut prime = true;
        while d * d <= n {
            if n.is_multiple_of(d) {
                prime = false;
            }
            d += 2;
        }
        if prime {
            out[count] = n;
            count += 1;
        }
        n += 2;
    }
    out
}

/// Whether `n` is (probably) prime: exact up to 64 bits; above, trial
/// division then `rounds` Miller-Rabin rounds (base 2, then derived bases).
pub fn is_probable_prime(n: &BigUint, rounds: usize) -> bool {
    if n.bits() <= 64 {
        return is_prime_u64(n.limbs().first().copied().unwrap_or(0));
    }
    if !n.is_odd() || SMALL_PRIMES.iter().any(|&p| n.rem_u64(p) == 0) {
        return false;
    }
    miller_rabin(n, rounds.max(1))
}

/// Whether `p` is a safe prime: `p` and `(p - 1) / 2` both prime.
///
/// `q = (p - 1) / 2` gets the Miller-Rabin rounds; `p` is then proven prime
/// by Pocklington's criterion: with p - 1 = 2q, q prime and q > sqrt(p) - 1,
/// one a with a^(p-1) = 1 (mod p) and gcd(a^2 - 1, p) = 1 suffices. a = 2
/// needs gcd(3, p) = 1, which trial division has already shown.
pub fn is_safe_prime(p: &BigUint, rounds: usize) -> bool {
    if p.bits() <= 64 {
        let v = p.limbs().first().copied().unwrap_or(0);
        return v >= 5 && is_prime_u64(v) && is_prime_u64((v - 1) / 2);
    }
    if !p.is_odd() {
        return false;
    }
    // p = 0 (mod r) makes p composite; p = 1 (mod r) makes r divide q.
    if SMALL_PRIMES.iter().any(|&r| p.rem_u64(r) <= 1) {
        return false;
    }
    let q = p.shr(1);
    if !is_probable_prime(&q, rounds) {
        return false;
    }
    let m = Modulus::new(p).expect("odd modulus");
    let p_minus_1 = p.checked_sub_u64(1).expect("p > 1");
    m.pow(&BigUint::from_u64(2), &p_minus_1.to_be_bytes_minimal()) == BigUint::from_u64(1)
}

fn miller_rabin(n: &BigUint, rounds: usize) -> bool {
    let m = Modulus::new(n).expect("odd modulus");
    let n_minus_1 = n.checked_sub_u64(1).expect("n > 1");
    let s = n_minus_1.trailing_zeros();
    let d = n_minus_1.shr(s).to_be_bytes_minimal();
    let one = m.one();
    let minus_one = m.to_mont(&n_minus_1);
    'rounds: for round in 0..rounds {
        let a = if round == 0 {
            BigUint::from_u64(2)
        } else {
            derived_base(n, round)
        };
        let mut x = m.to_mont(&m.pow(&a, &d));
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = m.sqr(&x);
            if x == minus_one {
                continue 'rounds;
            }
            if x == one {
                return false;
            }
        }
        return false;
    }
    true
}

/// Witness number `round` for `n`: 2 + (SHA-256 stream of n and round) mod (n - 3).
fn derived_base(n: &BigUint, round: usize) -> BigUint {
    let nb = n.to_be_bytes_minimal();
    let want = (nb.len() + 16).min(super::MAX_BITS / 8);
    let mut stream = Vec::with_capacity(want + 32);
    let mut block = 0u32;
    while stream.len() < want {
        let mut h = Sha256::new();
        h.update(b"mtcore miller-rabin witness");
        h.update(&nb);
        h.update((round as u64).to_be_bytes());
        h.update(block.to_be_bytes());
        stream.extend_from_slice(&h.finalize());
        block += 1;
    }
    stream.truncate(want);
    let range = n.checked_sub_u64(3).expect("n > 64 bits");
    let r = BigUint::from_be_bytes(&stream)
        .expect("fits 4096 bits")
        .rem(&range)
        .expect("nonzero range");
    r.checked_add(&BigUint::from_u64(2)).expect("below n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_hex(s: &str) -> BigUint {
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        BigUint::from_be_bytes(&bytes).unwrap()
    }

    // RFC 3526 group 14: a 2048-bit safe prime.
    const RFC3526_2048: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

    #[test]
    fn small_primes_table() {
        assert_eq!(SMALL_PRIMES[0], 3);
        assert_eq!(SMALL_PRIMES[166], 997);
    }

    #[test]
    fn known_big_primes_and_composites() {
        let p = from_hex(RFC3526_2048);
        assert!(is_probable_prime(&p, 4));
        assert!(is_safe_prime(&p, 4));
        // 2^127 - 1 is prime; 2^128 + 1 = 59649589127497217 · 5704689200685129054721.
        let m127 = BigUint::pow2(127).unwrap().checked_sub_u64(1).unwrap();
        assert!(is_probable_prime(&m127, 8));
        let f7 = BigUint::pow2(128)
            .unwrap()
            .checked_add(&BigUint::from_u64(1))
            .unwrap();
        assert!(!is_probable_prime(&f7, 8));
        // p·q with p, q the 2048-bit prime's neighbours would be too big; use p + 2.
        let p2 = p.checked_add(&BigUint::from_u64(2)).unwrap();
        assert!(!is_safe_prime(&p2, 4));
        // 2^127 - 1 is prime but (2^127 - 2)/2 = 2^126 - 1 is not: not safe.
        assert!(!is_safe_prime(&m127, 8));
    }

    #[test]
    fn carmichael_numbers_are_rejected() {
        // 3825123056546413051 passes bases 2..=23 (fits u64: the exact path).
        assert!(!is_probable_prime(
            &BigUint::from_u64(3825123056546413051),
            32
        ));
        // (6k+1)(12k+1)(18k+1) with k = 1000000000012481, all three prime
        // (checked with sympy): a 160-bit Carmichael number, which passes
        // Fermat's test to base 2 but not Miller-Rabin.
        let n = from_hex("e302a660ce8ba2976c53db8a89096d167249d7c1");
        let n_minus_1 = n.checked_sub_u64(1).unwrap().to_be_bytes_minimal();
        let fermat = Modulus::new(&n)
            .unwrap()
            .pow(&BigUint::from_u64(2), &n_minus_1);
        assert_eq!(fermat, BigUint::from_u64(1));
        assert!(!is_probable_prime(&n, 32));
    }

    #[test]
    fn safe_primes_agree_with_small_cases() {
        for v in 0u64..2000 {
            let want = v >= 5 && is_prime_u64(v) && is_prime_u64((v - 1) / 2);
            assert_eq!(is_safe_prime(&BigUint::from_u64(v), 4), want, "{v}");
        }
    }

    #[test]
    fn witnesses_lie_in_range_and_differ() {
        let n = from_hex(RFC3526_2048);
        let a1 = derived_base(&n, 1);
        let a2 = derived_base(&n, 2);
        assert!(a1 != a2);
        assert!(a1 >= BigUint::from_u64(2) && a1 < n);
    }
}

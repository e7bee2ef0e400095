//! Whether a dh_prime is a safe prime (core.telegram.org/mtproto/
//! security_guidelines: "dh_prime ... is a safe prime, meaning that both
//! dh_prime and (dh_prime - 1) / 2 are prime"), remembered per prime.
//!
//! (Telegram's own prime is recognized by comparison in dh.rs and never gets
//! here.) A prime is tested with crypto-primes: the Baillie-PSW test in its strengthened form (Baillie,
//! Fiori, Wagstaff, Math. Comp. 90, 2021) on p and on (p - 1) / 2. It needs
//! no randomness, which keeps this sans-IO, and is the choice that Albrecht
//! et al. recommend against adversarially chosen numbers ("Prime and
//! Prejudice", CCS 2018): no composite is known to pass it. A 2048-bit prime
//! takes tens of milliseconds, so the verdict is kept in a small process-wide
//! table: a server that keeps sending the same non-Telegram prime costs one
//! test, not one per key exchange. Callers with an event loop run the first
//! test off it (the napi `testDhPrime` task).

use crate::bignum::encoding::{number, significant};
use crypto_primes::{is_prime, Flavor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Verdicts kept: a server uses one prime; this bounds what many hostile
/// servers (each sending primes of their own) can make us hold.
const KEPT: usize = 32;

/// (minimal big-endian prime, is safe), most recently used last.
static VERDICTS: Mutex<Vec<(Vec<u8>, bool)>> = Mutex::new(Vec::new());

/// Full tests run in this process.
static TESTS: AtomicU64 = AtomicU64::new(0);

/// The remembered verdict on `p` (big-endian), if any.
pub fn known_verdict(p: &[u8]) -> Option<bool> {
    let key = significant(p);
    let mut verdicts = VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    let at = verdicts.iter().position(|(prime, _)| prime == key)?;
    let hit = verdicts.remove(at);
    let safe = hit.1;
    verdicts.push(hit);
    Some(safe)
}

/// Whether `p` (big-endian) is a safe prime: the remembered verdict, or a
/// test whose verdict is then remembered.
pub fn is_safe_prime(p: &[u8]) -> bool {
    if let Some(safe) = known_verdict(p) {
        return safe;
    }
    let safe = test(p);
    let mut verdicts = VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    let key = significant(p);
    // Two threads may have tested the same prime at once: keep one entry.
    if !verdicts.iter().any(|(prime, _)| prime == key) {
        if verdicts.len() >= KEPT {
            verdicts.remove(0);
        }
        verdicts.push((key.to_vec(), safe));
    }
    safe
}

/// How many full safe-prime tests this process has run (each takes tens of
/// milliseconds; lookups are not counted).
pub fn tests_run() -> u64 {
    TESTS.load(Ordering::Relaxed)
}

fn test(p: &[u8]) -> bool {
    TESTS.fetch_add(1, Ordering::Relaxed);
    match number(p) {
        Ok(n) => is_prime(Flavor::Safe, &n),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bignum::prime64::is_prime_u64;
    use crate::crypto::dh::TELEGRAM_DH_PRIME;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // RFC 3526 group 14: a 2048-bit safe prime.
    const RFC3526_2048: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

    #[test]
    fn known_primes_and_composites() {
        // dh.rs knows Telegram's prime by comparison; the test must agree.
        assert!(test(&TELEGRAM_DH_PRIME));
        assert!(test(&unhex(RFC3526_2048)));
        // p + 2 is not prime; 2^127 - 1 is prime but 2^126 - 1 is not.
        let mut p2 = unhex(RFC3526_2048);
        p2[255] = p2[255].wrapping_add(2);
        assert!(!test(&p2));
        let m127 = (u128::MAX >> 1).to_be_bytes();
        assert!(!test(&m127));
    }

    #[test]
    fn small_safe_primes_agree_with_the_64_bit_test() {
        for v in 0u64..2000 {
            let want = v >= 5 && is_prime_u64(v) && is_prime_u64((v - 1) / 2);
            assert_eq!(test(&v.to_be_bytes()), want, "{v}");
        }
    }

    #[test]
    fn verdicts_are_remembered_and_bounded() {
        // Distinct small odd numbers: each tested once, then looked up.
        let primes: Vec<Vec<u8>> = (0..KEPT as u64 + 5)
            .map(|i| (1_000_003 + 2 * i).to_be_bytes().to_vec())
            .collect();
        let before = tests_run();
        for p in &primes {
            is_safe_prime(p);
        }
        assert!(tests_run() >= before + primes.len() as u64);
        // The last KEPT are known (other tests may add entries meanwhile, so
        // check a recent one), and a lookup is not a test.
        let last = primes.last().unwrap();
        assert!(known_verdict(last).is_some());
        assert!(VERDICTS.lock().unwrap().len() <= KEPT);
        let mut padded = vec![0u8; 3];
        padded.extend_from_slice(last);
        assert_eq!(known_verdict(&padded), known_verdict(last));
    }
}

//! Factorization of the handshake's `pq` (core.telegram.org/mtproto/auth_key,
//! step 2: "pq is a representation of a natural number (in binary big endian
//! format). This number is the product of two different odd prime numbers.")
//!
//! Pollard's rho with Brent's cycle search and batched gcds (R. P. Brent, "An
//! improved Monte Carlo factorization algorithm", BIT 20, 1980), in 64-bit
//! Montgomery arithmetic. A pq that is not a product of two different odd
//! primes is rejected: the client must not answer a server that sends one.

use super::prime64::{is_prime_u64, Mont64};

/// Errors of the pq factorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PqError {
    /// `pq` is not a product of exactly two primes (0, 1, a prime, or a
    /// number with three or more prime factors).
    NotSemiprime { pq: u64 },
    /// Pollard-Brent found no factor with any of its sequence constants
    /// (not expected for a composite input; a guard against endless loops).
    NoFactorFound { pq: u64 },
    /// `pq` is 2 times a prime: the spec's factors are odd.
    EvenFactor { pq: u64 },
    /// `pq` is the square of a prime: the spec's factors are different.
    EqualFactors { pq: u64 },
}

impl std::fmt::Display for PqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PqError::NotSemiprime { pq } => write!(f, "pq {pq} is not a product of two primes"),
            PqError::NoFactorFound { pq } => write!(f, "no factor of pq {pq} found"),
            PqError::EvenFactor { pq } => write!(f, "pq {pq} has the even factor 2"),
            PqError::EqualFactors { pq } => write!(f, "pq {pq} is the square of a prime"),
        }
    }
}

impl std::error::Error for PqError {}

/// Splits `pq` into two different odd primes `(p, q)` with `p < q`.
pub fn factorize_pq(pq: u64) -> Result<(u64, u64), PqError> {
    let not_semiprime = PqError::NotSemiprime { pq };
    if pq < 4 || is_prime_u64(pq) {
        return Err(not_semiprime);
    }
    let d = if pq.is_multiple_of(2) {
        2
    } else {
        let s = pq.isqrt();
        if s * s == pq {
            s
        } else {
            find_factor(pq)?
        }
    };
    let (p, q) = (d.min(pq / d), d.max(pq / d));
    if !is_prime_u64(p) || !is_prime_u64(q) {
        Err(not_semiprime)
    } else if p == 2 {
        Err(PqError::EvenFactor { pq })
    } else if p == q {
        Err(PqError::EqualFactors { pq })
    } else {
        Ok((p, q))
    }
}

/// How many products of |x - y| are accumulated before each gcd.
const BATCH: usize = 256;

/// Independent rho sequences run side by side (different constants c). One
/// sequence is bound by the latency of its chain of dependent multiplications;
/// several fill the multipliers' idle cycles, and the first of L random walks
/// to close its cycle does so about sqrt(L) times sooner than a single walk.
/// Measured on 63-bit pq (Zen 5): median ~300 us with 1 lane, 265 with 2,
/// ~200 with 3, ~165 with 4, ~185 with 5 (throughput-bound from 4 on).
const LANES: usize = 4;

/// A nontrivial factor of an odd composite `n` that is not a perfect square.
fn find_factor(n: u64) -> Result<u64, PqError> {
    let m = Mont64::new(n);
    // Constants 1, 2, 3...: deterministic. A run fails only when a sequence
    // closes its cycle modulo n and modulo the factor at once, which is rare.
    for attempt in 0..32u64 {
        let cs: [u64; LANES] = std::array::from_fn(|l| attempt * LANES as u64 + l as u64 + 1);
        if let Some(d) = brent(&m, n, cs) {
            return Ok(d);
        }
    }
    Err(PqError::NoFactorFound { pq: n })
}

/// The rho map f(y) = (y^2 + c)/R (mod n), R = 2^64: a quadratic polynomial
/// modulo each prime factor (R is invertible), which is all rho needs, and
/// one Montgomery reduction with no modular addition after it.
#[inline(always)]
fn step(m: &Mont64, y: u64, c: u64) -> u64 {
    m.sqr_plus(y, c)
}

/// Brent's cycle search over `LANES` sequences at once; the factor found, or
/// `None` when a sequence closed its cycle modulo n itself.
fn brent(m: &Mont64, n: u64, cs: [u64; LANES]) -> Option<u64> {
    let mut y = [m.to_mont(2); LANES];
    let mut q = [m.to_mont(1); LANES];
    let mut r = 1usize;
    while r <= 1 << 26 {
        let x = y;
        for _ in 0..r {
            for l in 0..LANES {
                y[l] = step(m, y[l], cs[l]);
            }
        }
        let mut k = 0;
        while k < r {
            let ys = y;
            let steps = BATCH.min(r - k);
            for _ in 0..steps {
                for l in 0..LANES {
                    y[l] = step(m, y[l], cs[l]);
                    // q < n and any 64-bit factor keep mul's result in range.
                    q[l] = m.mul(q[l], x[l].abs_diff(y[l]));
                }
            }
            for l in 0..LANES {
                if gcd(q[l], n) != 1 {
                    // The batch overshot (or q hit 0): replay it in short runs,
                    // then step by step inside the run that shares a factor.
                    return retrace(m, n, x[l], ys[l], cs[l], steps);
                }
            }
            k += steps;
        }
        r *= 2;
    }
    None
}

/// Replays `steps` steps of a lane from `y` and finds the first |x - y| that
/// shares a factor with n; `None` if that is n itself (the run failed).
fn retrace(m: &Mont64, n: u64, x: u64, mut y: u64, c: u64, steps: usize) -> Option<u64> {
    const RUN: usize = 16;
    let mut done = 0;
    while done < steps {
        let run = RUN.min(steps - done);
        let start = y;
        let mut q = m.to_mont(1);
        for _ in 0..run {
            y = step(m, y, c);
            q = m.mul(q, x.abs_diff(y));
        }
        if gcd(q, n) != 1 {
            let mut y = start;
            for _ in 0..run {
                y = step(m, y, c);
                let g = gcd(x.abs_diff(y), n);
                if g != 1 {
                    return (g != n).then_some(g);
                }
            }
        }
        done += run;
    }
    None
}

/// Binary gcd; `gcd(0, n) = n`.
fn gcd(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // pq = p·q cases from vectors/pq.json (sources: the official
    // sample page, grammers, mtcute, tdlib tdutils/test/pq.cpp, tweb).
    const VECTORS: [(u64, u64, u64); 17] = [
        (1514134277173997537, 1054028803, 1436520779),
        (1468428376148703121, 1008949199, 1455403679),
        (1372318559046200203, 1141464581, 1202243663),
        (1724114033281923457, 1229739323, 1402015859),
        (1512271926327123781, 1229741209, 1229748109),
        (1470626929934143021, 1206429347, 1218991343),
        (2363612107535801713, 1518968219, 1556064227),
        (2804275833720261793, 1555252417, 1803100129),
        (2090522174869285481, 1112973847, 1878321023),
        (2151485857115995003, 1455308411, 1478371073),
        (1483125229447899461, 1000717891, 1482061271),
        (1655207937115841569, 1272386663, 1300868663),
        (1056710243275307827, 1004505961, 1051970107),
        (15, 3, 5),
        (32193202156827203, 179424611, 179424673),
        (21, 3, 7),
        (18442450077884059639, 4294467311, 4294467449), // pq >= 2^63
    ];

    #[test]
    fn shared_vectors() {
        for (pq, p, q) in VECTORS {
            assert_eq!(factorize_pq(pq), Ok((p, q)), "pq {pq}");
        }
    }

    #[test]
    fn tdlib_generated_server_cases() {
        // tdlib's generated_server test: products of the first primes at or
        // above i·10^8 for i = 10..19 (see pq.json's note).
        let primes: Vec<u64> = (10..20u64)
            .map(|i| (i * 100_000_000..).find(|&x| is_prime_u64(x)).unwrap())
            .collect();
        for (a, &p) in primes.iter().enumerate() {
            // p = q is a square, which the spec's "two different primes" rules out.
            assert_eq!(
                factorize_pq(p * p),
                Err(PqError::EqualFactors { pq: p * p })
            );
            for &q in &primes[a + 1..] {
                assert_eq!(factorize_pq(p * q), Ok((p, q)));
            }
        }
    }

    #[test]
    fn rejects_what_is_not_two_primes() {
        for pq in [
            0u64,
            1,
            2,
            3,
            7,
            1_000_000_007,
            18_446_744_073_709_551_557,
            8,
            27,
            30,
        ] {
            assert_eq!(factorize_pq(pq), Err(PqError::NotSemiprime { pq }), "{pq}");
        }
        // Three prime factors of about 21 bits each.
        let pq = 2_097_143u64 * 2_097_131 * 2_097_133;
        assert_eq!(factorize_pq(pq), Err(PqError::NotSemiprime { pq }));
    }

    #[test]
    fn small_factors_and_squares() {
        // Two different odd primes, however unbalanced, pass.
        assert_eq!(
            factorize_pq(3 * 6_148_914_691_236_517_199),
            Ok((3, 6_148_914_691_236_517_199))
        );
        // 2 * prime and prime^2 are semiprimes the spec rules out.
        for pq in [4u64, 6, 2 * 4_294_967_291, 2 * 9_223_372_036_854_775_783] {
            assert_eq!(factorize_pq(pq), Err(PqError::EvenFactor { pq }), "{pq}");
        }
        for pq in [
            9u64,
            25,
            4_294_967_291 * 4_294_967_291,
            1_000_000_007 * 1_000_000_007,
        ] {
            assert_eq!(factorize_pq(pq), Err(PqError::EqualFactors { pq }), "{pq}");
        }
        // p = 1 leaves a prime pq, and 2 * composite is no semiprime.
        assert_eq!(
            factorize_pq(4_294_967_291),
            Err(PqError::NotSemiprime { pq: 4_294_967_291 })
        );
        assert_eq!(factorize_pq(2 * 15), Err(PqError::NotSemiprime { pq: 30 }));
    }

    #[test]
    fn gcd_cases() {
        assert_eq!(gcd(0, 9), 9);
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(17, 5), 1);
        assert_eq!(gcd(1 << 40, 1 << 20), 1 << 20);
    }
}

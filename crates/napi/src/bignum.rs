//! JS binding of mtcore::bignum and the RSA and DH constructions on it.
//!
//! Big numbers cross as big-endian Buffers; `pq` and fingerprints as bigint.
//! Randomness for RSA comes from the OS here, at the edge.

use crate::errors::{coded, JsError};
use mtcore::bignum::{self, pq::PqError, BignumError};
use mtcore::crypto::dh::{self, DhError};
use mtcore::crypto::dh_group::DhGroup;
use mtcore::crypto::rsa::{self, RsaError};
use mtcore::crypto::safe_prime;
use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

fn bignum_error(e: BignumError) -> JsError {
    let code = match e {
        BignumError::TooLarge { .. } => "ERR_BIGNUM_TOO_LARGE",
        BignumError::ZeroModulus => "ERR_BIGNUM_ZERO_MODULUS",
        BignumError::EvenModulus => "ERR_BIGNUM_EVEN_MODULUS",
        BignumError::OutputTooShort { .. } => "ERR_BIGNUM_OUTPUT_TOO_SHORT",
    };
    coded(code, e)
}

fn dh_error(e: DhError) -> JsError {
    let code = match e {
        DhError::PrimeSize { .. } => "ERR_DH_PRIME_SIZE",
        DhError::PrimeNotSafe => "ERR_DH_PRIME_NOT_SAFE",
        DhError::BadG { .. } => "ERR_DH_BAD_G",
        DhError::GResidue { .. } => "ERR_DH_G_RESIDUE",
        DhError::GaRange(_) => "ERR_DH_GA_RANGE",
        DhError::ValueRange(_) => "ERR_DH_VALUE_RANGE",
    };
    coded(code, e)
}

fn rsa_error(e: RsaError) -> JsError {
    let code = match e {
        RsaError::ModulusSize { .. } => "ERR_RSA_MODULUS_SIZE",
        RsaError::EvenModulus => "ERR_RSA_EVEN_MODULUS",
        RsaError::Number(_) => "ERR_RSA_NUMBER",
        RsaError::DataTooLong { .. } => "ERR_RSA_DATA_TOO_LONG",
        RsaError::CiphertextRange => "ERR_RSA_CIPHERTEXT_RANGE",
        RsaError::PadHash => "ERR_RSA_PAD_HASH",
        RsaError::LegacyFormat => "ERR_RSA_LEGACY_FORMAT",
        RsaError::LegacyHash => "ERR_RSA_LEGACY_HASH",
        RsaError::RetryLimit { .. } => "ERR_RSA_RETRY_LIMIT",
    };
    coded(code, e)
}

/// Runs `f` with an OS random source; a failing source becomes ERR_RANDOM.
fn with_os_random<T>(
    f: impl FnOnce(&mut dyn FnMut(&mut [u8])) -> Result<T, JsError>,
) -> Result<T, JsError> {
    let mut failure = None;
    let result = f(&mut |buf: &mut [u8]| {
        if let Err(e) = getrandom::fill(buf) {
            failure = Some(e);
        }
    });
    match failure {
        Some(e) => Err(coded("ERR_RANDOM", e)),
        None => result,
    }
}

/// `base^exp mod modulus` for numbers up to 4096 bits, as big-endian bytes
/// left-padded to the modulus's byte length (its minimal length). Odd moduli
/// use constant-time Montgomery exponentiation (safe for secret exponents);
/// an even modulus falls back to a slower variable-time method. A zero
/// modulus throws ERR_BIGNUM_ZERO_MODULUS.
#[napi]
pub fn mod_pow(base: Buffer, exp: Buffer, modulus: Buffer) -> Result<Buffer, JsError> {
    bignum::mod_pow_be(&base, &exp, &modulus)
        .map(Buffer::from)
        .map_err(bignum_error)
}

/// `g^b mod dhPrime`, equal to `modPow(Buffer.of(g), b, dhPrime)` (same
/// padding), for a secret `b`: constant-time, through a fixed-base table per
/// (g, dhPrime) that the first call builds (about one modPow) and later calls
/// reuse, so g^b costs about a quarter of modPow. An even or zero dhPrime
/// throws ERR_BIGNUM_EVEN_MODULUS / ERR_BIGNUM_ZERO_MODULUS.
#[napi]
pub fn dh_public(g: u32, dh_prime: Buffer, b: Buffer) -> Result<Buffer, JsError> {
    let group = DhGroup::shared(g, &dh_prime).map_err(bignum_error)?;
    Ok(Buffer::from(group.pow(&b)))
}

/// Checks server_DH_inner_data's dh_prime, g and g_a (MTProto security
/// guidelines); throws with a code naming the failed check:
/// ERR_DH_PRIME_SIZE, ERR_DH_BAD_G, ERR_DH_G_RESIDUE, ERR_DH_GA_RANGE,
/// ERR_DH_PRIME_NOT_SAFE. The known Telegram prime is accepted by comparison;
/// another costs a safe-prime test (tens of milliseconds) the first time this
/// process meets it, and a lookup after that.
#[napi]
pub fn check_dh_params(dh_prime: Buffer, g: f64, g_a: Buffer) -> Result<(), JsError> {
    dh::check_dh_params(&dh_prime, g_of(g)?, &g_a).map_err(dh_error)
}

/// `checkDhParams` without running a safe-prime test on this thread: true
/// when every check passed; false when every check but that test passed and
/// the test has not run in this process yet (run `testDhPrime`, then
/// `checkDhParams`, which finds its verdict). Throws like `checkDhParams`.
#[napi]
pub fn check_dh_params_known(dh_prime: Buffer, g: f64, g_a: Buffer) -> Result<bool, JsError> {
    dh::check_dh_params_known(&dh_prime, g_of(g)?, &g_a).map_err(dh_error)
}

fn g_of(g: f64) -> Result<u32, JsError> {
    if g.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&g) {
        Ok(g as u32)
    } else {
        Err(coded("ERR_DH_BAD_G", format!("g = {g} is outside 2..7")))
    }
}

/// The safe-prime test of a dh_prime on the libuv pool.
pub struct DhPrimeTask {
    dh_prime: Vec<u8>,
}

impl Task for DhPrimeTask {
    type Output = bool;
    type JsValue = bool;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(dh::check_safe_prime(&self.dh_prime).is_ok())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

/// Whether `dhPrime` is a 2048-bit safe prime, tested off the main thread
/// (tens of milliseconds the first time this process meets the prime; the
/// verdict is kept, so `checkDhParams` with it is then a lookup).
#[napi(ts_return_type = "Promise<boolean>")]
pub fn test_dh_prime(dh_prime: Buffer) -> AsyncTask<DhPrimeTask> {
    AsyncTask::new(DhPrimeTask {
        dh_prime: dh_prime.to_vec(),
    })
}

/// How many safe-prime tests this process has run (lookups of a kept verdict
/// and Telegram's own prime do not count).
#[napi]
pub fn dh_prime_tests() -> f64 {
    safe_prime::tests_run() as f64
}

/// Range checks of a DH value (g_a or g_b): 1 < x < p - 1 and
/// 2^(2048-64) <= x <= p - 2^(2048-64); throws ERR_DH_VALUE_RANGE (or
/// ERR_DH_PRIME_SIZE when dh_prime is not 2048-bit).
#[napi]
pub fn check_dh_value(value: Buffer, dh_prime: Buffer) -> Result<(), JsError> {
    dh::check_dh_value(&value, &dh_prime).map_err(dh_error)
}

/// Splits the handshake's pq (below 2^64) into two different odd primes
/// [p, q] with p < q (core.telegram.org/mtproto/auth_key, step 2). Throws
/// ERR_PQ_NOT_SEMIPRIME when pq is not a product of two primes (0, 1, a
/// prime, three factors...), ERR_PQ_EVEN_FACTOR for 2 * prime,
/// ERR_PQ_EQUAL_FACTORS for prime^2, ERR_PQ_RANGE when it is negative or does
/// not fit 64 bits.
#[napi(ts_return_type = "[bigint, bigint]")]
pub fn factorize_pq(pq: BigInt) -> Result<(BigInt, BigInt), JsError> {
    let fits = !pq.sign_bit && pq.words.iter().skip(1).all(|&w| w == 0);
    if !fits {
        return Err(coded("ERR_PQ_RANGE", "pq must be in 0..2^64"));
    }
    match bignum::pq::factorize_pq(pq.words[0]) {
        Ok((p, q)) => Ok((BigInt::from(p), BigInt::from(q))),
        Err(e @ PqError::NotSemiprime { .. }) => Err(coded("ERR_PQ_NOT_SEMIPRIME", e)),
        Err(e @ PqError::NoFactorFound { .. }) => Err(coded("ERR_PQ_NO_FACTOR", e)),
        Err(e @ PqError::EvenFactor { .. }) => Err(coded("ERR_PQ_EVEN_FACTOR", e)),
        Err(e @ PqError::EqualFactors { .. }) => Err(coded("ERR_PQ_EQUAL_FACTORS", e)),
    }
}

/// MTProto 2.0 RSA_PAD of up to 144 bytes for a 2048-bit key: 256 bytes.
#[napi]
pub fn rsa_pad_encrypt(data: Buffer, modulus: Buffer, exponent: Buffer) -> Result<Buffer, JsError> {
    with_os_random(|random| {
        rsa::pad_encrypt(&data, &modulus, &exponent, random)
            .map(|b| Buffer::from(b.to_vec()))
            .map_err(rsa_error)
    })
}

/// The legacy scheme: SHA1(data) + data (up to 235 bytes) + random padding
/// to 255 bytes, raised to e: 256 bytes.
#[napi]
pub fn rsa_legacy_encrypt(
    data: Buffer,
    modulus: Buffer,
    exponent: Buffer,
) -> Result<Buffer, JsError> {
    with_os_random(|random| {
        rsa::legacy_encrypt(&data, &modulus, &exponent, random)
            .map(|b| Buffer::from(b.to_vec()))
            .map_err(rsa_error)
    })
}

/// The key fingerprint as a signed 64-bit bigint (the TL `long` of resPQ's
/// server_public_key_fingerprints): the low 64 bits of SHA1 of the TL
/// rsa_public_key n:bytes e:bytes, read little-endian.
#[napi]
pub fn rsa_fingerprint(modulus: Buffer, exponent: Buffer) -> BigInt {
    BigInt::from(rsa::fingerprint(&modulus, &exponent))
}

/// Server side of RSA_PAD: the 192-byte data_with_padding (data followed by
/// its random padding; the caller parses the TL inside). Throws
/// ERR_RSA_PAD_HASH when the hash does not match, ERR_RSA_CIPHERTEXT_RANGE
/// when the ciphertext is not below the modulus.
#[napi]
pub fn rsa_pad_decrypt(
    encrypted: Buffer,
    modulus: Buffer,
    private_exponent: Buffer,
) -> Result<Buffer, JsError> {
    rsa::pad_decrypt(&encrypted, &modulus, &private_exponent)
        .map(|b| Buffer::from(b.to_vec()))
        .map_err(rsa_error)
}

/// Server side of the legacy scheme: the original data, whose length is the
/// one prefix of the payload matching the SHA1. Throws ERR_RSA_LEGACY_HASH
/// when none does, ERR_RSA_LEGACY_FORMAT when the block's top byte is set.
#[napi]
pub fn rsa_legacy_decrypt(
    encrypted: Buffer,
    modulus: Buffer,
    private_exponent: Buffer,
) -> Result<Buffer, JsError> {
    rsa::legacy_decrypt(&encrypted, &modulus, &private_exponent)
        .map(Buffer::from)
        .map_err(rsa_error)
}

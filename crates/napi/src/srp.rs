//! JS binding of mtcore::crypto::srp: the 2FA password check (api/srp).
//!
//! The client's `a` comes from the per-thread generator of `random.rs` unless
//! the caller passes one (tests). Passwords are Buffers or strings (UTF-8).
//! The PBKDF2 step (100,000 rounds of HMAC-SHA512) runs off the main thread
//! in `srpPasswordHash`; `srpComputeCheck` accepts its result as `x`.

use crate::errors::{coded, JsError};
use crate::random::with_random;
use mtcore::crypto::srp::{self, SrpError};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either};
use napi::{Env, Task};
use napi_derive::napi;

fn srp_error(e: SrpError) -> JsError {
    let code = match e {
        SrpError::BadP(_) => "ERR_SRP_BAD_P",
        SrpError::BadG(_) => "ERR_SRP_BAD_G",
        SrpError::BadB(_) => "ERR_SRP_BAD_B",
        SrpError::BadA(_) => "ERR_SRP_BAD_A",
        SrpError::UZero => "ERR_SRP_U_ZERO",
        SrpError::TooLong { .. } => "ERR_SRP_TOO_LONG",
    };
    coded(code, e)
}

fn password_bytes(password: &Either<Buffer, String>) -> &[u8] {
    match password {
        Either::A(b) => b,
        Either::B(s) => s.as_bytes(),
    }
}

fn x_of(x: &[u8]) -> Result<[u8; 32], JsError> {
    x.try_into().map_err(|_| {
        coded(
            "ERR_SRP_ARGS",
            format!("x has {} bytes, expected 32", x.len()),
        )
    })
}

/// account.password's SRP parameters with the password (or its hash `x`).
#[napi(object, object_to_js = false)]
pub struct SrpCheckInput {
    /// The password; or pass `x` from `srpPasswordHash` instead.
    #[napi(ts_type = "Buffer | string")]
    pub password: Option<Either<Buffer, String>>,
    /// `srpPasswordHash(password, salt1, salt2)`, 32 bytes.
    pub x: Option<Buffer>,
    /// current_algo.salt1.
    pub salt1: Buffer,
    /// current_algo.salt2.
    pub salt2: Buffer,
    /// current_algo.g.
    pub g: u32,
    /// current_algo.p (2048 bits).
    pub p: Buffer,
    /// account.password's srp_B.
    #[napi(js_name = "srpB")]
    pub srp_b: Buffer,
    /// The secret 2048-bit `a` (up to 256 bytes); drawn at random when absent.
    pub a: Option<Buffer>,
}

/// inputCheckPasswordSRP's A (256 bytes) and M1 (32 bytes).
#[napi(object, object_from_js = false)]
pub struct SrpCheckResult {
    #[napi(js_name = "A")]
    pub a: Buffer,
    #[napi(js_name = "M1")]
    pub m1: Buffer,
}

/// The client's SRP answer for auth.checkPassword, after every check the spec
/// demands on the server's parameters. Throws ERR_SRP_BAD_P (p not a 2048-bit
/// safe prime), ERR_SRP_BAD_G (g not 2..7 or not generating the subgroup),
/// ERR_SRP_BAD_B (srp_B out of range), ERR_SRP_BAD_A (the given `a` makes g_a
/// out of range), ERR_SRP_U_ZERO, ERR_SRP_TOO_LONG (`a` over 256 bytes),
/// ERR_SRP_ARGS (not exactly one of password / x, or x not 32 bytes).
/// With `password`, runs the PBKDF2 synchronously (tens of ms).
#[napi]
pub fn srp_compute_check(input: SrpCheckInput) -> Result<SrpCheckResult, JsError> {
    let x = match (&input.password, &input.x) {
        (Some(pw), None) => srp::password_hash(password_bytes(pw), &input.salt1, &input.salt2),
        (None, Some(x)) => x_of(x)?,
        _ => return Err(coded("ERR_SRP_ARGS", "pass exactly one of password and x")),
    };
    let run = |a: &[u8]| {
        srp::compute_check_x(
            &x,
            &input.salt1,
            &input.salt2,
            input.g,
            &input.p,
            &input.srp_b,
            a,
        )
    };
    let check = match &input.a {
        Some(a) => run(a),
        None => with_random(|fill| {
            // A random a gives an out-of-range g_a with probability ~2^-64:
            // draw again then, a few times at most.
            let mut a = [0u8; srp::LEN];
            let mut result = Err(SrpError::UZero);
            for _ in 0..4 {
                fill(&mut a);
                result = run(&a);
                if !matches!(result, Err(SrpError::BadA(_))) {
                    break;
                }
            }
            result
        })?,
    }
    .map_err(srp_error)?;
    Ok(SrpCheckResult {
        a: Buffer::from(check.a.to_vec()),
        m1: Buffer::from(check.m1.to_vec()),
    })
}

/// The PBKDF2 step on the libuv pool.
pub struct PasswordHashTask {
    password: Vec<u8>,
    salt1: Vec<u8>,
    salt2: Vec<u8>,
}

impl Task for PasswordHashTask {
    type Output = [u8; 32];
    type JsValue = Buffer;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(srp::password_hash(&self.password, &self.salt1, &self.salt2))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(Buffer::from(output.to_vec()))
    }
}

/// x = PH2(password, salt1, salt2) (32 bytes), computed on the libuv thread
/// pool: 100,000 rounds of HMAC-SHA512. Pass it as `srpComputeCheck`'s `x`.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn srp_password_hash(
    #[napi(ts_arg_type = "Buffer | string")] password: Either<Buffer, String>,
    salt1: Buffer,
    salt2: Buffer,
) -> AsyncTask<PasswordHashTask> {
    AsyncTask::new(PasswordHashTask {
        password: password_bytes(&password).to_vec(),
        salt1: salt1.to_vec(),
        salt2: salt2.to_vec(),
    })
}

/// `srpPasswordHash` on the calling thread.
#[napi]
pub fn srp_password_hash_sync(
    #[napi(ts_arg_type = "Buffer | string")] password: Either<Buffer, String>,
    salt1: Buffer,
    salt2: Buffer,
) -> Buffer {
    Buffer::from(srp::password_hash(password_bytes(&password), &salt1, &salt2).to_vec())
}

/// Test server: the verifier v = g^x mod p (256 bytes) of a password (runs
/// the PBKDF2 synchronously). Throws ERR_SRP_BAD_P / ERR_SRP_BAD_G.
#[napi]
pub fn srp_verifier(
    #[napi(ts_arg_type = "Buffer | string")] password: Either<Buffer, String>,
    salt1: Buffer,
    salt2: Buffer,
    g: u32,
    p: Buffer,
) -> Result<Buffer, JsError> {
    let x = srp::password_hash(password_bytes(&password), &salt1, &salt2);
    srp::verifier(&x, g, &p)
        .map(|v| Buffer::from(v.to_vec()))
        .map_err(srp_error)
}

/// Test server: the verifier from x = `srpPasswordHash(...)`.
#[napi]
pub fn srp_verifier_from_hash(x: Buffer, g: u32, p: Buffer) -> Result<Buffer, JsError> {
    srp::verifier(&x_of(&x)?, g, &p)
        .map(|v| Buffer::from(v.to_vec()))
        .map_err(srp_error)
}

/// Test server: srp_B = (k*v + g^b) mod p (256 bytes) for a secret `b` (up
/// to 256 bytes). Throws ERR_SRP_BAD_P / _BAD_G / _TOO_LONG (v >= p, b too long).
#[napi]
pub fn srp_server_b(v: Buffer, g: u32, p: Buffer, b: Buffer) -> Result<Buffer, JsError> {
    srp::server_b(&v, g, &p, &b)
        .map(|r| Buffer::from(r.to_vec()))
        .map_err(srp_error)
}

/// Test server: whether the client's (A = `gA`, `m1`) proves the password behind
/// `v` for this server's srp_B = `gB` and secret `b` (M1 compared in constant
/// time). Throws ERR_SRP_BAD_A for an out-of-range A, and the group's errors.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn srp_server_check(
    v: Buffer,
    g: u32,
    p: Buffer,
    salt1: Buffer,
    salt2: Buffer,
    g_a: Buffer,
    g_b: Buffer,
    b: Buffer,
    m1: Buffer,
) -> Result<bool, JsError> {
    srp::server_check(&v, g, &p, &salt1, &salt2, &g_a, &g_b, &b, &m1).map_err(srp_error)
}

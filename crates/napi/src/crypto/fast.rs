//! Fast paths for the write-into calls whose work is as small as a binding call.
//!
//! napi-rs (3.16) opens a "native borrow scope" on every call that has arguments: an
//! `Arc<Mutex<..>>` and thread-local stacks, about 80 ns a call here, while AES-IGE of
//! 64 bytes takes about 90 ns. The `#[napi]` functions in crypto.rs remain the typed
//! definitions (index.d.ts is generated from them) and a complete implementation; when
//! the module loads, `install` replaces those exports with plain Node-API callbacks that
//! convert the same arguments and run the same shared code.
//!
//! Kept because it is worth it (issues #11 and #19 asked): CPU time per call of 64
//! bytes, this module against the same build with its `mod` line removed, both loaded
//! in one process, median of 7 alternating rounds (Xeon, 2026-12-07): IGE encrypt in
//! place 176 ns against 303 ns, decrypt 193 against 307, sha256Into 211 against 324,
//! sha1Into 216 against 328. In bench/crypto.bench.ts that is what lifts in-place IGE
//! of 64 B from 2.2x to 3.5x @mtcute/wasm (target: 3x). Removing this module (and its
//! `mod` line) leaves the napi-rs bindings in charge.
//!
//! Only functions with plain arguments (typed arrays, numbers) go here: class methods
//! would have to unwrap napi-rs's class objects by hand.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use mtcore::crypto::sha;
use napi::bindgen_prelude::{JsValue, Object};
use napi::{sys, Env};
use napi_derive::napi;

use super::{ige_in_place, key_iv, write_digest};
use crate::errors::{coded, JsError};

/// The arguments of one call, as Node-API handed them over (missing ones are `undefined`).
struct Call<const N: usize> {
    env: sys::napi_env,
    argv: [sys::napi_value; N],
}

/// A Uint8Array argument: where its bytes are, not yet borrowed.
struct Bytes {
    ptr: *mut u8,
    len: usize,
}

impl Bytes {
    /// SAFETY (for both views): the bytes belong to a typed array that the caller keeps
    /// alive for the whole call (JS is blocked on it); the caller must not hold a mutable
    /// view of the same memory at the same time.
    unsafe fn view(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: as documented above; `ptr` is non-null for a non-empty typed array.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    unsafe fn view_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as for `view`, and no other view of these bytes is alive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

fn status(code: sys::napi_status, what: &str) -> Result<(), JsError> {
    if code == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(coded("ERR_NAPI", format!("{what} failed (status {code})")))
    }
}

impl<const N: usize> Call<N> {
    /// SAFETY: `env` and `info` are those Node-API passed to the running callback.
    unsafe fn new(env: sys::napi_env, info: sys::napi_callback_info) -> Result<Self, JsError> {
        let mut argc = N;
        let mut argv = [ptr::null_mut(); N];
        // SAFETY: argv has room for argc values; Node-API fills missing ones with undefined.
        let code = unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        status(code, "napi_get_cb_info")?;
        Ok(Call { env, argv })
    }

    /// Argument `i`, which must be a Uint8Array (a Buffer is one).
    fn bytes(&self, i: usize, name: &str) -> Result<Bytes, JsError> {
        let mut kind = 0;
        let mut len = 0;
        let mut data = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        let mut offset = 0;
        // SAFETY: a valid env and value of this call; every out-pointer is a local.
        let code = unsafe {
            sys::napi_get_typedarray_info(
                self.env,
                self.argv[i],
                &mut kind,
                &mut len,
                &mut data,
                &mut buffer,
                &mut offset,
            )
        };
        if code != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
            return Err(coded(
                "ERR_INVALID_ARG_TYPE",
                format!("{name} must be a Uint8Array"),
            ));
        }
        Ok(Bytes {
            ptr: data.cast(),
            len,
        })
    }

    /// Argument `i` as an optional u32 (undefined or null: none), like napi-rs's `Option<u32>`.
    fn opt_u32(&self, i: usize, name: &str) -> Result<Option<u32>, JsError> {
        let mut kind = 0;
        // SAFETY: a valid env and value of this call.
        status(
            unsafe { sys::napi_typeof(self.env, self.argv[i], &mut kind) },
            "napi_typeof",
        )?;
        if kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null {
            return Ok(None);
        }
        let mut value = 0;
        // SAFETY: as above.
        let code = unsafe { sys::napi_get_value_uint32(self.env, self.argv[i], &mut value) };
        if code != sys::Status::napi_ok {
            return Err(coded(
                "ERR_INVALID_ARG_TYPE",
                format!("{name} must be a number"),
            ));
        }
        Ok(Some(value))
    }
}

/// Ends a callback: throws the error with its code, as napi-rs would, or returns undefined.
///
/// SAFETY: `env` is the running callback's.
unsafe fn finish(env: sys::napi_env, result: Result<(), JsError>) -> sys::napi_value {
    if let Err(e) = result {
        let code = CString::new(e.status).unwrap_or_default();
        let message = CString::new(e.reason).unwrap_or_default();
        // SAFETY: both strings are NUL-terminated and outlive the call.
        unsafe { sys::napi_throw_error(env, code.as_ptr(), message.as_ptr()) };
    }
    ptr::null_mut()
}

/// aesIgeEncryptInPlace / aesIgeDecryptInPlace(data, key, iv).
///
/// SAFETY: called by Node-API as a callback.
unsafe fn ige(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    encrypt: bool,
) -> Result<(), JsError> {
    // SAFETY: this callback's env and info.
    let call = unsafe { Call::<3>::new(env, info) }?;
    let mut data = call.bytes(0, "data")?;
    let (key, iv) = (call.bytes(1, "key")?, call.bytes(2, "iv")?);
    // SAFETY: the key and iv are copied out before the only mutable view is made, so
    // views of the same memory in several arguments never overlap in time.
    let (key, iv) = unsafe { key_iv(key.view(), iv.view()) }?;
    ige_in_place(unsafe { data.view_mut() }, &key, &iv, encrypt)
}

unsafe extern "C" fn aes_ige_encrypt_in_place(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node-API calls this with its env and info.
    unsafe { finish(env, ige(env, info, true)) }
}

unsafe extern "C" fn aes_ige_decrypt_in_place(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as above.
    unsafe { finish(env, ige(env, info, false)) }
}

/// sha1Into / sha256Into(data, out, offset?).
///
/// SAFETY: called by Node-API as a callback.
unsafe fn digest_into<const D: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    hash: fn(&[&[u8]]) -> [u8; D],
) -> Result<(), JsError> {
    // SAFETY: this callback's env and info.
    let call = unsafe { Call::<3>::new(env, info) }?;
    let data = call.bytes(0, "data")?;
    let mut out = call.bytes(1, "out")?;
    let offset = call.opt_u32(2, "offset")?;
    // SAFETY: the digest is computed (and the data view dropped) before `out` is viewed.
    let digest = hash(&[unsafe { data.view() }]);
    write_digest(&digest, unsafe { out.view_mut() }, offset)
}

unsafe extern "C" fn sha1_into(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node-API calls this with its env and info.
    unsafe { finish(env, digest_into(env, info, sha::sha1)) }
}

unsafe extern "C" fn sha256_into(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as above.
    unsafe { finish(env, digest_into(env, info, sha::sha256)) }
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Export names (as in index.d.ts) and their fast callbacks.
const FAST: [(&CStr, Callback); 4] = [
    (c"aesIgeEncryptInPlace", aes_ige_encrypt_in_place),
    (c"aesIgeDecryptInPlace", aes_ige_decrypt_in_place),
    (c"sha1Into", sha1_into),
    (c"sha256Into", sha256_into),
];

/// Runs after napi-rs has set every `#[napi]` export, and replaces the ones above.
#[napi(module_exports)]
pub fn install_fast_paths(exports: Object, env: Env) -> napi::Result<()> {
    for (name, callback) in FAST {
        let mut function = ptr::null_mut();
        let name_ptr: *const c_char = name.as_ptr();
        // SAFETY: a valid env at module load; the name is NUL-terminated and static.
        unsafe {
            napi::check_status!(
                sys::napi_create_function(
                    env.raw(),
                    name_ptr,
                    name.count_bytes() as isize,
                    Some(callback),
                    ptr::null_mut(),
                    &mut function,
                ),
                "creating {:?}",
                name
            )?;
            napi::check_status!(
                sys::napi_set_named_property(env.raw(), exports.raw(), name_ptr, function),
                "exporting {:?}",
                name
            )?;
        }
    }
    Ok(())
}

//! Conversions shared by the bindings: 64-bit ids as bigint, times as numbers,
//! and byte strings handed to JS as Buffers.

use napi::bindgen_prelude::{
    BigInt, Buffer, BufferSlice, Either, ToNapiValue, TypeName, ValueType,
};

/// Bytes handed to JS as a Buffer: small ones copied by the engine (cheaper than an
/// external Buffer with a finalizer), large ones handed over without a copy.
pub struct Bytes(pub Vec<u8>);

/// Up to this size a copy beats an external Buffer.
const COPY_LIMIT: usize = 16 << 10;

impl TypeName for Bytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Bytes {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        if val.0.len() > COPY_LIMIT {
            // SAFETY: forwarded under the same contract.
            return unsafe { Buffer::to_napi_value(env, Buffer::from(val.0)) };
        }
        // SAFETY: the caller's contract on `env`, forwarded.
        unsafe { buffer_of(env, &[&val.0]) }
    }
}

/// A new Buffer holding `parts` one after the other, in memory the engine
/// owns: one allocation, one copy of each part, no finalizer.
///
/// # Safety
/// `env` must be the live environment of the current call.
pub unsafe fn buffer_of(
    env: napi::sys::napi_env,
    parts: &[&[u8]],
) -> napi::Result<napi::sys::napi_value> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = std::ptr::null_mut();
    let mut data = std::ptr::null_mut();
    let status = match parts {
        // SAFETY: `env` is valid (our contract); napi copies `len` bytes from the
        // live slice before returning and keeps no pointer to it.
        [one] => unsafe {
            napi::sys::napi_create_buffer_copy(env, len, one.as_ptr().cast(), &mut data, &mut out)
        },
        // SAFETY: as above; napi allocates `len` bytes and points `data` at them.
        _ => unsafe { napi::sys::napi_create_buffer(env, len, &mut data, &mut out) },
    };
    if status != napi::sys::Status::napi_ok {
        return Err(napi::Error::new(
            napi::Status::GenericFailure,
            "could not create a Buffer",
        ));
    }
    if parts.len() > 1 && len > 0 {
        // SAFETY: napi gave us `len` writable bytes at `data` (non-null for len > 0),
        // which nothing else references until we return the Buffer.
        let dest = unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) };
        let mut at = 0;
        for p in parts {
            dest[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
    }
    Ok(out)
}

/// 64-bit ids handed to JS as an array of bigint, made without the per-id
/// allocation of napi-rs's `BigInt`.
pub struct Ids(pub Vec<u64>);

impl TypeName for Ids {
    fn type_name() -> &'static str {
        "Array<bigint>"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Ids {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        let fail = |what| napi::Error::new(napi::Status::GenericFailure, what);
        let mut array = std::ptr::null_mut();
        // SAFETY (all calls): `env` is valid (trait contract); out-pointers are locals.
        let status =
            unsafe { napi::sys::napi_create_array_with_length(env, val.0.len(), &mut array) };
        if status != napi::sys::Status::napi_ok {
            return Err(fail("could not create an array"));
        }
        for (i, id) in val.0.into_iter().enumerate() {
            let mut value = std::ptr::null_mut();
            let ok = unsafe { napi::sys::napi_create_bigint_uint64(env, id, &mut value) }
                == napi::sys::Status::napi_ok
                && unsafe { napi::sys::napi_set_element(env, array, i as u32, value) }
                    == napi::sys::Status::napi_ok;
            if !ok {
                return Err(fail("could not create a bigint"));
            }
        }
        Ok(array)
    }
}

pub fn u64_of(v: &BigInt) -> u64 {
    // Low 64 bits, two's complement for negatives (a signed int64 from the TL layer).
    let magnitude = v.words.first().copied().unwrap_or(0);
    if v.sign_bit {
        magnitude.wrapping_neg()
    } else {
        magnitude
    }
}

pub fn big(v: u64) -> BigInt {
    BigInt::from(v)
}

pub fn ms(now: f64) -> i64 {
    now as i64
}

/// A request body as JS passes it: one Buffer, or its pieces in order (a large
/// `bytes` field left in the caller's Buffer rather than copied into a serialized
/// one: `serializeParts` in bindings/tl). A large upload part then costs no
/// Buffer of its own in JS, which is what kept the GC busy at line speed.
pub type BodyJs<'a> = Either<BufferSlice<'a>, Vec<BufferSlice<'a>>>;

/// A body ready for the link: a view of one Buffer (copied once, when queued) or
/// pieces joined into the one copy the link keeps (moved in, not copied again).
pub enum Body<'a> {
    Whole(BufferSlice<'a>),
    Joined(Vec<u8>),
}

impl<'a> From<BodyJs<'a>> for Body<'a> {
    fn from(b: BodyJs<'a>) -> Self {
        match b {
            Either::A(whole) => Body::Whole(whole),
            Either::B(pieces) => {
                let mut joined = Vec::with_capacity(pieces.iter().map(|p| p.len()).sum());
                for p in &pieces {
                    joined.extend_from_slice(p);
                }
                Body::Joined(joined)
            }
        }
    }
}

impl AsRef<[u8]> for Body<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Body::Whole(b) => b,
            Body::Joined(v) => v,
        }
    }
}

impl From<Body<'_>> for Vec<u8> {
    fn from(b: Body<'_>) -> Self {
        match b {
            Body::Whole(b) => b.to_vec(),
            Body::Joined(v) => v,
        }
    }
}

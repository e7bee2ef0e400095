//! Ordinary JS functions, given once per env by the TypeScript layer
//! (`MtpLink.useFactories`, bindings/link-results.ts), that make `MtpLink`'s
//! results from plain values: native code hands them numbers, bigints and where
//! the bytes lie, and the objects, arrays and Buffer views are made in JS.
//!
//! Why: through Node-API every property name is made from UTF-8 and looked up
//! in V8's string table on every call, and each object, property, array element
//! and Buffer view is a call of its own. Measured here (Node 20, per result of
//! three fields): 650 ns made by napi-rs, 140 ns by a JS function called with the
//! values. Without factories (the native module loaded on its own) napi-rs makes
//! the same objects (`link_convert`).

use std::cell::RefCell;
use std::ptr;

use napi::bindgen_prelude::Object;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use crate::errors::{coded, JsError};
use crate::link::MtpLink;

struct Registered {
    env: sys::napi_env,
    transmitted: sys::napi_ref,
    received: sys::napi_ref,
}

thread_local! {
    static FACTORIES: RefCell<Option<Registered>> = const { RefCell::new(None) };
}

/// Which factory.
#[derive(Clone, Copy)]
pub enum Factory {
    Transmitted,
    Received,
}

pub fn ok(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            format!("{what} failed (status {status})"),
        ))
    }
}

/// The factory `which` given in `env`, if any.
///
/// # Safety
/// `env` is the live environment of the current call.
pub unsafe fn of_env(env: sys::napi_env, which: Factory) -> napi::Result<Option<sys::napi_value>> {
    FACTORIES.with(|cell| {
        let slot = cell.borrow();
        let Some(r) = slot.as_ref().filter(|r| r.env == env) else {
            return Ok(None);
        };
        let reference = match which {
            Factory::Transmitted => r.transmitted,
            Factory::Received => r.received,
        };
        let mut f = ptr::null_mut();
        // SAFETY: the reference was made in this live env; the out-pointer is a local.
        ok(
            unsafe { sys::napi_get_reference_value(env, reference, &mut f) },
            "napi_get_reference_value",
        )?;
        Ok(Some(f))
    })
}

/// Calls `f` with `args` (this: undefined) and returns what it returned.
///
/// # Safety
/// `env` is the live environment of the current call; `f` and `args` belong to it.
pub unsafe fn call(
    env: sys::napi_env,
    f: sys::napi_value,
    args: &[sys::napi_value],
) -> napi::Result<sys::napi_value> {
    let mut this = ptr::null_mut();
    let mut out = ptr::null_mut();
    // SAFETY: forwarded (our contract); `args` outlives the call; out-pointers are locals.
    unsafe {
        ok(
            sys::napi_get_undefined(env, &mut this),
            "napi_get_undefined",
        )?;
        let status = sys::napi_call_function(env, this, f, args.len(), args.as_ptr(), &mut out);
        if status == sys::Status::napi_pending_exception {
            // The factory threw: its exception propagates as the call's.
            return Err(napi::Error::new(
                napi::Status::PendingException,
                "a link factory threw",
            ));
        }
        ok(status, "napi_call_function")?;
    }
    Ok(out)
}

/// What `MtpLink.useFactories` takes (declared for index.d.ts; see bindings/link-results.ts).
#[napi(object, object_to_js = false, object_from_js = false)]
#[allow(dead_code)]
pub struct LinkFactories {
    /// `(frame, offset, length, deadline, packets, carried, placed, ...msgIds) => LinkTransmit`:
    /// `frame` is null (nothing to send), a Buffer (`offset` -1) or an ArrayBuffer
    /// holding the frame at `offset`, `length` bytes long; `deadline` may be
    /// undefined; `packets` and `carried` are given without a transport only, and
    /// `placed` only when packets went to the caller's scratch.
    #[napi(
        ts_type = "(frame: ArrayBuffer | Buffer | null, offset: number, length: number, deadline: number | undefined, packets: Buffer[] | undefined, carried: bigint[] | undefined, placed: number[] | undefined, ...msgIds: bigint[]) => LinkTransmit"
    )]
    pub transmitted: (),
    /// `(deadline, ...events) => LinkReceive`, six values per event: kind (1
    /// message, 2 rpcResult, 0 any other: then the next value is the event
    /// itself), msg_id, seqno, and the body as for `transmitted`'s frame.
    #[napi(ts_type = "(deadline: number | undefined, ...events: unknown[]) => LinkReceive")]
    pub received: (),
}

#[napi]
impl MtpLink {
    /// Makes `transmit`'s and `receive`'s results with these JS functions in this
    /// thread's JS environment (the TypeScript layer gives them once, at load);
    /// without them the same objects are made natively, slower.
    #[napi(ts_args_type = "factories: LinkFactories")]
    pub fn use_factories(env: Env, factories: Object) -> Result<(), JsError> {
        let env = env.raw();
        let failed = |e: napi::Error| coded("ERR_NAPI", e.reason);
        let mut refs = [ptr::null_mut(); 2];
        for (name, r) in [c"transmitted", c"received"].iter().zip(refs.iter_mut()) {
            let mut f = ptr::null_mut();
            let mut kind = 0;
            // SAFETY: a live env and an object of this call; out-pointers are locals.
            unsafe {
                ok(
                    sys::napi_get_named_property(env, factories.raw(), name.as_ptr(), &mut f),
                    "napi_get_named_property",
                )
                .map_err(failed)?;
                ok(sys::napi_typeof(env, f, &mut kind), "napi_typeof").map_err(failed)?;
            }
            if kind != sys::ValueType::napi_function {
                return Err(coded(
                    "ERR_INVALID_ARG_TYPE",
                    format!("factories.{} must be a function", name.to_string_lossy()),
                ));
            }
            // SAFETY: as above; the function is kept alive by the reference.
            unsafe {
                ok(
                    sys::napi_create_reference(env, f, 1, r),
                    "napi_create_reference",
                )
                .map_err(failed)?
            };
        }
        FACTORIES.with(|cell| {
            let old = cell.borrow_mut().replace(Registered {
                env,
                transmitted: refs[0],
                received: refs[1],
            });
            if let Some(old) = old.filter(|o| o.env == env) {
                // SAFETY: references of this live env, no longer kept.
                unsafe {
                    sys::napi_delete_reference(env, old.transmitted);
                    sys::napi_delete_reference(env, old.received);
                }
            }
        });
        Ok(())
    }
}

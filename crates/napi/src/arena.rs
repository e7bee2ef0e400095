//! Small byte strings handed to JS as Buffers that view a shared ArrayBuffer.
//!
//! Every new Buffer made through Node-API gets its own backing store: a malloc,
//! a V8 BackingStore record and, when the GC frees them in bursts, malloc
//! consolidation; about 0.5 us a Buffer here, more than sealing a small message.
//! Node's own `Buffer.allocUnsafe` avoids that with a pool, and so do we: bytes
//! are copied into a per-thread 32 KiB ArrayBuffer and JS gets a Buffer over them,
//! made by Node's own view class as `Buffer.allocUnsafe` makes its pool slices
//! (~0.1 us). Handed-out ranges are never written again; a
//! full arena is dropped by us and lives on as long as a view of it does (like
//! Node's pool, one small view kept forever keeps its 32 KiB alive).
//! Larger byte strings get a Buffer of their own.

use std::cell::RefCell;
use std::ptr;

use napi::sys;

/// Bytes of one arena.
const ARENA_LEN: usize = 32 << 10;
/// Byte strings above this get their own Buffer (Node's pool takes < 4 KiB).
pub const VIEW_MAX: usize = 4 << 10;

struct Arena {
    env: sys::napi_env,
    /// Keeps the ArrayBuffer alive while we may write into it.
    buffer: sys::napi_ref,
    data: *mut u8,
    used: usize,
    /// Node's Buffer class for views (`Buffer[Symbol.species]`, FastBuffer); without
    /// it every byte string gets a Buffer of its own.
    view_class: Option<sys::napi_ref>,
}

thread_local! {
    static ARENA: RefCell<Option<Arena>> = const { RefCell::new(None) };
}

fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            format!("Node-API call failed (status {status})"),
        ))
    }
}

impl Arena {
    /// A fresh arena in `env`.
    ///
    /// # Safety
    /// `env` is the live environment of the current call.
    unsafe fn new(env: sys::napi_env) -> napi::Result<Self> {
        let mut data = ptr::null_mut();
        let mut value = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        // SAFETY: `env` is live (our contract); out-pointers are locals.
        unsafe {
            check(sys::napi_create_arraybuffer(
                env, ARENA_LEN, &mut data, &mut value,
            ))?;
            check(sys::napi_create_reference(env, value, 1, &mut buffer))?;
        }
        Ok(Arena {
            env,
            buffer,
            data: data.cast(),
            used: 0,
            // SAFETY: as above.
            view_class: unsafe { view_class(env) },
        })
    }

    /// Drops our reference (views keep the ArrayBuffer alive on their own).
    ///
    /// # Safety
    /// `self.env` is the live environment of the current call.
    unsafe fn release(self) {
        // SAFETY: the reference was made in this env, which is live (our contract).
        unsafe { sys::napi_delete_reference(self.env, self.buffer) };
    }
}

/// Where `place` put some bytes: the arena's ArrayBuffer and the offset in it.
pub struct Placed {
    pub buffer: sys::napi_value,
    pub offset: u32,
}

/// Copies `bytes` into the thread's arena (a fresh one when full) and says where,
/// for a caller that has the view made itself (in JS, by `factories`); `None` when
/// they are too long for it or views cannot be made.
///
/// # Safety
/// `env` must be the live environment of the current call.
pub unsafe fn place(env: sys::napi_env, bytes: &[u8]) -> napi::Result<Option<Placed>> {
    // SAFETY: forwarded (our contract).
    unsafe {
        with_space(env, &[bytes], |_, buffer, offset| {
            Ok(Placed { buffer, offset })
        })
    }
}

/// `parts`, one after the other, as a Buffer viewing the thread's arena, or
/// `None` when they are too long for it or views cannot be made (the caller then
/// makes a Buffer of their own).
///
/// # Safety
/// `env` must be the live environment of the current call.
pub unsafe fn view_of(
    env: sys::napi_env,
    parts: &[&[u8]],
) -> napi::Result<Option<sys::napi_value>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    // SAFETY: forwarded (our contract).
    unsafe {
        with_space(env, parts, |class, buffer, offset| {
            let mut view = ptr::null_mut();
            let mut ctor = ptr::null_mut();
            let mut args = [buffer, ptr::null_mut(), ptr::null_mut()];
            // SAFETY: `env` is live and the reference belongs to it; out-pointers are locals.
            check(sys::napi_get_reference_value(env, class, &mut ctor))?;
            check(sys::napi_create_uint32(env, offset, &mut args[1]))?;
            check(sys::napi_create_uint32(env, len as u32, &mut args[2]))?;
            check(sys::napi_new_instance(
                env,
                ctor,
                3,
                args.as_ptr(),
                &mut view,
            ))?;
            Ok(view)
        })
    }
}

/// Copies `parts` into the arena and hands `f` the view class, the arena's
/// ArrayBuffer and the offset of the copy; `None` when too long or no view class.
///
/// # Safety
/// `env` must be the live environment of the current call.
unsafe fn with_space<T>(
    env: sys::napi_env,
    parts: &[&[u8]],
    f: impl FnOnce(sys::napi_ref, sys::napi_value, u32) -> napi::Result<T>,
) -> napi::Result<Option<T>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > VIEW_MAX {
        return Ok(None);
    }
    ARENA.with(|cell| {
        let mut slot = cell.borrow_mut();
        let fits = slot
            .as_ref()
            .is_some_and(|a| a.env == env && ARENA_LEN - a.used >= len);
        if !fits {
            if let Some(old) = slot.take() {
                if old.env == env {
                    // SAFETY: same live env.
                    unsafe { old.release() };
                }
                // An arena of another env (a module reloaded in a new context on this
                // thread) is left to that env's teardown.
            }
            // SAFETY: `env` is live (our contract).
            *slot = Some(unsafe { Arena::new(env) }?);
        }
        let arena = slot.as_mut().expect("set above");
        let Some(class) = arena.view_class else {
            return Ok(None);
        };
        // SAFETY: `data` points at ARENA_LEN bytes owned by the ArrayBuffer our
        // reference keeps alive; `used..used + len` is inside them (checked above)
        // and was never handed out, so no JS view and no other Rust reference
        // covers it; JS is blocked on this call.
        let dest = unsafe { std::slice::from_raw_parts_mut(arena.data.add(arena.used), len) };
        let mut at = 0;
        for p in parts {
            dest[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        let mut buffer = ptr::null_mut();
        // SAFETY: `env` is live and the reference belongs to it; the out-pointer is a local.
        unsafe {
            check(sys::napi_get_reference_value(
                env,
                arena.buffer,
                &mut buffer,
            ))?;
        }
        let offset = arena.used as u32;
        let out = f(class, buffer, offset)?;
        arena.used += len;
        Ok(Some(out))
    })
}

/// Node's Buffer class for views: `Buffer[Symbol.species]` (FastBuffer, whose
/// constructor takes `(arrayBuffer, offset, length)` without checks), when it is
/// not `Buffer` itself (whose constructor is deprecated) and makes Buffers.
///
/// # Safety
/// `env` must be the live environment of the current call.
unsafe fn view_class(env: sys::napi_env) -> Option<sys::napi_ref> {
    let mut global = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    let mut symbol = ptr::null_mut();
    let mut species = ptr::null_mut();
    let mut class = ptr::null_mut();
    let mut reference = ptr::null_mut();
    // SAFETY: `env` is live (our contract); names are NUL-terminated literals and
    // out-pointers are locals.
    unsafe {
        check(sys::napi_get_global(env, &mut global)).ok()?;
        check(sys::napi_get_named_property(
            env,
            global,
            c"Buffer".as_ptr(),
            &mut buffer,
        ))
        .ok()?;
        check(sys::napi_get_named_property(
            env,
            global,
            c"Symbol".as_ptr(),
            &mut symbol,
        ))
        .ok()?;
        check(sys::napi_get_named_property(
            env,
            symbol,
            c"species".as_ptr(),
            &mut species,
        ))
        .ok()?;
        check(sys::napi_get_property(env, buffer, species, &mut class)).ok()?;
        let mut kind = 0;
        check(sys::napi_typeof(env, class, &mut kind)).ok()?;
        let mut same = true;
        check(sys::napi_strict_equals(env, class, buffer, &mut same)).ok()?;
        let (mut theirs, mut ours) = (ptr::null_mut(), ptr::null_mut());
        check(sys::napi_get_named_property(
            env,
            class,
            c"prototype".as_ptr(),
            &mut theirs,
        ))
        .ok()?;
        check(sys::napi_get_named_property(
            env,
            buffer,
            c"prototype".as_ptr(),
            &mut ours,
        ))
        .ok()?;
        let mut buffers = false;
        check(sys::napi_strict_equals(env, theirs, ours, &mut buffers)).ok()?;
        if kind != sys::ValueType::napi_function || same || !buffers {
            return None;
        }
        check(sys::napi_create_reference(env, class, 1, &mut reference)).ok()?;
    }
    Some(reference)
}

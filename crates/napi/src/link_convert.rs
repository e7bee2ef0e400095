//! How `MtpLink`'s results cross to JS: frames as Buffers (pooled views for one
//! transmit, one Buffer for a batch), transport events beside the session's
//! `MtpEvent`s (whose conversion `mtp_convert` shares with `MtpSession`), and
//! the error codes.

use std::cell::RefCell;
use std::ptr;

use mtcore::link::{Frames, LinkError, LinkEvent, TransportCode};
use mtcore::mtp::Event;
use napi::bindgen_prelude::{
    BigUint64Array, Either, ToNapiValue, TypeName, Uint32Array, Uint8Array, ValueType,
};
use napi::sys;
use napi_derive::napi;

use crate::arena;
use crate::convert::buffer_of;
use crate::errors::{coded, JsError};
use crate::mtp_convert::{event_js_with, Body, MtpEvent};
use crate::transport::{transport_error, transport_error_code};

/// Frames of one transmit, handed to JS as one Buffer (a view into the thread's
/// pool, or a Buffer of its own when long).
pub struct FrameView(pub Frames);

impl TypeName for FrameView {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for FrameView {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        let parts = [val.0.bytes()];
        // SAFETY: the caller's contract on `env`, forwarded.
        match unsafe { arena::view_of(env, &parts) }? {
            Some(view) => Ok(view),
            // SAFETY: as above.
            None => unsafe { buffer_of(env, &parts) },
        }
    }
}

/// Frames of many transmits, gathered in the thread's scratch Vec and handed to
/// JS as one Buffer. Each link's frames are copied there as soon as they are
/// made, so their allocations are reused at once rather than freed in a burst
/// of a thousand (which costs glibc more than the copy).
pub struct FrameBytes(pub Vec<u8>);

thread_local! {
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl FrameBytes {
    pub fn new() -> Self {
        Self(SCRATCH.take())
    }
}

impl TypeName for FrameBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for FrameBytes {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: the caller's contract on `env`, forwarded.
        let out = unsafe { buffer_of(env, &[&val.0]) };
        let mut scratch = val.0;
        if scratch.capacity() <= 4 << 20 {
            scratch.clear();
            SCRATCH.set(scratch);
        }
        out
    }
}

/// What the transport itself reports (beside the session's `MtpEvent`s).
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum LinkTransportEvent {
    /// The server confirmed a packet sent with quick-ack (token, high bit set).
    QuickAck { token: u32 },
    /// The server sent a transport error code instead of a message and will
    /// usually close the connection.
    TransportError {
        /// The int32 as received: -404, -429, -444...
        code: i32,
        /// AUTH_KEY_NOT_FOUND (-404), FLOOD (-429), INVALID_DC (-444) or OTHER.
        #[napi(ts_type = "'AUTH_KEY_NOT_FOUND' | 'FLOOD' | 'INVALID_DC' | 'OTHER'")]
        reason: String,
    },
    /// The incoming byte stream is corrupt: reconnect (`reconnect()`), then
    /// `requestState`. Until then `receive` reports this again and `transmit`
    /// throws ERR_LINK_BROKEN.
    Fatal {
        /// The transport error's stable code (ERR_TRANSPORT_BAD_CRC, ...).
        code: String,
        message: String,
    },
}

/// A session event or a transport event; `kind` tells which.
pub type LinkEventJs = Either<MtpEvent, LinkTransportEvent>;

pub fn link_event_js(e: LinkEvent) -> LinkEventJs {
    match e {
        LinkEvent::Session(e) => Either::A(event_js_with(e, Body::Pooled)),
        LinkEvent::QuickAck { token } => Either::B(LinkTransportEvent::QuickAck { token }),
        LinkEvent::TransportError(code) => Either::B(LinkTransportEvent::TransportError {
            code: code.code(),
            reason: match code {
                TransportCode::AuthKeyNotFound => "AUTH_KEY_NOT_FOUND",
                TransportCode::Flood => "FLOOD",
                TransportCode::InvalidDc => "INVALID_DC",
                TransportCode::Other(_) => "OTHER",
            }
            .to_string(),
        }),
        LinkEvent::Fatal(e) => Either::B(LinkTransportEvent::Fatal {
            code: transport_error_code(e).to_string(),
            message: e.to_string(),
        }),
    }
}

pub fn link_error(e: LinkError) -> JsError {
    match e {
        LinkError::Body(e) => coded("ERR_BAD_BODY", e),
        LinkError::Transport(e) => transport_error(e),
        LinkError::Broken(_) => coded("ERR_LINK_BROKEN", e),
    }
}

pub fn deadline_js(d: Option<i64>) -> Option<f64> {
    d.map(|d| d as f64)
}

/// The events of a `receiveAll`, made into JS objects in one call of a small JS
/// function instead of one Node-API object, BigInt and Buffer view at a time
/// (which cost more than receiving the message): rpc results and messages go
/// across as flat typed arrays (ids, seqnos, where each body lies in the arena),
/// every other event as the object `link_event_js` makes. The objects are the
/// same either way.
pub struct EventBatch(pub Vec<LinkEvent>);

/// From this many events on, the flat form is cheaper than one object at a time.
const FLAT_FROM: usize = 16;

/// Kinds in the flat form (0: the next object of `others`).
const OTHER: u8 = 0;
const MESSAGE: u8 = 1;
const RPC_RESULT: u8 = 2;

/// (kinds, ids, seqnos, arenas, arenaIndex, offsets, lengths, others) -> events.
const BUILD_EVENTS: &str = r#"(function (View) {
  return function buildEvents(kinds, ids, seqnos, arenas, at, offsets, lengths, others) {
    const n = kinds.length;
    const out = new Array(n);
    let next = 0;
    for (let i = 0; i < n; i++) {
      const k = kinds[i];
      if (k === 1) {
        out[i] = { kind: 'message', msgId: ids[i], seqno: seqnos[i], body: new View(arenas[at[i]], offsets[i], lengths[i]) };
      } else if (k === 2) {
        out[i] = { kind: 'rpcResult', reqMsgId: ids[i], body: new View(arenas[at[i]], offsets[i], lengths[i]) };
      } else {
        out[i] = others[next++];
      }
    }
    return out;
  };
})(Buffer[Symbol.species])"#;

thread_local! {
    /// `buildEvents`, compiled once per env.
    static BUILDER: RefCell<Option<(sys::napi_env, sys::napi_ref)>> = const { RefCell::new(None) };
}

fn ok(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            format!("Node-API call failed (status {status})"),
        ))
    }
}

/// The compiled `buildEvents` of `env`.
///
/// # Safety
/// `env` is the live environment of the current call.
unsafe fn builder(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    BUILDER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let mut f = ptr::null_mut();
        if let Some((e, r)) = *slot {
            if e == env {
                // SAFETY: the reference was made in this live env.
                unsafe { ok(sys::napi_get_reference_value(env, r, &mut f))? };
                return Ok(f);
            }
        }
        let mut source = ptr::null_mut();
        let mut r = ptr::null_mut();
        // SAFETY: `env` is live (our contract); the source is a constant UTF-8
        // string given with its length; out-pointers are locals.
        unsafe {
            ok(sys::napi_create_string_utf8(
                env,
                BUILD_EVENTS.as_ptr().cast(),
                BUILD_EVENTS.len() as isize,
                &mut source,
            ))?;
            ok(sys::napi_run_script(env, source, &mut f))?;
            ok(sys::napi_create_reference(env, f, 1, &mut r))?;
        }
        *slot = Some((env, r));
        Ok(f)
    })
}

impl TypeName for EventBatch {
    fn type_name() -> &'static str {
        "Array<MtpEvent | LinkTransportEvent>"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for EventBatch {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let n = val.0.len();
        // A few events (one chunk of one connection, usually): seven typed arrays and
        // the call would cost more than they save.
        if n < FLAT_FROM {
            let events: Vec<LinkEventJs> = val.0.into_iter().map(link_event_js).collect();
            // SAFETY: the caller's contract on `env`, forwarded.
            return unsafe { Vec::<LinkEventJs>::to_napi_value(env, events) };
        }
        let mut kinds = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        let mut seqnos = Vec::with_capacity(n);
        let mut at = Vec::with_capacity(n);
        let mut offsets = Vec::with_capacity(n);
        let mut lengths = Vec::with_capacity(n);
        let mut others = Vec::new();
        let mut arenas: Vec<sys::napi_value> = Vec::new();
        for e in val.0 {
            let (kind, id, seqno, body) = match &e {
                LinkEvent::Session(Event::Message {
                    msg_id,
                    seqno,
                    body,
                }) => (MESSAGE, *msg_id, *seqno, body),
                LinkEvent::Session(Event::RpcResult { req_msg_id, body }) => {
                    (RPC_RESULT, *req_msg_id, 0, body)
                }
                _ => (OTHER, 0, 0, &Vec::new()),
            };
            // SAFETY: the caller's contract on `env`, forwarded.
            let placed = match kind {
                OTHER => None,
                _ => unsafe { crate::arena::place(env, body) }?,
            };
            let Some(placed) = placed else {
                kinds.push(OTHER);
                others.push(link_event_js(e));
                ids.push(0);
                seqnos.push(0);
                at.push(0);
                offsets.push(0);
                lengths.push(0);
                continue;
            };
            // Usually one arena, sometimes two: compare with the last one used.
            let same = match arenas.last() {
                Some(&last) => {
                    let mut eq = false;
                    // SAFETY: both values belong to this live env.
                    unsafe { ok(sys::napi_strict_equals(env, last, placed.buffer, &mut eq))? };
                    eq
                }
                None => false,
            };
            if !same {
                arenas.push(placed.buffer);
            }
            kinds.push(kind);
            ids.push(id);
            seqnos.push(seqno);
            at.push(arenas.len() as u32 - 1);
            offsets.push(placed.offset);
            lengths.push(body.len() as u32);
        }
        // SAFETY (the calls below): the caller's contract on `env`; every value
        // passed belongs to it; out-pointers are locals.
        unsafe {
            let mut list = ptr::null_mut();
            ok(sys::napi_create_array_with_length(
                env,
                arenas.len(),
                &mut list,
            ))?;
            for (i, a) in arenas.iter().enumerate() {
                ok(sys::napi_set_element(env, list, i as u32, *a))?;
            }
            let args = [
                Uint8Array::to_napi_value(env, Uint8Array::new(kinds))?,
                BigUint64Array::to_napi_value(env, BigUint64Array::new(ids))?,
                Uint32Array::to_napi_value(env, Uint32Array::new(seqnos))?,
                list,
                Uint32Array::to_napi_value(env, Uint32Array::new(at))?,
                Uint32Array::to_napi_value(env, Uint32Array::new(offsets))?,
                Uint32Array::to_napi_value(env, Uint32Array::new(lengths))?,
                Vec::<LinkEventJs>::to_napi_value(env, others)?,
            ];
            let f = builder(env)?;
            let mut this = ptr::null_mut();
            ok(sys::napi_get_undefined(env, &mut this))?;
            let mut out = ptr::null_mut();
            ok(sys::napi_call_function(
                env,
                this,
                f,
                args.len(),
                args.as_ptr(),
                &mut out,
            ))?;
            Ok(out)
        }
    }
}

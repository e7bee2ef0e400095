//! How `MtpLink`'s results cross to JS: frames as pooled Buffers, transport
//! events beside the session's `MtpEvent`s (see `mtp_convert`), and the error
//! codes. The results, with their messages and answers, are made by the JS
//! factories when the TypeScript layer gave them (`factories`), else by napi-rs;
//! the rarer events always by napi-rs.

use std::cell::Cell;
use std::ptr;

use mtcore::link::{Frames, LinkError, LinkEvent, Receive, Transmit, TransportCode};
use mtcore::mtp::Event;
use napi::bindgen_prelude::{Either, Null, ToNapiValue, TypeName, ValueType};
use napi::sys;
use napi_derive::napi;

use crate::arena;
use crate::convert::{buffer_of, Bytes, Ids};
use crate::errors::{coded, JsError};
use crate::factories::{self, Factory};
use crate::mtp_convert::{event_js, Body, MtpEvent};
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
        LinkEvent::Session(e) => Either::A(event_js(e)),
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

/// What `transmit` gives JS. napi-rs makes it when no factories were given;
/// else `transmitted` (bindings/link-results.ts) makes the same object.
#[napi(object, object_from_js = false)]
pub struct LinkTransmit {
    /// With a transport: every frame due, back to back, for one socket write; null
    /// when nothing is due (and always without a transport). Small ones view a shared
    /// pool (as `Buffer.allocUnsafe`'s do) whose bytes are never reused, so it can go
    /// to `socket.write` as it is.
    #[napi(ts_type = "Buffer | null")]
    pub frame: Either<FrameView, Null>,
    /// Without a transport: the encrypted packets, each after `headroom` free bytes
    /// and before `tailroom` zero bytes.
    #[napi(ts_type = "Array<Buffer>")]
    pub packets: Option<Vec<Bytes>>,
    /// Without a transport, when a scratch was given: where the first packets lie in
    /// it (start and end of each, headroom and tailroom included); `packets` has the rest.
    pub placed: Option<Vec<u32>>,
    /// Without a transport: msg_ids of every request the packets carry, in queue
    /// order (queued before, re-sent, then `bodies`).
    #[napi(ts_type = "Array<bigint>")]
    pub carried: Option<Ids>,
    /// msg_ids given to `bodies`, in their order: how a driver learns the ids of
    /// the requests it sends (one crossing per direction).
    #[napi(ts_type = "Array<bigint>")]
    pub msg_ids: Ids,
    /// When to call transmit again (ms since the epoch), or absent when idle.
    pub deadline: Option<f64>,
}

/// What `receive` gives JS (made by napi-rs or by the `received` factory).
#[napi(object, object_from_js = false)]
pub struct LinkReceive {
    /// An `rpcResult` whose file bytes went to its request's sink (`receive`'s
    /// `sinks`) has `sunk`: how many were written there (its `body` has them empty).
    #[napi(ts_type = "Array<(MtpEvent & { sunk?: number }) | LinkTransportEvent>")]
    pub events: Vec<LinkEventJs>,
    /// When to call transmit next (ms since the epoch), or absent when idle.
    pub deadline: Option<f64>,
}

/// A `transmit`'s result on its way to JS; `packets`: the link has no transport;
/// `placed`: where packets went in the caller's scratch (start, end pairs).
pub struct TransmitJs {
    pub inner: Transmit,
    pub packets: bool,
    pub placed: Vec<u32>,
}

impl TypeName for TransmitJs {
    fn type_name() -> &'static str {
        "LinkTransmit"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for TransmitJs {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let t = val.inner;
        // SAFETY (all calls): the caller's contract on `env`, forwarded.
        if let Some(f) = unsafe { factories::of_env(env, Factory::Transmitted) }? {
            return unsafe { transmitted(env, f, t, val.packets, val.placed) };
        }
        let r = LinkTransmit {
            frame: if t.frames.is_empty() {
                Either::B(Null)
            } else {
                Either::A(FrameView(t.frames))
            },
            packets: val
                .packets
                .then(|| t.packets.into_iter().map(Bytes).collect()),
            placed: (!val.placed.is_empty()).then_some(val.placed),
            carried: val.packets.then_some(Ids(t.carried)),
            msg_ids: Ids(t.msg_ids),
            deadline: deadline_js(t.deadline),
        };
        unsafe { LinkTransmit::to_napi_value(env, r) }
    }
}

/// Values made within one call; `undefined`, `null` and the small numbers made
/// once, when first needed.
struct Values {
    env: sys::napi_env,
    undefined: Cell<sys::napi_value>,
    null: Cell<sys::napi_value>,
    /// -1, 0, 1, 2.
    small: [Cell<sys::napi_value>; 4],
}

impl Values {
    /// # Safety
    /// `env` is the live environment of the current call, which `Values` does not outlive.
    unsafe fn new(env: sys::napi_env) -> Self {
        Values {
            env,
            undefined: Cell::new(ptr::null_mut()),
            null: Cell::new(ptr::null_mut()),
            small: std::array::from_fn(|_| Cell::new(ptr::null_mut())),
        }
    }

    /// The value in `slot`, made by `make` the first time.
    fn kept(
        &self,
        slot: &Cell<sys::napi_value>,
        make: impl FnOnce(&mut sys::napi_value) -> sys::napi_status,
    ) -> napi::Result<sys::napi_value> {
        if slot.get().is_null() {
            let mut out = ptr::null_mut();
            ok(make(&mut out), "a Node-API value")?;
            slot.set(out);
        }
        Ok(slot.get())
    }

    fn undefined(&self) -> napi::Result<sys::napi_value> {
        // SAFETY: a live env (`new`'s contract); the out-pointer is the closure's.
        self.kept(&self.undefined, |out| unsafe {
            sys::napi_get_undefined(self.env, out)
        })
    }

    fn null(&self) -> napi::Result<sys::napi_value> {
        // SAFETY: as above.
        self.kept(&self.null, |out| unsafe {
            sys::napi_get_null(self.env, out)
        })
    }

    /// -1 to 2.
    fn small(&self, n: i32) -> napi::Result<sys::napi_value> {
        // SAFETY: as above.
        self.kept(&self.small[(n + 1) as usize], |out| unsafe {
            sys::napi_create_int32(self.env, n, out)
        })
    }

    fn uint32(&self, n: u32) -> napi::Result<sys::napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: a live env (`new`'s contract); the out-pointer is a local.
        ok(
            unsafe { sys::napi_create_uint32(self.env, n, &mut out) },
            "napi_create_uint32",
        )?;
        Ok(out)
    }

    fn bigint(&self, n: u64) -> napi::Result<sys::napi_value> {
        let mut out = ptr::null_mut();
        // SAFETY: as above.
        ok(
            unsafe { sys::napi_create_bigint_uint64(self.env, n, &mut out) },
            "napi_create_bigint_uint64",
        )?;
        Ok(out)
    }

    fn deadline(&self, d: Option<i64>) -> napi::Result<sys::napi_value> {
        let Some(d) = d else {
            return self.undefined();
        };
        let mut out = ptr::null_mut();
        // SAFETY: as above.
        ok(
            unsafe { sys::napi_create_double(self.env, d as f64, &mut out) },
            "napi_create_double",
        )?;
        Ok(out)
    }

    /// `bytes` for a factory, as three values: (the arena's ArrayBuffer, offset,
    /// length) when they fit the thread's pool, else (a Buffer of their own, -1, length).
    fn bytes(&self, bytes: &[u8]) -> napi::Result<[sys::napi_value; 3]> {
        let len = self.uint32(bytes.len() as u32)?;
        // SAFETY: a live env (`new`'s contract).
        match unsafe { arena::place(self.env, bytes) }? {
            Some(p) => Ok([p.buffer, self.uint32(p.offset)?, len]),
            None => Ok([
                unsafe { buffer_of(self.env, &[bytes]) }?,
                self.small(-1)?,
                len,
            ]),
        }
    }
}

/// The `transmitted` factory's result for `t`; `packets`: the link has no transport.
///
/// # Safety
/// `env` is the live environment of the current call; `f` belongs to it.
unsafe fn transmitted(
    env: sys::napi_env,
    f: sys::napi_value,
    t: Transmit,
    packets: bool,
    placed: Vec<u32>,
) -> napi::Result<sys::napi_value> {
    // SAFETY: forwarded (our contract).
    let v = unsafe { Values::new(env) };
    let mut args = Vec::with_capacity(7 + t.msg_ids.len());
    if t.frames.is_empty() {
        args.extend([v.null()?, v.small(0)?, v.small(0)?]);
    } else {
        args.extend(v.bytes(t.frames.bytes())?);
    }
    args.push(v.deadline(t.deadline)?);
    if packets {
        let list: Vec<Body> = t.packets.into_iter().map(Body).collect();
        // SAFETY: forwarded.
        args.push(unsafe { Vec::<Body>::to_napi_value(env, list) }?);
        args.push(unsafe { Ids::to_napi_value(env, Ids(t.carried)) }?);
    } else {
        args.extend([v.undefined()?, v.undefined()?]);
    }
    args.push(if placed.is_empty() {
        v.undefined()?
    } else {
        // SAFETY: forwarded.
        unsafe { Vec::<u32>::to_napi_value(env, placed) }?
    });
    for id in t.msg_ids {
        args.push(v.bigint(id)?);
    }
    // SAFETY: forwarded; the values belong to `env`.
    unsafe { factories::call(env, f, &args) }
}

/// A `receive`'s result on its way to JS; `sunk`: (event index, bytes) of the
/// answers whose file bytes went to a sink, in event order.
pub struct ReceiveJs {
    pub inner: Receive,
    pub sunk: Vec<(usize, u32)>,
    /// The caller's body scratch (a Buffer of this call) and (event index, start)
    /// of the bodies copied there, in event order.
    pub in_scratch: Option<(sys::napi_value, Vec<(usize, u32)>)>,
}

impl TypeName for ReceiveJs {
    fn type_name() -> &'static str {
        "LinkReceive"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for ReceiveJs {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let Receive { events, deadline } = val.inner;
        let sunk = val.sunk;
        // SAFETY (all calls): the caller's contract on `env`, forwarded.
        if let Some(f) = unsafe { factories::of_env(env, Factory::Received) }? {
            let scratch = match val.in_scratch {
                Some((buffer, placed)) => Some((unsafe { Scratch::of(env, buffer) }?, placed)),
                None => None,
            };
            return unsafe { received(env, f, events, &sunk, scratch, deadline) };
        }
        let r = LinkReceive {
            events: events.into_iter().map(link_event_js).collect(),
            deadline: deadline_js(deadline),
        };
        let out = unsafe { LinkReceive::to_napi_value(env, r) }?;
        if !sunk.is_empty() {
            // SAFETY: forwarded; `out` was just made in `env`.
            unsafe { mark_sunk(env, out, &sunk) }?;
        }
        Ok(out)
    }
}

/// Kinds of events in the `received` factory's arguments.
const OTHER: i32 = 0;
const MESSAGE: i32 = 1;
const RPC_RESULT: i32 = 2;

/// The `received` factory's result: six values per event (see `LinkFactories`);
/// messages and answers as plain values, any other event as napi-rs makes it. An
/// answer's third value is its `sunk` count (undefined when none).
///
/// # Safety
/// `env` is the live environment of the current call; `f` belongs to it.
unsafe fn received(
    env: sys::napi_env,
    f: sys::napi_value,
    events: Vec<LinkEvent>,
    sunk: &[(usize, u32)],
    scratch: Option<(Scratch, Vec<(usize, u32)>)>,
    deadline: Option<i64>,
) -> napi::Result<sys::napi_value> {
    let mut sunk = sunk.iter().peekable();
    // SAFETY: forwarded (our contract).
    let v = unsafe { Values::new(env) };
    let (scratch, placed) = match scratch {
        Some((s, p)) => (Some(s), p),
        None => (None, Vec::new()),
    };
    let mut placed = placed.iter().peekable();
    // A body copied into the caller's scratch goes as a view of it; any other as usual.
    let mut body_of = |i: usize, body: &[u8]| -> napi::Result<[sys::napi_value; 3]> {
        match (&scratch, placed.next_if(|&&(at, _)| at == i)) {
            (Some(s), Some(&(_, start))) => Ok([
                s.array_buffer,
                v.uint32(s.offset + start)?,
                v.uint32(body.len() as u32)?,
            ]),
            _ => v.bytes(body),
        }
    };
    let mut args = Vec::with_capacity(1 + 6 * events.len());
    args.push(v.deadline(deadline)?);
    for (i, e) in events.into_iter().enumerate() {
        match e {
            LinkEvent::Session(Event::Message {
                msg_id,
                seqno,
                body,
            }) => {
                args.extend([v.small(MESSAGE)?, v.bigint(msg_id)?, v.uint32(seqno)?]);
                args.extend(body_of(i, &body)?);
            }
            LinkEvent::Session(Event::RpcResult { req_msg_id, body }) => {
                let count = match sunk.next_if(|&&(at, _)| at == i) {
                    Some(&(_, n)) => v.uint32(n)?,
                    None => v.undefined()?,
                };
                args.extend([v.small(RPC_RESULT)?, v.bigint(req_msg_id)?, count]);
                args.extend(body_of(i, &body)?);
            }
            other => {
                // SAFETY: forwarded.
                let event = unsafe { LinkEventJs::to_napi_value(env, link_event_js(other)) }?;
                let none = v.undefined()?;
                args.extend([v.small(OTHER)?, event, none, none, none, none]);
            }
        }
    }
    // SAFETY: forwarded; the values belong to `env`.
    unsafe { factories::call(env, f, &args) }
}

/// A caller's scratch Buffer as the factories take bytes: its ArrayBuffer and where
/// the Buffer starts in it.
struct Scratch {
    array_buffer: sys::napi_value,
    offset: u32,
}

impl Scratch {
    /// # Safety
    /// `env` is the live environment of the current call; `buffer` is a Buffer of it.
    unsafe fn of(env: sys::napi_env, buffer: sys::napi_value) -> napi::Result<Self> {
        let mut kind = 0;
        let mut length = 0usize;
        let mut data = ptr::null_mut();
        let mut array_buffer = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: forwarded; out-pointers are locals.
        ok(
            unsafe {
                sys::napi_get_typedarray_info(
                    env,
                    buffer,
                    &mut kind,
                    &mut length,
                    &mut data,
                    &mut array_buffer,
                    &mut offset,
                )
            },
            "napi_get_typedarray_info",
        )?;
        Ok(Scratch {
            array_buffer,
            offset: offset as u32,
        })
    }
}

/// Sets `sunk` on the events of `receive` (a LinkReceive napi-rs made) whose file
/// bytes went to a sink, as the `received` factory does.
///
/// # Safety
/// `env` is the live environment of the current call; `receive` belongs to it.
unsafe fn mark_sunk(
    env: sys::napi_env,
    receive: sys::napi_value,
    sunk: &[(usize, u32)],
) -> napi::Result<()> {
    // SAFETY (all calls): forwarded; out-pointers are locals.
    let v = unsafe { Values::new(env) };
    let mut events = ptr::null_mut();
    ok(
        unsafe { sys::napi_get_named_property(env, receive, c"events".as_ptr(), &mut events) },
        "napi_get_named_property",
    )?;
    for &(i, n) in sunk {
        let mut event = ptr::null_mut();
        ok(
            unsafe { sys::napi_get_element(env, events, i as u32, &mut event) },
            "napi_get_element",
        )?;
        ok(
            unsafe { sys::napi_set_named_property(env, event, c"sunk".as_ptr(), v.uint32(n)?) },
            "napi_set_named_property",
        )?;
    }
    Ok(())
}

fn ok(status: sys::napi_status, what: &str) -> napi::Result<()> {
    factories::ok(status, what)
}

//! How `MtpLink`'s results cross to JS: frames as Buffers (pooled views for one
//! transmit, one Buffer for a batch), transport events beside the session's
//! `MtpEvent`s (whose conversion `mtp_convert` shares with `MtpSession`), and
//! the error codes.

use mtcore::link::{Frames, LinkError, LinkEvent, TransportCode};
use napi::bindgen_prelude::{Either, ToNapiValue, TypeName, ValueType};
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

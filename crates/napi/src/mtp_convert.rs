//! The message layer's types as JS sees them: `MtpLink`'s options, persisted
//! state, salts and events.

use mtcore::crypto::envelope::{AuthKey, Sender};
use mtcore::mtp::{DropReason, Event, FutureSalt, Options, Session, SessionState};
use napi::bindgen_prelude::{BigInt, Buffer, ToNapiValue, TypeName, ValueType};
use napi_derive::napi;

use crate::convert::{big, buffer_of, ms, u64_of};
use crate::errors::{coded, JsError};
use crate::transport::TransportOptions;

#[napi(object)]
#[derive(Default)]
pub struct MtpOptions {
    /// The connection's transport, as for `TransportCodec`: `transmit` gives frames
    /// and `receive` takes the socket's bytes. Without one the link works on whole
    /// packets (a server whose connections frame for themselves, as TestDc's do).
    pub transport: Option<TransportOptions>,
    /// Default: random.
    pub session_id: Option<BigInt>,
    pub salt: Option<BigInt>,
    /// Server time minus local time (ms). Given = the clock is trusted (time window on).
    pub time_offset: Option<f64>,
    /// Without a transport: free bytes before each packet (for the caller's
    /// transport header). With one the link sets it.
    pub headroom: Option<u32>,
    /// Without a transport: capacity reserved after each packet (for a trailer).
    pub tailroom: Option<u32>,
    /// Server side of a session (for a test DC). Default false.
    pub server: Option<bool>,
    /// Stand-alone ack after this many ms (default 1000).
    pub ack_delay: Option<f64>,
    /// Stand-alone ack at once past this many pending (default 16).
    pub ack_threshold: Option<u32>,
    /// msgs_state_req about messages unacknowledged this long (default 20000 ms).
    pub state_req_after: Option<f64>,
    /// Most bytes all gzip_packed of one packet may inflate to, together (default 16 MiB).
    pub max_gzip: Option<u32>,
    /// Ask for future salts ahead of expiry (client default true).
    pub auto_future_salts: Option<bool>,
    /// Server: check every client message as Telegram does, answering
    /// bad_msg_notification (16-20, 32-35, 64), bad_server_salt (48) and
    /// new_session_created; refusals come as `rejected` events. Default false.
    pub server_checks: Option<bool>,
}

#[napi(object)]
pub struct MtpFutureSalt {
    pub valid_since: i32,
    pub valid_until: i32,
    pub salt: BigInt,
}

pub fn salt_js(s: &FutureSalt) -> MtpFutureSalt {
    MtpFutureSalt {
        valid_since: s.valid_since,
        valid_until: s.valid_until,
        salt: big(s.salt),
    }
}

pub fn salt_rs(s: &MtpFutureSalt) -> FutureSalt {
    FutureSalt {
        valid_since: s.valid_since,
        valid_until: s.valid_until,
        salt: u64_of(&s.salt),
    }
}

/// The auth key from its 256 bytes.
pub fn auth_key(bytes: &[u8]) -> Result<AuthKey, JsError> {
    AuthKey::from_slice(bytes).ok_or_else(|| {
        coded(
            "ERR_BAD_AUTH_KEY",
            format!("auth key must be 256 bytes, got {}", bytes.len()),
        )
    })
}

/// Session options from JS ones; a client without a session_id gets a random one.
pub fn options(o: Option<MtpOptions>) -> Result<Options, JsError> {
    let o = o.unwrap_or_default();
    let mut opts = if o.server == Some(true) {
        Options::server()
    } else {
        Options::client()
    };
    opts.session_id = match &o.session_id {
        Some(id) => u64_of(id),
        // The server side adopts the client's session_id.
        None if opts.role == Sender::Server => 0,
        None => {
            let mut b = [0u8; 8];
            crate::random::with_random(|random| {
                while b == [0; 8] {
                    random(&mut b);
                }
            })?;
            u64::from_le_bytes(b)
        }
    };
    if let Some(s) = &o.salt {
        opts.salt = u64_of(s);
    }
    if let Some(t) = o.time_offset {
        opts.time_offset_ms = Some(ms(t));
    }
    opts.headroom = o.headroom.unwrap_or(0) as usize;
    opts.tailroom = o.tailroom.unwrap_or(0) as usize;
    if let Some(v) = o.ack_delay {
        opts.ack_delay_ms = ms(v);
    }
    if let Some(v) = o.ack_threshold {
        opts.ack_threshold = v as usize;
    }
    if let Some(v) = o.state_req_after {
        opts.state_req_after_ms = ms(v);
    }
    if let Some(v) = o.max_gzip {
        opts.max_gzip_len = v as usize;
    }
    if let Some(v) = o.auto_future_salts {
        opts.auto_future_salts = v;
    }
    if let Some(v) = o.server_checks {
        opts.server_checks = v && opts.role == Sender::Server;
    }
    Ok(opts)
}

/// Everything to persist besides the auth key (which `authKey` also carries).
#[napi(object)]
pub struct MtpState {
    pub auth_key: Option<Buffer>,
    pub session_id: BigInt,
    pub salt: BigInt,
    pub future_salts: Vec<MtpFutureSalt>,
    pub time_offset: f64,
    pub time_synced: bool,
    pub seqno: u32,
    pub last_msg_id: BigInt,
}

/// Everything `session` would persist, its auth key included.
pub fn export_state(session: &Session) -> MtpState {
    let s = session.state();
    MtpState {
        auth_key: Some(Buffer::from(session.auth_key().bytes().to_vec())),
        session_id: big(s.session_id),
        salt: big(s.salt),
        future_salts: s.future_salts.iter().map(salt_js).collect(),
        time_offset: s.time_offset_ms as f64,
        time_synced: s.time_synced,
        seqno: s.seqno,
        last_msg_id: big(s.last_msg_id),
    }
}

/// Restores exported state (the auth key is the session's own; `authKey` is ignored).
pub fn import_state(session: &mut Session, state: &MtpState, now: f64) {
    let s = SessionState {
        session_id: u64_of(&state.session_id),
        salt: u64_of(&state.salt),
        future_salts: state.future_salts.iter().map(salt_rs).collect(),
        time_offset_ms: ms(state.time_offset),
        time_synced: state.time_synced,
        seqno: state.seqno,
        last_msg_id: u64_of(&state.last_msg_id),
    };
    session.set_state(&s, ms(now));
}

/// The body of an event, handed to JS as a Buffer: small ones a view into the
/// thread's pool (see `arena`), larger ones a Buffer of their own.
pub struct Body(pub Vec<u8>);

impl TypeName for Body {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Body {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        // SAFETY (both calls): the caller's contract on `env`, forwarded.
        match unsafe { crate::arena::view_of(env, &[&val.0]) }? {
            Some(view) => Ok(view),
            None => unsafe { buffer_of(env, &[&val.0]) },
        }
    }
}

/// What happened on receipt; `kind` tells which.
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum MtpEvent {
    RpcResult {
        req_msg_id: BigInt,
        #[napi(ts_type = "Buffer")]
        body: Body,
    },
    RpcError {
        req_msg_id: BigInt,
        code: i32,
        message: String,
    },
    Message {
        msg_id: BigInt,
        seqno: u32,
        #[napi(ts_type = "Buffer")]
        body: Body,
    },
    Acked {
        msg_ids: Vec<BigInt>,
    },
    Resent {
        old_msg_id: BigInt,
        new_msg_id: BigInt,
    },
    /// A request was given up: it will not be answered.
    Failed {
        msg_id: BigInt,
        /// The bad_msg_notification code for REJECTED, -1 for ANSWER_DROPPED, else 0.
        error_code: i32,
        /// REJECTED (the server kept refusing it), ANSWER_DROPPED (its answer came
        /// but could not be read, or may have been in a message that had to be dropped
        /// and the server says it has the request), RESENT_TOO_OFTEN (the server kept
        /// claiming to have lost it).
        #[napi(ts_type = "'REJECTED' | 'ANSWER_DROPPED' | 'RESENT_TOO_OFTEN'")]
        reason: String,
    },
    BadMsg {
        msg_id: BigInt,
        error_code: i32,
    },
    SaltChanged {
        salt: BigInt,
    },
    FutureSalts {
        salts: Vec<MtpFutureSalt>,
    },
    SessionCreated {
        first_msg_id: BigInt,
        unique_id: BigInt,
        server_salt: BigInt,
    },
    SessionReset {
        old_session_id: BigInt,
        new_session_id: BigInt,
    },
    TimeFixed {
        offset: f64,
    },
    Pong {
        msg_id: BigInt,
        ping_id: BigInt,
    },
    StateInfo {
        req_msg_id: BigInt,
        msg_ids: Vec<BigInt>,
        states: Vec<u32>,
    },
    DestroySession {
        session_id: BigInt,
        existed: bool,
    },
    /// Server checks: a client message was refused with this bad_msg_notification
    /// code (48: bad_server_salt).
    Rejected {
        msg_id: BigInt,
        error_code: i32,
    },
    Dropped {
        /// Stable code: MSG_KEY, AUTH_KEY_ID, ENVELOPE, SESSION_ID, MSG_ID, TIME_WINDOW,
        /// DUPLICATE, TOO_OLD, MALFORMED, GZIP (corrupt, or past the packet's inflate
        /// budget), NESTED_CONTAINER, TOO_DEEP (containers, msg_copy and gzip_packed
        /// nested past 8 levels), UNKNOWN_MESSAGE.
        reason: String,
        msg_id: Option<BigInt>,
        detail: String,
    },
}

/// The event as JS sees it.
pub fn event_js(e: Event) -> MtpEvent {
    let body = Body;
    match e {
        Event::RpcResult {
            req_msg_id,
            body: body_bytes,
        } => MtpEvent::RpcResult {
            req_msg_id: big(req_msg_id),
            body: body(body_bytes),
        },
        Event::RpcError {
            req_msg_id,
            code,
            message,
        } => MtpEvent::RpcError {
            req_msg_id: big(req_msg_id),
            code,
            message,
        },
        Event::Message {
            msg_id,
            seqno,
            body: body_bytes,
        } => MtpEvent::Message {
            msg_id: big(msg_id),
            seqno,
            body: body(body_bytes),
        },
        Event::Acked { msg_ids } => MtpEvent::Acked {
            msg_ids: msg_ids.into_iter().map(big).collect(),
        },
        Event::Resent {
            old_msg_id,
            new_msg_id,
        } => MtpEvent::Resent {
            old_msg_id: big(old_msg_id),
            new_msg_id: big(new_msg_id),
        },
        Event::Failed {
            msg_id,
            error_code,
            reason,
        } => MtpEvent::Failed {
            msg_id: big(msg_id),
            error_code,
            reason: reason.code().to_string(),
        },
        Event::BadMsg { msg_id, error_code } => MtpEvent::BadMsg {
            msg_id: big(msg_id),
            error_code,
        },
        Event::SaltChanged { salt } => MtpEvent::SaltChanged { salt: big(salt) },
        Event::FutureSalts { salts } => MtpEvent::FutureSalts {
            salts: salts.iter().map(salt_js).collect(),
        },
        Event::SessionCreated {
            first_msg_id,
            unique_id,
            server_salt,
        } => MtpEvent::SessionCreated {
            first_msg_id: big(first_msg_id),
            unique_id: big(unique_id),
            server_salt: big(server_salt),
        },
        Event::SessionReset {
            old_session_id,
            new_session_id,
        } => MtpEvent::SessionReset {
            old_session_id: big(old_session_id),
            new_session_id: big(new_session_id),
        },
        Event::TimeFixed { offset_ms } => MtpEvent::TimeFixed {
            offset: offset_ms as f64,
        },
        Event::Pong { msg_id, ping_id } => MtpEvent::Pong {
            msg_id: big(msg_id),
            ping_id: big(ping_id),
        },
        Event::StateInfo { req_msg_id, states } => MtpEvent::StateInfo {
            req_msg_id: big(req_msg_id),
            msg_ids: states.iter().map(|s| big(s.0)).collect(),
            states: states.iter().map(|s| u32::from(s.1)).collect(),
        },
        Event::DestroySession {
            session_id,
            existed,
        } => MtpEvent::DestroySession {
            session_id: big(session_id),
            existed,
        },
        Event::Rejected { msg_id, error_code } => MtpEvent::Rejected {
            msg_id: big(msg_id),
            error_code,
        },
        Event::Dropped(reason) => dropped_js(&reason),
    }
}

pub fn dropped_js(reason: &DropReason) -> MtpEvent {
    MtpEvent::Dropped {
        reason: reason.code().to_string(),
        msg_id: reason.msg_id().map(big),
        detail: reason.to_string(),
    }
}

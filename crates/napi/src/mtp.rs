//! JS binding of mtcore::mtp: the `MtpSession` class, its batch forms, and the
//! plain (unencrypted) message helpers. Conversions only; OS randomness for
//! padding and session ids is taken here, at the edge.
//!
//! 64-bit ids cross as bigint: outputs are unsigned; inputs may be signed
//! (int64 as the TL layer reads them) or unsigned.

use std::cell::RefCell;

use mtcore::crypto::envelope::{self, AuthKey, Sender};
use mtcore::mtp::session::check_body;
use mtcore::mtp::{self, plain, DropReason, Event, FutureSalt, Options, Session, SessionState};
use napi::bindgen_prelude::{
    BigInt, BigUint64Array, Buffer, BufferSlice, ClassInstance, Float64Array, ToNapiValue,
    TypeName, Uint32Array, ValueType,
};
use napi_derive::napi;

use crate::errors::{coded, JsError};

thread_local! {
    /// Random bytes drawn from the OS in blocks, so a packet's padding costs no syscall.
    static POOL: RefCell<(Box<[u8; 4096]>, usize)> = RefCell::new((Box::new([0; 4096]), 4096));
}

/// Fills `buf` with OS randomness (buffered per thread).
fn random(buf: &mut [u8]) {
    POOL.with(|pool| {
        let (bytes, used) = &mut *pool.borrow_mut();
        let mut out = buf;
        while !out.is_empty() {
            if *used == bytes.len() {
                getrandom::fill(&mut bytes[..]).expect("the OS random source failed");
                *used = 0;
            }
            let n = out.len().min(bytes.len() - *used);
            out[..n].copy_from_slice(&bytes[*used..*used + n]);
            // Never hand out the same bytes twice.
            bytes[*used..*used + n].fill(0);
            *used += n;
            out = &mut out[n..];
        }
    })
}

/// Bytes handed to JS as a Buffer: small ones copied by the engine (cheaper than an
/// external Buffer with a finalizer), large ones handed over without a copy.
pub struct Bytes(Vec<u8>);

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
        let mut out = std::ptr::null_mut();
        let mut data = std::ptr::null_mut();
        // SAFETY: the caller guarantees `env` is valid (trait contract); napi copies
        // `len` bytes from our live Vec before returning and keeps no pointer to it.
        let status = unsafe {
            napi::sys::napi_create_buffer_copy(
                env,
                val.0.len(),
                val.0.as_ptr().cast(),
                &mut data,
                &mut out,
            )
        };
        if status != napi::sys::Status::napi_ok {
            return Err(napi::Error::new(
                napi::Status::GenericFailure,
                "could not create a Buffer",
            ));
        }
        Ok(out)
    }
}

fn u64_of(v: &BigInt) -> u64 {
    // Low 64 bits, two's complement for negatives (a signed int64 from the TL layer).
    let magnitude = v.words.first().copied().unwrap_or(0);
    if v.sign_bit {
        magnitude.wrapping_neg()
    } else {
        magnitude
    }
}

fn big(v: u64) -> BigInt {
    BigInt::from(v)
}

fn ms(now: f64) -> i64 {
    now as i64
}

#[napi(object)]
#[derive(Default)]
pub struct MtpOptions {
    /// Default: random.
    pub session_id: Option<BigInt>,
    pub salt: Option<BigInt>,
    /// Server time minus local time (ms). Given = the clock is trusted (time window on).
    pub time_offset: Option<f64>,
    /// Free bytes before each packet (for the transport header).
    pub headroom: Option<u32>,
    /// Capacity reserved after each packet (for a transport trailer).
    pub tailroom: Option<u32>,
    /// Server side of a session (for a test DC). Default false.
    pub server: Option<bool>,
    /// Stand-alone ack after this many ms (default 1000).
    pub ack_delay: Option<f64>,
    /// Stand-alone ack at once past this many pending (default 16).
    pub ack_threshold: Option<u32>,
    /// msgs_state_req about messages unacknowledged this long (default 20000 ms).
    pub state_req_after: Option<f64>,
    /// Largest inflated gzip_packed (default 16 MiB).
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

fn salt_js(s: &FutureSalt) -> MtpFutureSalt {
    MtpFutureSalt {
        valid_since: s.valid_since,
        valid_until: s.valid_until,
        salt: big(s.salt),
    }
}

fn salt_rs(s: &MtpFutureSalt) -> FutureSalt {
    FutureSalt {
        valid_since: s.valid_since,
        valid_until: s.valid_until,
        salt: u64_of(&s.salt),
    }
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

#[napi(object, object_from_js = false)]
pub struct MtpTransmit {
    /// Encrypted packets, each after `headroom` free bytes.
    #[napi(ts_type = "Array<Buffer>")]
    pub packets: Vec<Bytes>,
    /// msg_ids of the enqueued bodies these packets carry.
    pub msg_ids: Vec<BigInt>,
    /// When to call transmit again (ms since the epoch), or absent (undefined) when idle.
    pub deadline: Option<f64>,
}

#[napi(object, object_from_js = false)]
pub struct MtpReceive {
    pub events: Vec<MtpEvent>,
    pub deadline: Option<f64>,
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
        body: Bytes,
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
        body: Bytes,
    },
    Acked {
        msg_ids: Vec<BigInt>,
    },
    Resent {
        old_msg_id: BigInt,
        new_msg_id: BigInt,
    },
    Failed {
        msg_id: BigInt,
        error_code: i32,
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
        /// DUPLICATE, TOO_OLD, MALFORMED, GZIP, NESTED_CONTAINER, UNKNOWN_MESSAGE.
        reason: String,
        msg_id: Option<BigInt>,
        detail: String,
    },
}

fn event_js(e: Event) -> MtpEvent {
    match e {
        Event::RpcResult { req_msg_id, body } => MtpEvent::RpcResult {
            req_msg_id: big(req_msg_id),
            body: Bytes(body),
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
            body,
        } => MtpEvent::Message {
            msg_id: big(msg_id),
            seqno,
            body: Bytes(body),
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
        Event::Failed { msg_id, error_code } => MtpEvent::Failed {
            msg_id: big(msg_id),
            error_code,
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

fn dropped_js(reason: &DropReason) -> MtpEvent {
    MtpEvent::Dropped {
        reason: reason.code().to_string(),
        msg_id: reason.msg_id().map(big),
        detail: reason.to_string(),
    }
}

/// One MTProto session's message layer (sans-IO: the caller passes `now`, in ms since
/// the epoch, e.g. `Date.now()`, and calls `transmit` again at the returned deadline).
#[napi]
pub struct MtpSession {
    inner: Session,
}

#[napi]
impl MtpSession {
    #[napi(constructor)]
    pub fn new(auth_key: Buffer, options: Option<MtpOptions>) -> Result<Self, JsError> {
        let key = AuthKey::from_slice(&auth_key).ok_or_else(|| {
            coded(
                "ERR_BAD_AUTH_KEY",
                format!("auth key must be 256 bytes, got {}", auth_key.len()),
            )
        })?;
        let o = options.unwrap_or_default();
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
                while b == [0; 8] {
                    random(&mut b);
                }
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
        Ok(MtpSession {
            inner: Session::new(key, opts),
        })
    }

    /// Queues a serialized TL object; returns its msg_id (content-related by default).
    #[napi]
    pub fn enqueue(
        &mut self,
        body: BufferSlice,
        now: f64,
        content_related: Option<bool>,
    ) -> Result<BigInt, JsError> {
        self.inner
            .enqueue(body.to_vec(), content_related.unwrap_or(true), ms(now))
            .map(big)
            .map_err(|e| coded("ERR_BAD_BODY", e))
    }

    /// Queues ping (or ping_delay_disconnect with `disconnectDelay` seconds); returns its
    /// msg_id, which the `pong` event names.
    #[napi]
    pub fn enqueue_ping(
        &mut self,
        ping_id: BigInt,
        now: f64,
        disconnect_delay: Option<i32>,
    ) -> BigInt {
        big(self
            .inner
            .enqueue_ping(u64_of(&ping_id), disconnect_delay, ms(now)))
    }

    /// Packs, encrypts and returns whatever is due (packets may be empty). `bodies`, if
    /// given, are enqueued first as content-related requests (one native call per send);
    /// `msgIds` lists every request these packets carry, in queue order (earlier
    /// enqueued ones, re-sends, then `bodies`).
    #[napi]
    pub fn transmit(
        &mut self,
        now: f64,
        bodies: Option<Vec<BufferSlice>>,
    ) -> Result<MtpTransmit, JsError> {
        transmit_js(&mut self.inner, now, bodies)
    }

    /// Decrypts a whole packet in place (its bytes are consumed) and returns the events.
    #[napi]
    pub fn receive(&mut self, mut packet: BufferSlice, now: f64) -> MtpReceive {
        receive_js(&mut self.inner, &mut packet, now)
    }

    /// When transmit should next be called (ms), or null when idle.
    #[napi]
    pub fn deadline(&self, now: f64) -> Option<f64> {
        self.inner.deadline(ms(now)).map(|d| d as f64)
    }

    /// After a reconnect: asks the server about every in-flight message (msgs_state_req);
    /// only those it did not receive are re-sent, as `resent` events tell. Returns the count.
    #[napi]
    pub fn request_state(&mut self, now: f64) -> u32 {
        self.inner.request_state(ms(now)) as u32
    }

    /// Blind alternative: re-sends every in-flight message under its own msg_id in a
    /// container (the server drops duplicates). Returns the count.
    #[napi]
    pub fn resend_pending(&mut self) -> u32 {
        self.inner.resend_pending() as u32
    }

    /// Forgets a queued or in-flight request; a later answer to it is dropped.
    #[napi]
    pub fn cancel(&mut self, msg_id: BigInt) -> bool {
        self.inner.cancel(u64_of(&msg_id))
    }

    /// msg_ids of enqueued requests not answered yet.
    #[napi]
    pub fn in_flight(&self) -> Vec<BigInt> {
        self.inner
            .in_flight()
            .into_iter()
            .map(|(id, _)| big(id))
            .collect()
    }

    #[napi(getter)]
    pub fn session_id(&self) -> BigInt {
        big(self.inner.session_id())
    }

    #[napi(setter)]
    pub fn set_session_id(&mut self, id: BigInt) {
        self.inner.set_session_id(u64_of(&id));
    }

    #[napi(getter)]
    pub fn salt(&self) -> BigInt {
        big(self.inner.salt())
    }

    #[napi(setter)]
    pub fn set_salt(&mut self, salt: BigInt) {
        self.inner.set_salt(u64_of(&salt));
    }

    /// Server time minus local time in ms; setting it also marks the clock as trusted.
    #[napi(getter)]
    pub fn time_offset(&self) -> f64 {
        self.inner.time_offset_ms() as f64
    }

    #[napi(setter)]
    pub fn set_time_offset(&mut self, offset: f64) {
        self.inner.set_time_offset_ms(ms(offset));
    }

    #[napi(getter)]
    pub fn time_synced(&self) -> bool {
        self.inner.time_synced()
    }

    /// Content-related messages sent so far (the seqno counter).
    #[napi(getter)]
    pub fn seqno(&self) -> u32 {
        self.inner.seqno()
    }

    #[napi(setter)]
    pub fn set_seqno(&mut self, count: u32) {
        self.inner.set_seqno(count);
    }

    #[napi(getter)]
    pub fn last_msg_id(&self) -> BigInt {
        big(self.inner.last_msg_id())
    }

    #[napi(setter)]
    pub fn set_last_msg_id(&mut self, id: BigInt) {
        self.inner.set_last_msg_id(u64_of(&id));
    }

    #[napi(getter)]
    pub fn future_salts(&self) -> Vec<MtpFutureSalt> {
        self.inner.future_salts().iter().map(salt_js).collect()
    }

    /// Replaces the future salts (server: the salts clients may use, each inside its
    /// window; the current one follows the time).
    #[napi]
    pub fn set_future_salts(&mut self, salts: Vec<MtpFutureSalt>, now: f64) {
        self.inner
            .set_future_salts(salts.iter().map(salt_rs).collect(), ms(now));
    }

    /// Server side: the session_id inside a client's packet (a copy is decrypted with
    /// `authKey`), or null when the packet does not decrypt with it. Lets a server pick
    /// the session that must `receive` the packet.
    #[napi]
    pub fn peek_session_id(auth_key: BufferSlice, packet: BufferSlice) -> Option<BigInt> {
        let key = AuthKey::from_slice(&auth_key)?;
        let plain = envelope::decrypt(&key, Sender::Client, &packet).ok()?;
        Some(big(u64::from_le_bytes(plain[8..16].try_into().ok()?)))
    }

    /// Everything to persist, the auth key included.
    #[napi]
    pub fn export_state(&self) -> MtpState {
        let s = self.inner.state();
        MtpState {
            auth_key: Some(Buffer::from(self.inner.auth_key().bytes().to_vec())),
            session_id: big(s.session_id),
            salt: big(s.salt),
            future_salts: s.future_salts.iter().map(salt_js).collect(),
            time_offset: s.time_offset_ms as f64,
            time_synced: s.time_synced,
            seqno: s.seqno,
            last_msg_id: big(s.last_msg_id),
        }
    }

    /// Restores exported state (the auth key is the constructor's; `authKey` is ignored).
    #[napi]
    pub fn import_state(&mut self, state: MtpState, now: f64) {
        let s = SessionState {
            session_id: u64_of(&state.session_id),
            salt: u64_of(&state.salt),
            future_salts: state.future_salts.iter().map(salt_rs).collect(),
            time_offset_ms: ms(state.time_offset),
            time_synced: state.time_synced,
            seqno: state.seqno,
            last_msg_id: u64_of(&state.last_msg_id),
        };
        self.inner.set_state(&s, ms(now));
    }

    /// transmit for many sessions in one native call; `bodies[i]` (optional) go to
    /// `sessions[i]`. Every body is checked before any session changes.
    #[napi]
    pub fn transmit_all(
        mut sessions: Vec<ClassInstance<MtpSession>>,
        now: f64,
        bodies: Option<Vec<Option<Vec<BufferSlice>>>>,
    ) -> Result<MtpBatchTransmit, JsError> {
        let bodies = bodies.unwrap_or_default();
        if bodies.len() > sessions.len() {
            return Err(coded(
                "ERR_BAD_BATCH",
                format!(
                    "{} sessions but {} body lists",
                    sessions.len(),
                    bodies.len()
                ),
            ));
        }
        for b in bodies.iter().flatten().flatten() {
            check_body(b).map_err(|e| coded("ERR_BAD_BODY", e))?;
        }
        let mut bodies = bodies.into_iter();
        let mut out = BatchTransmit::default();
        for (i, s) in sessions.iter_mut().enumerate() {
            if let Some(list) = bodies.next().flatten() {
                s.inner
                    .enqueue_all(list.iter().map(|b| b.to_vec()).collect(), ms(now))
                    .expect("bodies checked above");
            }
            let t = s.inner.transmit(ms(now), &mut random);
            out.msg_id_session
                .extend(std::iter::repeat_n(i as u32, t.msg_ids.len()));
            out.msg_ids.extend(t.msg_ids);
            out.packet_session
                .extend(std::iter::repeat_n(i as u32, t.packets.len()));
            out.packets.extend(t.packets.into_iter().map(Bytes));
            out.deadlines
                .push(t.deadline.map_or(f64::NAN, |d| d as f64));
        }
        Ok(MtpBatchTransmit {
            packets: out.packets,
            packet_session: out.packet_session.into(),
            msg_ids: out.msg_ids.into(),
            msg_id_session: out.msg_id_session.into(),
            deadlines: out.deadlines.into(),
        })
    }

    /// receive for many (session, packet) pairs in one native call (a session may appear
    /// more than once). Events come flat, each with the index of its pair.
    #[napi]
    pub fn receive_all(
        mut sessions: Vec<ClassInstance<MtpSession>>,
        packets: Vec<BufferSlice>,
        now: f64,
    ) -> Result<MtpBatchReceive, JsError> {
        if sessions.len() != packets.len() {
            return Err(coded(
                "ERR_BAD_BATCH",
                format!("{} sessions but {} packets", sessions.len(), packets.len()),
            ));
        }
        let mut events = Vec::with_capacity(packets.len());
        let mut event_session = Vec::with_capacity(packets.len());
        let mut deadlines = Vec::with_capacity(packets.len());
        for (i, (s, mut p)) in sessions.iter_mut().zip(packets).enumerate() {
            for e in s.inner.receive(&mut p, ms(now), &mut random) {
                events.push(event_js(e));
                event_session.push(i as u32);
            }
            deadlines.push(s.inner.deadline(ms(now)).map_or(f64::NAN, |d| d as f64));
        }
        Ok(MtpBatchReceive {
            events,
            event_session: event_session.into(),
            deadlines: deadlines.into(),
        })
    }
}

#[derive(Default)]
struct BatchTransmit {
    packets: Vec<Bytes>,
    packet_session: Vec<u32>,
    msg_ids: Vec<u64>,
    msg_id_session: Vec<u32>,
    deadlines: Vec<f64>,
}

/// transmitAll's result, flat: few JS objects however many sessions.
#[napi(object, object_from_js = false)]
pub struct MtpBatchTransmit {
    /// Every packet, sessions in input order.
    #[napi(ts_type = "Array<Buffer>")]
    pub packets: Vec<Bytes>,
    /// For each packet, the index of its session in the input.
    pub packet_session: Uint32Array,
    /// msg_ids of the driver's messages carried, in order.
    pub msg_ids: BigUint64Array,
    /// For each msg_id, the index of its session.
    pub msg_id_session: Uint32Array,
    /// Per session: when to call transmit again (ms), NaN when idle.
    pub deadlines: Float64Array,
}

/// receiveAll's result, flat.
#[napi(object, object_from_js = false)]
pub struct MtpBatchReceive {
    pub events: Vec<MtpEvent>,
    /// For each event, the index of its (session, packet) pair.
    pub event_session: Uint32Array,
    /// Per pair: the session's next deadline after that packet (ms), NaN when idle.
    pub deadlines: Float64Array,
}

fn transmit_js(
    s: &mut Session,
    now: f64,
    bodies: Option<Vec<BufferSlice>>,
) -> Result<MtpTransmit, JsError> {
    if let Some(bodies) = bodies {
        s.enqueue_all(bodies.iter().map(|b| b.to_vec()).collect(), ms(now))
            .map_err(|e| coded("ERR_BAD_BODY", e))?;
    }
    let t = s.transmit(ms(now), &mut random);
    Ok(MtpTransmit {
        packets: t.packets.into_iter().map(Bytes).collect(),
        msg_ids: t.msg_ids.into_iter().map(big).collect(),
        deadline: t.deadline.map(|d| d as f64),
    })
}

fn receive_js(s: &mut Session, packet: &mut [u8], now: f64) -> MtpReceive {
    let events = s.receive(packet, ms(now), &mut random);
    MtpReceive {
        events: events.into_iter().map(event_js).collect(),
        deadline: s.deadline(ms(now)).map(|d| d as f64),
    }
}

#[napi(object)]
pub struct MtpPlainMessage {
    pub msg_id: BigInt,
    pub body: Buffer,
}

/// An unencrypted message (auth_key_id 0 ‖ msg_id ‖ length ‖ body) after `headroom` bytes.
#[napi]
pub fn mtp_plain_wrap(msg_id: BigInt, body: Buffer, headroom: Option<u32>) -> Buffer {
    plain::wrap(u64_of(&msg_id), &body, headroom.unwrap_or(0) as usize).into()
}

/// Checks an unencrypted message (from the server unless `fromClient`) and splits it.
#[napi]
pub fn mtp_plain_unwrap(
    packet: Buffer,
    from_client: Option<bool>,
) -> Result<MtpPlainMessage, JsError> {
    let from = if from_client == Some(true) {
        Sender::Client
    } else {
        Sender::Server
    };
    let (msg_id, body) = plain::unwrap(&packet, from).map_err(|e| {
        let code = match e {
            plain::PlainError::TooShort(_) => "ERR_PLAIN_TOO_SHORT",
            plain::PlainError::AuthKeyIdNotZero(_) => "ERR_PLAIN_AUTH_KEY_ID",
            plain::PlainError::LengthMismatch { .. } => "ERR_PLAIN_LENGTH",
            plain::PlainError::BadMsgId(_) => "ERR_PLAIN_MSG_ID",
        };
        coded(code, e)
    })?;
    Ok(MtpPlainMessage {
        msg_id: big(msg_id),
        body: body.to_vec().into(),
    })
}

/// The msg_id for a moment (ms since the epoch), low two bits zero: for the handshake's
/// plain messages, which have no session.
#[napi]
pub fn mtp_msg_id_at(now: f64) -> BigInt {
    big(mtp::msg_id::msg_id_at(ms(now)))
}

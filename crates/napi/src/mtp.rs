//! JS binding of mtcore::mtp: the `MtpSession` class, its batch forms, and the
//! plain (unencrypted) message helpers. Conversions only (shared ones live in
//! `mtp_convert`); randomness for padding comes from `crate::random`.
//!
//! 64-bit ids cross as bigint: outputs are unsigned; inputs may be signed
//! (int64 as the TL layer reads them) or unsigned.

use mtcore::crypto::envelope::{self, AuthKey, Sender};
use mtcore::mtp::session::check_body;
use mtcore::mtp::{self, plain, Session};
use napi::bindgen_prelude::{
    BigInt, BigUint64Array, Buffer, BufferSlice, ClassInstance, Float64Array, Uint32Array,
};
use napi_derive::napi;

use crate::convert::{big, ms, u64_of, Bytes};
use crate::errors::{coded, JsError};
use crate::mtp_convert::{
    self, event_js, salt_js, salt_rs, MtpEvent, MtpFutureSalt, MtpOptions, MtpState,
};
use crate::random::with_random;

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
        let key = mtp_convert::auth_key(&auth_key)?;
        let opts = mtp_convert::options(options)?;
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
    pub fn receive(&mut self, mut packet: BufferSlice, now: f64) -> Result<MtpReceive, JsError> {
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

    /// Server side: the session_id a client's packet names, from its first block only
    /// (unchecked: `receive` checks the packet in full). Null for a packet too short or
    /// under another key. Cheap for large packets, where `peekSessionId` decrypts all.
    #[napi]
    pub fn peek_session_id_unchecked(auth_key: BufferSlice, packet: BufferSlice) -> Option<BigInt> {
        let key = AuthKey::from_slice(&auth_key)?;
        envelope::peek_session_id(&key, Sender::Client, &packet).map(big)
    }

    /// Everything to persist, the auth key included.
    #[napi]
    pub fn export_state(&self) -> MtpState {
        mtp_convert::export_state(&self.inner)
    }

    /// Restores exported state (the auth key is the constructor's; `authKey` is ignored).
    #[napi]
    pub fn import_state(&mut self, state: MtpState, now: f64) {
        mtp_convert::import_state(&mut self.inner, &state, now);
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
        with_random(|random| {
            for (i, s) in sessions.iter_mut().enumerate() {
                if let Some(list) = bodies.next().flatten() {
                    s.inner
                        .enqueue_all(list.iter().map(|b| b.to_vec()).collect(), ms(now))
                        .expect("bodies checked above");
                }
                let t = s.inner.transmit(ms(now), random);
                out.msg_id_session
                    .extend(std::iter::repeat_n(i as u32, t.msg_ids.len()));
                out.msg_ids.extend(t.msg_ids);
                out.packet_session
                    .extend(std::iter::repeat_n(i as u32, t.packets.len()));
                out.packets.extend(t.packets.into_iter().map(Bytes));
                out.deadlines
                    .push(t.deadline.map_or(f64::NAN, |d| d as f64));
            }
        })?;
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
        with_random(|random| {
            for (i, (s, mut p)) in sessions.iter_mut().zip(packets).enumerate() {
                for e in s.inner.receive(&mut p, ms(now), random) {
                    events.push(event_js(e));
                    event_session.push(i as u32);
                }
                deadlines.push(s.inner.deadline(ms(now)).map_or(f64::NAN, |d| d as f64));
            }
        })?;
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
    let t = with_random(|random| {
        if let Some(bodies) = bodies {
            s.enqueue_all(bodies.iter().map(|b| b.to_vec()).collect(), ms(now))
                .map_err(|e| coded("ERR_BAD_BODY", e))?;
        }
        Ok::<_, JsError>(s.transmit(ms(now), random))
    })??;
    Ok(MtpTransmit {
        packets: t.packets.into_iter().map(Bytes).collect(),
        msg_ids: t.msg_ids.into_iter().map(big).collect(),
        deadline: t.deadline.map(|d| d as f64),
    })
}

fn receive_js(s: &mut Session, packet: &mut [u8], now: f64) -> Result<MtpReceive, JsError> {
    let events = with_random(|random| s.receive(packet, ms(now), random))?;
    Ok(MtpReceive {
        events: events.into_iter().map(event_js).collect(),
        deadline: s.deadline(ms(now)).map(|d| d as f64),
    })
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

//! JS binding of mtcore::link: `MtpLink`, one session over one connection's
//! transport, crossed once per direction per turn, and its batch forms that
//! serve many links in one call.
//!
//! Costs kept low on purpose: one Buffer per `transmit` (all frames back to
//! back, copied once from where they were sealed and framed), one Buffer per
//! `transmitAll` for every link, flat typed arrays for batch results, events as
//! the same compact objects `MtpSession` gives (see `link_convert`).

use mtcore::link::Link;
use mtcore::mtp::session::check_body;
use napi::bindgen_prelude::{
    Array, BigInt, BigUint64Array, Buffer, BufferSlice, ClassInstance, Either, Float64Array, Null,
    Uint32Array,
};
use napi_derive::napi;

use crate::convert::{big, ms, u64_of, Ids};
use crate::errors::{coded, JsError};
use crate::link_convert::{deadline_js, link_error, EventBatch, FrameBytes, FrameView};
use crate::mtp_convert::{self, MtpOptions, MtpState};
use crate::random::with_random;
use crate::transport::{kind_name, transport_error_code};
use crate::transport::{CodecConfig, TransportOptions};

#[napi(object, object_from_js = false)]
pub struct LinkTransmit {
    /// Every frame due, back to back, for one socket write; null when nothing is due.
    /// Small ones view a shared pool (as `Buffer.allocUnsafe`'s do) whose bytes are
    /// never reused, so it can go to `socket.write` as it is.
    #[napi(ts_type = "Buffer | null")]
    pub frame: Either<FrameView, Null>,
    /// msg_ids given to `bodies`, in their order: how a driver learns the ids of
    /// the requests it sends (one crossing per direction).
    #[napi(ts_type = "Array<bigint>")]
    pub msg_ids: Ids,
    /// When to call transmit again (ms since the epoch), or absent when idle.
    pub deadline: Option<f64>,
}

#[napi(object, object_from_js = false)]
pub struct LinkReceive {
    #[napi(ts_type = "Array<MtpEvent | LinkTransportEvent>")]
    pub events: EventBatch,
    pub deadline: Option<f64>,
}

/// One MTProto session over one connection's transport (sans-IO: the caller
/// owns the socket and the timer, passes `now` in ms since the epoch, writes
/// `frame` to the socket and feeds what arrives to `receive`).
#[napi]
pub struct MtpLink {
    inner: Link,
    config: CodecConfig,
}

#[napi]
impl MtpLink {
    /// `transport` as for `TransportCodec`; `options` as for `MtpSession`
    /// (`headroom` and `tailroom` are managed by the link and ignored).
    #[napi(constructor)]
    pub fn new(
        auth_key: Buffer,
        transport: TransportOptions,
        options: Option<MtpOptions>,
    ) -> Result<Self, JsError> {
        let key = mtp_convert::auth_key(&auth_key)?;
        let config = CodecConfig::from_options(&transport)?;
        let codec = config.codec()?;
        Ok(Self {
            inner: Link::new(key, mtp_convert::options(options)?, codec),
            config,
        })
    }

    /// Queues `bodies` (serialized TL requests, content-related), then packs,
    /// encrypts and frames whatever is due. Throws ERR_BAD_BODY (nothing
    /// queued), ERR_LINK_BROKEN (reconnect first; nothing queued),
    /// ERR_TRANSPORT_NOT_READY (a server before the client's preamble).
    #[napi]
    pub fn transmit(
        &mut self,
        now: f64,
        bodies: Option<Vec<BufferSlice>>,
    ) -> Result<LinkTransmit, JsError> {
        let bodies = bodies.unwrap_or_default();
        let t = with_random(|random| self.inner.transmit_slices(ms(now), &bodies, random))?
            .map_err(link_error)?;
        Ok(LinkTransmit {
            frame: if t.frames.is_empty() {
                Either::B(Null)
            } else {
                Either::A(FrameView(t.frames))
            },
            msg_ids: Ids(t.msg_ids),
            deadline: deadline_js(t.deadline),
        })
    }

    /// Takes what the socket delivered; returns the events of every whole frame
    /// in it (a partial frame waits for the next chunk).
    #[napi]
    pub fn receive(&mut self, chunk: BufferSlice, now: f64) -> Result<LinkReceive, JsError> {
        let r = with_random(|random| self.inner.receive(&chunk, ms(now), random))?;
        Ok(LinkReceive {
            events: EventBatch(r.events),
            deadline: deadline_js(r.deadline),
        })
    }

    /// After the socket reconnected: a fresh codec (the same transport unless
    /// `transport` is given; a new obfuscated2 init, sent with the next frame),
    /// the same session and messages in flight. Follow with `requestState`.
    #[napi]
    pub fn reconnect(&mut self, transport: Option<TransportOptions>) -> Result<(), JsError> {
        let config = match transport {
            Some(t) => CodecConfig::from_options(&t)?,
            None => self.config.clone(),
        };
        self.inner.reset_transport(config.codec()?);
        self.config = config;
        Ok(())
    }

    /// After a reconnect: asks the server about every message in flight
    /// (msgs_state_req, sent by the next transmit); those it did not receive are
    /// re-sent under new ids (`resent` events). Returns how many were asked about.
    #[napi]
    pub fn request_state(&mut self, now: f64) -> u32 {
        self.inner.session_mut().request_state(ms(now)) as u32
    }

    /// Blind alternative to `requestState`: re-sends every message in flight
    /// under its own id (the server drops what it has). Returns the count.
    #[napi]
    pub fn resend_pending(&mut self) -> u32 {
        self.inner.session_mut().resend_pending() as u32
    }

    /// Queues a request without sending (e.g. while disconnected); returns its msg_id.
    #[napi]
    pub fn enqueue(
        &mut self,
        body: BufferSlice,
        now: f64,
        content_related: Option<bool>,
    ) -> Result<BigInt, JsError> {
        self.inner
            .session_mut()
            .enqueue(body.to_vec(), content_related.unwrap_or(true), ms(now))
            .map(big)
            .map_err(|e| coded("ERR_BAD_BODY", e))
    }

    /// Queues ping (ping_delay_disconnect with `disconnectDelay` seconds) for
    /// keepalive; returns its msg_id, which the `pong` event names.
    #[napi]
    pub fn enqueue_ping(
        &mut self,
        ping_id: BigInt,
        now: f64,
        disconnect_delay: Option<i32>,
    ) -> BigInt {
        big(self
            .inner
            .session_mut()
            .enqueue_ping(u64_of(&ping_id), disconnect_delay, ms(now)))
    }

    /// Queues auth.bindTempAuthKey binding this link's key (a temporary key) to the
    /// 256-byte `permKey` until `expiresAt` (unix seconds, server clock); returns the
    /// query's msg_id. The query's encrypted_message names that msg_id, and a new one
    /// whenever the link re-stamps it (a `resent` event names both).
    #[napi]
    pub fn bind_temp_key(
        &mut self,
        perm_key: BufferSlice,
        nonce: BigInt,
        expires_at: i32,
        now: f64,
    ) -> Result<BigInt, JsError> {
        let perm = mtp_convert::auth_key(&perm_key)?;
        let nonce = u64_of(&nonce);
        let session = self.inner.session_mut();
        Ok(big(with_random(|random| {
            session.enqueue_bind(perm, nonce, expires_at, ms(now), random)
        })?))
    }

    /// Forgets a queued or in-flight request; a later answer to it is dropped.
    #[napi]
    pub fn cancel(&mut self, msg_id: BigInt) -> bool {
        self.inner.session_mut().cancel(u64_of(&msg_id))
    }

    /// msg_ids of requests not answered yet.
    #[napi]
    pub fn in_flight(&self) -> Vec<BigInt> {
        let session = self.inner.session();
        session
            .in_flight()
            .into_iter()
            .map(|(id, _)| big(id))
            .collect()
    }

    /// When transmit should next be called (ms), or null when idle.
    #[napi]
    pub fn deadline(&self, now: f64) -> Option<f64> {
        deadline_js(self.inner.deadline(ms(now)))
    }

    /// The stable code of the decoding error that broke the connection, or null.
    #[napi(getter)]
    pub fn broken(&self) -> Option<&'static str> {
        self.inner.broken().map(transport_error_code)
    }

    /// Bytes of an unfinished frame the transport holds (0 between frames): a driver
    /// drops a connection whose frame stays unfinished (a stream that lost its framing).
    #[napi(getter)]
    pub fn buffered(&self) -> u32 {
        self.inner.codec().buffered() as u32
    }

    /// The transport; null on a server until the client's preamble arrived.
    #[napi(
        getter,
        ts_return_type = "'abridged' | 'intermediate' | 'padded' | 'full' | null"
    )]
    pub fn transport(&self) -> Option<&'static str> {
        self.inner.codec().kind().map(kind_name)
    }

    #[napi(getter)]
    pub fn session_id(&self) -> BigInt {
        big(self.inner.session().session_id())
    }

    #[napi(getter)]
    pub fn salt(&self) -> BigInt {
        big(self.inner.session().salt())
    }

    #[napi(setter)]
    pub fn set_salt(&mut self, salt: BigInt) {
        self.inner.session_mut().set_salt(u64_of(&salt));
    }

    /// Server time minus local time in ms; setting it also marks the clock as trusted.
    #[napi(getter)]
    pub fn time_offset(&self) -> f64 {
        self.inner.session().time_offset_ms() as f64
    }

    #[napi(setter)]
    pub fn set_time_offset(&mut self, offset: f64) {
        self.inner.session_mut().set_time_offset_ms(ms(offset));
    }

    /// Everything to persist, the auth key included (as `MtpSession.exportState`).
    #[napi]
    pub fn export_state(&self) -> MtpState {
        mtp_convert::export_state(self.inner.session())
    }

    /// Restores exported state (the auth key is the constructor's; `authKey` is ignored).
    #[napi]
    pub fn import_state(&mut self, state: MtpState, now: f64) {
        mtp_convert::import_state(self.inner.session_mut(), &state, now);
    }

    /// `transmit` for many links in one native call; `bodies[i]` (optional) go to
    /// `links[i]`. Every body is checked first (ERR_BAD_BODY, nothing changes);
    /// a link that cannot send (broken, not ready) is listed in `errors` with its
    /// bodies not queued, and the others go on.
    #[napi]
    pub fn transmit_all(
        #[napi(ts_arg_type = "Array<MtpLink>")] links: Array,
        now: f64,
        bodies: Option<Vec<Option<Vec<BufferSlice>>>>,
    ) -> Result<LinkBatchTransmit, JsError> {
        let mut links = Links::new(links)?;
        let count = links.len();
        let bodies = bodies.unwrap_or_default();
        if bodies.len() > count {
            return Err(coded(
                "ERR_BAD_BATCH",
                format!("{count} links but {} body lists", bodies.len()),
            ));
        }
        for b in bodies.iter().flatten().flatten() {
            check_body(b).map_err(|e| coded("ERR_BAD_BODY", e))?;
        }
        let mut bodies = bodies.into_iter();
        let mut frames = FrameBytes::new();
        let mut frame_ends = Vec::with_capacity(count);
        let mut msg_ids = Vec::with_capacity(count);
        let mut msg_id_link = Vec::with_capacity(count);
        let mut deadlines = Vec::with_capacity(count);
        let mut errors = Vec::new();
        with_random(|random| {
            links.each(|i, link| {
                let list = bodies.next().flatten().unwrap_or_default();
                match link.inner.transmit_slices(ms(now), &list, random) {
                    Ok(t) => {
                        frames.0.extend_from_slice(t.frames.bytes());
                        msg_id_link.extend(std::iter::repeat_n(i as u32, t.msg_ids.len()));
                        msg_ids.extend(t.msg_ids);
                        deadlines.push(t.deadline.map_or(f64::NAN, |d| d as f64));
                    }
                    Err(e) => {
                        let e = link_error(e);
                        errors.push(LinkBatchError {
                            link: i as u32,
                            code: e.status.to_string(),
                            message: e.reason.clone(),
                        });
                        deadlines.push(f64::NAN);
                    }
                }
                frame_ends.push(frames.0.len() as u32);
                Ok(())
            })
        })??;
        Ok(LinkBatchTransmit {
            frames,
            frame_ends: frame_ends.into(),
            msg_ids: msg_ids.into(),
            msg_id_link: msg_id_link.into(),
            deadlines: deadlines.into(),
            errors,
        })
    }

    /// `receive` for many (link, chunk) pairs in one native call (a link may appear
    /// more than once; its chunks are taken in order). Events come flat, each with
    /// the index of its pair.
    #[napi]
    pub fn receive_all(
        #[napi(ts_arg_type = "Array<MtpLink>")] links: Array,
        chunks: Vec<BufferSlice>,
        now: f64,
    ) -> Result<LinkBatchReceive, JsError> {
        let mut links = Links::new(links)?;
        let count = links.len();
        if count != chunks.len() {
            return Err(coded(
                "ERR_BAD_BATCH",
                format!("{count} links but {} chunks", chunks.len()),
            ));
        }
        let mut raw = Vec::with_capacity(count);
        let mut event_link = Vec::with_capacity(count);
        let mut deadlines = Vec::with_capacity(count);
        with_random(|random| {
            links.each(|i, link| {
                let n = link
                    .inner
                    .receive_into(&chunks[i], ms(now), random, &mut raw);
                event_link.extend(std::iter::repeat_n(i as u32, n));
                deadlines.push(link.inner.deadline(ms(now)).map_or(f64::NAN, |d| d as f64));
                Ok(())
            })
        })??;
        Ok(LinkBatchReceive {
            events: EventBatch(raw),
            event_link: event_link.into(),
            deadlines: deadlines.into(),
        })
    }
}

/// The links of a batch, each checked to be an `MtpLink` before anything changes.
struct Links<'a> {
    array: Array<'a>,
    /// The links, when none appears twice (else each is taken when its turn
    /// comes, so that one link is never borrowed twice at once).
    distinct: Option<Vec<ClassInstance<'a, MtpLink>>>,
}

impl<'a> Links<'a> {
    fn new(array: Array<'a>) -> Result<Self, JsError> {
        let all = (0..array.len() as usize)
            .map(|i| link_at(&array, i))
            .collect::<Result<Vec<_>, _>>()?;
        let mut at: Vec<*const MtpLink> = all.iter().map(|l| &**l as *const MtpLink).collect();
        at.sort_unstable();
        let repeated = at.windows(2).any(|w| w[0] == w[1]);
        Ok(Self {
            array,
            distinct: (!repeated).then_some(all),
        })
    }

    fn len(&self) -> usize {
        self.array.len() as usize
    }

    /// Runs `f` on each link in order.
    fn each(
        &mut self,
        mut f: impl FnMut(usize, &mut MtpLink) -> Result<(), JsError>,
    ) -> Result<(), JsError> {
        match &mut self.distinct {
            Some(all) => all.iter_mut().enumerate().try_for_each(|(i, l)| f(i, l)),
            None => (0..self.len()).try_for_each(|i| {
                let mut link = link_at(&self.array, i)?;
                f(i, &mut link)
            }),
        }
    }
}

fn link_at<'a>(links: &Array<'a>, i: usize) -> Result<ClassInstance<'a, MtpLink>, JsError> {
    match links.get::<ClassInstance<MtpLink>>(i as u32) {
        Ok(Some(link)) => Ok(link),
        _ => Err(coded(
            "ERR_BAD_BATCH",
            format!("element {i} of the batch is not an MtpLink"),
        )),
    }
}

/// A link of a batch that could not transmit.
#[napi(object, object_from_js = false)]
pub struct LinkBatchError {
    /// Index of the link in the input.
    pub link: u32,
    /// ERR_LINK_BROKEN, ERR_TRANSPORT_NOT_READY, ERR_TRANSPORT_FRAME_TOO_LONG...
    pub code: String,
    pub message: String,
}

/// transmitAll's result, flat: a handful of JS objects however many links.
#[napi(object, object_from_js = false)]
pub struct LinkBatchTransmit {
    /// Every link's frames, back to back, links in input order.
    #[napi(ts_type = "Buffer")]
    pub frames: FrameBytes,
    /// Per link: where its frames end in `frames`; they start where the previous
    /// link's end (0 for the first). Equal ends: nothing to send.
    pub frame_ends: Uint32Array,
    /// msg_ids of the requests carried, links in input order.
    pub msg_ids: BigUint64Array,
    /// For each msg_id, the index of its link.
    pub msg_id_link: Uint32Array,
    /// Per link: when to call transmit again (ms), NaN when idle or failed.
    pub deadlines: Float64Array,
    /// Links that could not transmit (usually empty).
    pub errors: Vec<LinkBatchError>,
}

/// receiveAll's result, flat.
#[napi(object, object_from_js = false)]
pub struct LinkBatchReceive {
    #[napi(ts_type = "Array<MtpEvent | LinkTransportEvent>")]
    pub events: EventBatch,
    /// For each event, the index of its (link, chunk) pair.
    pub event_link: Uint32Array,
    /// Per pair: the link's next deadline after that chunk (ms), NaN when idle.
    pub deadlines: Float64Array,
}

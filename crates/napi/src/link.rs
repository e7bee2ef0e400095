//! JS binding of mtcore::link: `MtpLink`, one MTProto session crossed once per
//! direction per turn. With a transport (a client's connection) it takes the
//! socket's bytes and gives back frames; without one (TestDc, whose connections
//! frame for themselves) it takes and gives whole packets. The session's state
//! (salt, clock, counters, export/import) is in `link_state`; what crosses back
//! to JS is made in `link_convert`.
//!
//! Costs kept low on purpose: one Buffer per `transmit` (all frames back to back,
//! copied once from where they were sealed and framed), events and results made
//! with property names created once (`js_object`).

use mtcore::link::{After, Frames, Link, LinkEvent};
use mtcore::mtp::{file_part, Event};
use napi::bindgen_prelude::{BigInt, Buffer, BufferSlice, Either, JsValue};
use napi_derive::napi;

use crate::convert::{big, ms, u64_of, Body, BodyJs};
use crate::errors::{coded, JsError};
use crate::link_convert::{deadline_js, link_error, ReceiveJs, TransmitJs};
use crate::mtp_convert::{self, MtpOptions};
use crate::random::with_random;
use crate::transport::{kind_name, transport_error_code};
use crate::transport::{CodecConfig, TransportOptions};

/// One MTProto session (sans-IO: the caller owns the socket and the timer,
/// passes `now` in ms since the epoch, and calls `transmit` again at the
/// returned deadline). Over a transport (`options.transport`) it is one side of
/// a connection: `transmit` gives frames to write and `receive` takes what the
/// socket delivered. Without one it works on whole packets (a server whose
/// connections frame for themselves, such as TestDc).
#[napi]
pub struct MtpLink {
    pub(crate) inner: Link,
    /// The transport's settings, for a fresh codec on reconnect; None: packets.
    config: Option<CodecConfig>,
}

#[napi]
impl MtpLink {
    /// `options.transport` as for `TransportCodec` (the link then manages
    /// `headroom` and `tailroom`); without it, whole packets.
    #[napi(constructor)]
    pub fn new(auth_key: Buffer, options: Option<MtpOptions>) -> Result<Self, JsError> {
        let key = mtp_convert::auth_key(&auth_key)?;
        let mut options = options.unwrap_or_default();
        let config = options
            .transport
            .take()
            .map(|t| CodecConfig::from_options(&t))
            .transpose()?;
        let session = mtp_convert::options(Some(options))?;
        let inner = match &config {
            Some(c) => Link::new(key, session, c.codec()?),
            None => Link::without_transport(key, session),
        };
        Ok(Self { inner, config })
    }

    /// Queues `bodies` (serialized TL requests, content-related; a body may be given
    /// as its pieces in order, joined in the one copy the link keeps), then packs,
    /// encrypts and frames whatever is due. `msgIds` are the ids given to `bodies`,
    /// in their order. `after[i]`, when given, makes body `i` run on the server only
    /// after an earlier call (invokeAfterMsg): a bigint names one sent before by
    /// msg_id, a number an earlier body of this same call. Throws ERR_BAD_BODY
    /// (nothing queued), ERR_LINK_BROKEN (reconnect first; nothing queued),
    /// ERR_TRANSPORT_NOT_READY (a server before the client's preamble).
    ///
    /// `scratch`: memory the caller reuses once the socket took the bytes. With a
    /// transport, frames of `SCRATCH_MIN` bytes or more that fit go there from its start
    /// (`placed` = [0, length], `frame` null). Without one, the packets go there back to
    /// back, each with its headroom and tailroom, as long as they fit, and `placed`
    /// gives where (start, end pairs); the rest come in `packets`, after them in order.
    /// A file part then costs no Buffer of its own.
    #[napi(ts_return_type = "LinkTransmit")]
    pub fn transmit(
        &mut self,
        now: f64,
        #[napi(ts_arg_type = "Array<Buffer | Buffer[]>")] bodies: Option<Vec<BodyJs>>,
        #[napi(ts_arg_type = "Array<bigint | number | null | undefined>")] after: Option<
            Vec<Option<Either<BigInt, u32>>>,
        >,
        scratch: Option<BufferSlice>,
    ) -> Result<TransmitJs, JsError> {
        let bodies: Vec<Body> = bodies
            .unwrap_or_default()
            .into_iter()
            .map(Body::from)
            .collect();
        let after: Vec<Option<After>> = after
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                a.map(|a| match a {
                    Either::A(id) => After::Id(u64_of(&id)),
                    Either::B(index) => After::Index(index as usize),
                })
            })
            .collect();
        let mut t =
            with_random(|random| self.inner.transmit_chained(ms(now), bodies, &after, random))?
                .map_err(link_error)?;
        // Packets: the tailroom is spare capacity of each; JS gets it as zeros after the
        // packet, so that a transport can frame it in place (TransportCodec.encodeInPlace).
        let tailroom = self.inner.session().options().tailroom;
        if self.config.is_none() && tailroom > 0 {
            for p in &mut t.packets {
                p.resize(p.len() + tailroom, 0);
            }
        }
        let placed = match scratch {
            Some(mut scratch) if self.config.is_none() => place(&mut t.packets, &mut scratch),
            Some(mut scratch) => place_frames(&mut t.frames, &mut scratch),
            None => Vec::new(),
        };
        Ok(TransmitJs {
            packets: self.config.is_none(),
            inner: t,
            placed,
        })
    }

    /// With a transport: takes what the socket delivered and returns the events of
    /// every whole frame in it (a partial frame waits for the next chunk). Without
    /// one: `data` is one whole packet, decrypted in place (its bytes are consumed).
    /// At most 1,024 events come back; the rest wait (`waiting`) for the next calls,
    /// which may pass an empty Buffer.
    ///
    /// `sinkIds` / `sinks`: where the answers to these requests (by msg_id) may put
    /// their file bytes. An `upload.file` answer to one of them whose bytes fit its
    /// sink has them copied there (from its start), and comes back with empty `bytes`
    /// and `sunk` set to how many were written: a download's part goes straight to its
    /// place, without a Buffer of its own. Any other answer comes back as usual.
    ///
    /// `bodies`: memory where message bodies of 64 KiB or more are copied, back to
    /// back from its start, while they fit; their `body` is then a view of it (a
    /// server's file parts get no Buffer each). The caller must not reuse it while
    /// such a view is in use. Only with the link's result factories (native.ts).
    #[napi(ts_return_type = "LinkReceive")]
    pub fn receive(
        &mut self,
        mut data: BufferSlice,
        now: f64,
        #[napi(ts_arg_type = "Array<bigint>")] sink_ids: Option<Vec<BigInt>>,
        sinks: Option<Vec<BufferSlice>>,
        bodies: Option<BufferSlice>,
    ) -> Result<ReceiveJs, JsError> {
        let ids = sink_ids.unwrap_or_default();
        let mut sinks = sinks.unwrap_or_default();
        if ids.len() != sinks.len() {
            return Err(coded(
                "ERR_BAD_SINKS",
                format!("{} sink ids for {} sinks", ids.len(), sinks.len()),
            ));
        }
        let mut r = with_random(|random| self.inner.receive_in_place(&mut data, ms(now), random))?;
        let sunk = if ids.is_empty() {
            Vec::new()
        } else {
            let ids: Vec<u64> = ids.iter().map(u64_of).collect();
            sink_file_parts(&mut r.events, &ids, &mut sinks)
        };
        let in_scratch = match bodies {
            Some(mut scratch) => {
                let placed = place_bodies(&r.events, &mut scratch);
                (!placed.is_empty()).then(|| (scratch.value().value, placed))
            }
            None => None,
        };
        Ok(ReceiveJs {
            inner: r,
            sunk,
            in_scratch,
        })
    }

    /// Events read and not handed out yet: while this is above 0, call `receive`
    /// (with an empty Buffer) to take them; bytes that arrive meanwhile may be
    /// passed too, and wait behind them.
    #[napi(getter)]
    pub fn waiting(&self) -> u32 {
        self.inner.waiting() as u32
    }

    /// After the socket reconnected: a fresh codec (the same transport unless
    /// `transport` is given; a new obfuscated2 init, sent with the next frame),
    /// the same session and messages in flight. Follow with `requestState`.
    /// A link without a transport has nothing to reset (ERR_NO_TRANSPORT if one is
    /// given).
    #[napi]
    pub fn reconnect(&mut self, transport: Option<TransportOptions>) -> Result<(), JsError> {
        if self.config.is_none() {
            return match transport {
                None => Ok(()),
                Some(_) => Err(coded(
                    "ERR_NO_TRANSPORT",
                    "this link was made without a transport: it works on whole packets",
                )),
            };
        }
        let config = match transport {
            Some(t) => CodecConfig::from_options(&t)?,
            None => self.config.clone().expect("checked above"),
        };
        self.inner.reset_transport(config.codec()?);
        self.config = Some(config);
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
    /// under its own id (the peer drops what it has). Returns the count.
    #[napi]
    pub fn resend_pending(&mut self) -> u32 {
        self.inner.session_mut().resend_pending() as u32
    }

    /// Queues a serialized TL object without sending it (content-related by
    /// default; e.g. while disconnected, or a server's answer); returns its msg_id.
    /// The body may be given as its pieces in order.
    #[napi]
    pub fn enqueue(
        &mut self,
        #[napi(ts_arg_type = "Buffer | Buffer[]")] body: BodyJs,
        now: f64,
        content_related: Option<bool>,
    ) -> Result<BigInt, JsError> {
        self.inner
            .session_mut()
            .enqueue(
                Body::from(body).into(),
                content_related.unwrap_or(true),
                ms(now),
            )
            .map(big)
            .map_err(|e| coded("ERR_BAD_BODY", e))
    }

    /// Queues ping (or ping_delay_disconnect with `disconnectDelay` seconds, for
    /// keepalive); returns its msg_id, which the `pong` event names.
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

    /// The seqno of a message of ours still queued or unacknowledged; null once it is
    /// settled or unknown (TestDc's rpc_answer_dropped names the answer it drops).
    #[napi]
    pub fn seqno_of(&self, msg_id: BigInt) -> Option<u32> {
        self.inner.session().seqno_of(u64_of(&msg_id))
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

    /// Bytes the transport holds unread (0 between frames, and without a transport):
    /// a driver drops a connection whose frame stays unfinished (a stream that lost
    /// its framing). Whole frames are held too while events wait (`waiting`).
    #[napi(getter)]
    pub fn buffered(&self) -> u32 {
        self.inner.codec().map_or(0, |c| c.buffered() as u32)
    }

    /// The transport; null without one, and on a server until the client's
    /// preamble arrived.
    #[napi(
        getter,
        ts_return_type = "'abridged' | 'intermediate' | 'padded' | 'full' | null"
    )]
    pub fn transport(&self) -> Option<&'static str> {
        self.inner.codec().and_then(|c| c.kind()).map(kind_name)
    }
}

/// Moves the file bytes of `upload.file` answers to the sinks their requests gave
/// (`MtpLink.receive`); returns (event index, bytes written) for each one moved.
fn sink_file_parts(
    events: &mut [LinkEvent],
    ids: &[u64],
    sinks: &mut [BufferSlice],
) -> Vec<(usize, u32)> {
    let mut sunk = Vec::new();
    for (i, e) in events.iter_mut().enumerate() {
        let LinkEvent::Session(Event::RpcResult { req_msg_id, body }) = e else {
            continue;
        };
        let Some(k) = ids.iter().position(|id| id == req_msg_id) else {
            continue;
        };
        let Some(range) = file_part::upload_file_bytes(body) else {
            continue;
        };
        let sink: &mut [u8] = &mut sinks[k];
        let n = range.len();
        if n > sink.len() {
            continue;
        }
        sink[..n].copy_from_slice(&body[range]);
        file_part::strip_bytes(body);
        sunk.push((i, n as u32));
    }
    sunk
}

/// Frames and bodies shorter than this go to JS as before (a pooled view costs less
/// than the copy).
const SCRATCH_MIN: usize = 64 << 10;

/// A caller's scratch filled from its start, one byte string after the other.
struct Placer<'a> {
    scratch: &'a mut [u8],
    at: usize,
}

impl<'a> Placer<'a> {
    fn new(scratch: &'a mut [u8]) -> Self {
        Placer { scratch, at: 0 }
    }

    /// Copies `bytes` after what is there when they fit; returns where they lie.
    fn put(&mut self, bytes: &[u8]) -> Option<(u32, u32)> {
        let start = self.at;
        let end = start + bytes.len();
        if end > self.scratch.len() {
            return None;
        }
        self.scratch[start..end].copy_from_slice(bytes);
        self.at = end;
        Some((start as u32, end as u32))
    }
}

/// Copies the bodies of messages and answers of SCRATCH_MIN bytes or more into
/// `scratch`, back to back while they fit; returns (event index, start) of each.
/// The events keep their bodies (a caller without the result factories uses them).
fn place_bodies(events: &[LinkEvent], scratch: &mut [u8]) -> Vec<(usize, u32)> {
    let mut placer = Placer::new(scratch);
    let mut placed = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let body = match e {
            LinkEvent::Session(Event::Message { body, .. }) => body,
            LinkEvent::Session(Event::RpcResult { body, .. }) => body,
            _ => continue,
        };
        if body.len() < SCRATCH_MIN {
            continue;
        }
        if let Some((start, _)) = placer.put(body) {
            placed.push((i, start));
        }
    }
    placed
}

/// Writes `frames` into `scratch` when long and fitting, and empties them; returns
/// where they lie ([0, length]) or nothing.
fn place_frames(frames: &mut Frames, scratch: &mut [u8]) -> Vec<u32> {
    if frames.len() < SCRATCH_MIN {
        return Vec::new();
    }
    match Placer::new(scratch).put(frames.bytes()) {
        Some((start, end)) => {
            *frames = Frames::default();
            vec![start, end]
        }
        None => Vec::new(),
    }
}

/// Writes the first `packets` that fit into `scratch`, back to back, and takes them
/// out of `packets`; returns where each lies (start, end pairs).
fn place(packets: &mut Vec<Vec<u8>>, scratch: &mut [u8]) -> Vec<u32> {
    let mut placer = Placer::new(scratch);
    let mut placed = Vec::new();
    for p in packets.iter() {
        let Some((start, end)) = placer.put(p) else {
            break;
        };
        placed.extend([start, end]);
    }
    packets.drain(..placed.len() / 2);
    placed
}

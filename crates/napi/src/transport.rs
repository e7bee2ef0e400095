//! JS binding of mtcore::transport: `TransportCodec` and `aesCtr`.
//!
//! Randomness (padding, the obfuscated2 init) comes from `crate::random`.

use std::cell::RefCell;

use crate::errors::{coded, JsError};
use mtcore::transport::{
    obfuscated, ClientConfig, Codec, Frame, Kind, ProxySecret, Role, ServerConfig, TransportError,
    DEFAULT_MAX_PACKET_LEN,
};
use napi::bindgen_prelude::{Buffer, BufferSlice};
use napi::Env;
use napi_derive::napi;

fn parse_kind(name: &str) -> Result<Kind, JsError> {
    Ok(match name {
        "abridged" => Kind::Abridged,
        "intermediate" => Kind::Intermediate,
        "padded" => Kind::PaddedIntermediate,
        "full" => Kind::Full,
        _ => {
            return Err(bad_options(
                "kind must be abridged, intermediate, padded or full",
            ))
        }
    })
}

pub(crate) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Abridged => "abridged",
        Kind::Intermediate => "intermediate",
        Kind::PaddedIntermediate => "padded",
        Kind::Full => "full",
    }
}

/// How a `TransportCodec` is set up.
#[napi(object)]
pub struct TransportOptions {
    /// 'client' (default) or 'server'.
    #[napi(ts_type = "'client' | 'server'")]
    pub role: Option<String>,
    /// The transport ('padded' is padded intermediate). Required for a
    /// client; a server given none accepts any.
    #[napi(ts_type = "'abridged' | 'intermediate' | 'padded' | 'full'")]
    pub kind: Option<String>,
    /// Client: wrap in obfuscated2 (default false; implied by `secret`).
    /// Server: only obfuscated (true), only plain (false), or either
    /// (undefined; obfuscated only when a secret is set).
    pub obfuscated: Option<bool>,
    /// MTProxy secret: 16 bytes, 0xdd + 16 bytes (padded transport only), or
    /// 0xee + 16 bytes + domain (fake TLS, padded transport only): the codec
    /// then reads and writes TLS application-data records, and the TLS
    /// handshake (`FakeTlsClient` / `FakeTlsServer`) must precede it.
    pub secret: Option<Buffer>,
    /// Client: DC id written into the obfuscated2 init (int16; +10000 for
    /// test DCs, negative for media DCs).
    pub dc_id: Option<i32>,
    /// Largest packet accepted or sent, in bytes (default 16 MiB).
    pub max_packet_length: Option<u32>,
}

/// One unit decoded from the stream.
#[napi(discriminant = "kind", discriminant_case = "camelCase")]
pub enum TransportEvent {
    /// A packet; `quickAck` is set on the server when the client asked for one.
    /// Padded-transport packets may keep up to 12 bytes of padding at the end.
    Packet { data: Buffer, quick_ack: bool },
    /// Client: the server confirmed a quick-ack request (high bit set).
    QuickAck { token: u32 },
    /// A 4-byte packet holding a negative int32 such as -404, -429, -444.
    TransportError { code: i32 },
}

/// The stable `code` of each transport error.
pub(crate) fn transport_error_code(e: TransportError) -> &'static str {
    use TransportError::*;
    match e {
        FrameTooLong { .. } => "ERR_TRANSPORT_FRAME_TOO_LONG",
        BadLength { .. } => "ERR_TRANSPORT_BAD_LENGTH",
        Unaligned { .. } => "ERR_TRANSPORT_UNALIGNED",
        BadCrc { .. } => "ERR_TRANSPORT_BAD_CRC",
        BadSeq { .. } => "ERR_TRANSPORT_BAD_SEQ",
        QuickAckUnsupported => "ERR_TRANSPORT_QUICK_ACK_UNSUPPORTED",
        BadPreamble => "ERR_TRANSPORT_BAD_PREAMBLE",
        UnsupportedProtocol => "ERR_TRANSPORT_UNSUPPORTED_PROTOCOL",
        BadProtocolTag { .. } => "ERR_TRANSPORT_BAD_TAG",
        ObfuscatedFullUnsupported => "ERR_TRANSPORT_OBFUSCATED_FULL",
        SecretRequiresPadded => "ERR_TRANSPORT_SECRET_REQUIRES_PADDED",
        BadSecret { .. } => "ERR_TRANSPORT_BAD_SECRET",
        BadClientHello { .. } => "ERR_TRANSPORT_TLS_BAD_HELLO",
        BadServerHello { .. } => "ERR_TRANSPORT_TLS_BAD_ANSWER",
        BadTlsDigest => "ERR_TRANSPORT_TLS_BAD_DIGEST",
        StaleTlsHello { .. } => "ERR_TRANSPORT_TLS_STALE",
        ReplayedTlsHello => "ERR_TRANSPORT_TLS_REPLAY",
        BadTlsRecord { .. } => "ERR_TRANSPORT_TLS_BAD_RECORD",
        TlsRecordTooLong { .. } => "ERR_TRANSPORT_TLS_RECORD_TOO_LONG",
        BadRandomness => "ERR_TRANSPORT_RANDOMNESS",
        NotReady => "ERR_TRANSPORT_NOT_READY",
        BufferTooSmall { .. } => "ERR_TRANSPORT_BUFFER_TOO_SMALL",
    }
}

/// A transport error as a JS error with its stable `code`.
pub fn transport_error(e: TransportError) -> JsError {
    coded(transport_error_code(e), e)
}

fn bad_options(message: &str) -> JsError {
    coded("ERR_TRANSPORT_BAD_OPTIONS", message)
}

/// Runs `f` with the thread's generator (`crate::random`) as a `RandomSource`;
/// its transport error, or a failure to seed the generator, becomes a JS error.
fn with_random<T>(
    f: impl FnOnce(&mut &mut dyn FnMut(&mut [u8])) -> Result<T, TransportError>,
) -> Result<T, JsError> {
    crate::random::with_random(|mut rng| f(&mut rng))?.map_err(transport_error)
}

/// Runs `f` with this thread's empty scratch Vec (frames are built there,
/// then copied into a JS Buffer), so encoding does not allocate in Rust.
fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        buf.clear();
        let out = f(&mut buf);
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        out
    })
}

/// A Buffer copied into memory V8 owns: much cheaper than an external
/// Buffer over a Rust Vec, whose finalizer and external-memory accounting
/// cost microseconds per call.
fn js_buffer(env: &Env, data: &[u8]) -> Result<Buffer, JsError> {
    BufferSlice::copy_from(env, data)
        .and_then(|b| b.into_buffer(env))
        .map_err(|e| coded("ERR_NAPI", e))
}

pub(crate) fn secret(bytes: &Option<Buffer>) -> Result<Option<ProxySecret>, JsError> {
    bytes
        .as_ref()
        .map(|b| ProxySecret::from_bytes(b))
        .transpose()
        .map_err(transport_error)
}

/// A codec's settings, kept so that a connection can get a fresh codec on reconnect.
#[derive(Clone)]
pub(crate) enum CodecConfig {
    Client(ClientConfig),
    Server(ServerConfig),
}

impl CodecConfig {
    /// The settings `options` describe (shared with `MtpLink`).
    pub(crate) fn from_options(options: &TransportOptions) -> Result<Self, JsError> {
        let max_packet_len = options
            .max_packet_length
            .map_or(DEFAULT_MAX_PACKET_LEN, |m| m as usize);
        let secret = secret(&options.secret)?;
        let kind = options.kind.as_deref().map(parse_kind).transpose()?;
        Ok(match options.role.as_deref().unwrap_or("client") {
            "client" => {
                let kind = kind.ok_or_else(|| bad_options("a client needs a transport kind"))?;
                let dc_id = options
                    .dc_id
                    .map(|d| i16::try_from(d).map_err(|_| bad_options("dcId must fit an int16")))
                    .transpose()?;
                Self::Client(ClientConfig {
                    kind,
                    obfuscated: options.obfuscated.unwrap_or(false),
                    secret,
                    dc_id,
                    max_packet_len,
                })
            }
            "server" => {
                let has_secret = secret.is_some();
                Self::Server(ServerConfig {
                    kind,
                    accept_plain: options.obfuscated.map_or(!has_secret, |o| !o),
                    accept_obfuscated: options.obfuscated.unwrap_or(true),
                    secret,
                    max_packet_len,
                })
            }
            _ => return Err(bad_options("role must be client or server")),
        })
    }

    /// A new codec (a client's with a fresh obfuscated2 init).
    pub(crate) fn codec(&self) -> Result<Codec, JsError> {
        match self {
            Self::Client(config) => with_random(|rng| Codec::client(config, rng)),
            Self::Server(config) => Codec::server(config).map_err(transport_error),
        }
    }
}

/// An Int32Array argument, written in place (a plain `&mut [i32]` parameter
/// would be read as a class reference by napi-derive).
type EventSlots<'a> = &'a mut [i32];

/// The most room a frame's header needs before its packet, any transport (fake TLS,
/// obfuscated2 init, length): an MtpLink's `headroom` for `TransportCodec.encodeInPlace`.
#[napi]
pub const MAX_FRAME_HEADER_ROOM: u32 = mtcore::transport::MAX_HEADER_ROOM as u32;
/// The most room a frame's trailer needs after its packet (the padded transport's
/// padding; fake TLS records of a large frame need more: `encodeInPlace` refuses then).
#[napi]
pub const MAX_FRAME_TRAILER_ROOM: u32 = mtcore::transport::MAX_TRAILER_ROOM as u32;

/// One connection's MTProto transport, either side, optionally obfuscated.
#[napi]
pub struct TransportCodec {
    inner: Codec,
}

#[napi]
impl TransportCodec {
    #[napi(constructor)]
    pub fn new(options: TransportOptions) -> Result<Self, JsError> {
        Ok(Self {
            inner: CodecConfig::from_options(&options)?.codec()?,
        })
    }

    /// The transport; `null` on a server until the client's preamble arrived.
    #[napi(
        getter,
        ts_return_type = "'abridged' | 'intermediate' | 'padded' | 'full' | null"
    )]
    pub fn kind(&self) -> Option<&'static str> {
        self.inner.kind().map(kind_name)
    }

    #[napi(getter, ts_return_type = "'client' | 'server'")]
    pub fn role(&self) -> &'static str {
        match self.inner.role() {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    #[napi(getter)]
    pub fn obfuscated(&self) -> bool {
        self.inner.is_obfuscated()
    }

    /// Whether the stream is carried in fake-TLS records (an `ee` secret).
    #[napi(getter)]
    pub fn fake_tls(&self) -> bool {
        self.inner.is_fake_tls()
    }

    /// The obfuscated2 DC id: the one a client wrote, or the one a server read.
    #[napi(getter)]
    pub fn dc_id(&self) -> Option<i32> {
        self.inner.dc_id().map(i32::from)
    }

    /// Bytes received and not yet returned as packets.
    #[napi(getter)]
    pub fn buffered(&self) -> u32 {
        self.inner.buffered() as u32
    }

    /// Most bytes the next frame adds before the packet (preamble included).
    #[napi(getter)]
    pub fn header_room(&self) -> u32 {
        self.inner.header_room() as u32
    }

    /// Most bytes a frame adds after the packet (padding or CRC).
    #[napi(getter)]
    pub fn trailer_room(&self) -> u32 {
        self.inner.trailer_room() as u32
    }

    /// The connection preamble, to send on connect; later frames go without
    /// it. Empty once taken (it is otherwise sent with the first frame).
    #[napi]
    pub fn take_preamble(&mut self) -> Buffer {
        Buffer::from(self.inner.take_preamble())
    }

    /// The frame of `packet` (with the preamble in front on the first call).
    /// `quickAck` asks the server for a quick acknowledgement (client only).
    #[napi]
    pub fn encode(
        &mut self,
        env: Env,
        packet: BufferSlice,
        quick_ack: Option<bool>,
    ) -> Result<Buffer, JsError> {
        with_scratch(|buf| {
            let before = self.inner.header_len(packet.len());
            buf.resize(before, 0);
            buf.extend_from_slice(&packet);
            with_random(|rng| {
                self.inner
                    .encode_vec(buf, before, quick_ack.unwrap_or(false), rng)
            })?;
            js_buffer(&env, buf)
        })
    }

    /// Most bytes a frame adds after a packet of `packetLength` bytes: the
    /// `trailerRoom`, plus with fake TLS 5 bytes per 16 KiB past the first.
    #[napi]
    pub fn trailer_length(&self, packet_length: u32) -> u32 {
        self.inner.trailer_len(packet_length as usize) as u32
    }

    /// Writes the frame of `packet` into `out` at `offset` (default 0) and
    /// returns its length. `out` needs `headerRoom + packet.length +
    /// trailerLength(packet.length)` bytes from `offset` at most.
    #[napi]
    pub fn encode_into(
        &mut self,
        packet: BufferSlice,
        mut out: BufferSlice,
        offset: Option<u32>,
        quick_ack: Option<bool>,
    ) -> Result<u32, JsError> {
        let offset = offset.unwrap_or(0) as usize;
        let out = out.get_mut(offset..).ok_or_else(|| {
            transport_error(TransportError::BufferTooSmall {
                needed_before: 0,
                needed_after: 0,
            })
        })?;
        let at = self.inner.header_len(packet.len());
        let end = at + packet.len();
        let Some(dest) = out.get_mut(at..end) else {
            return Err(transport_error(TransportError::BufferTooSmall {
                needed_before: at,
                needed_after: self.inner.trailer_room(),
            }));
        };
        dest.copy_from_slice(&packet);
        let frame = with_random(|rng| {
            self.inner
                .encode_in_place(out, at..end, quick_ack.unwrap_or(false), rng)
        })?;
        debug_assert_eq!(frame.start, 0);
        Ok(frame.end as u32)
    }

    /// Frames, in place, the packet at `payloadStart..payloadEnd` of `buffer`: the
    /// header goes in the bytes before it and the trailer in those after it (a packet
    /// sealed with `MAX_HEADER_ROOM` and `MAX_TRAILER_ROOM` around it, as an MtpLink
    /// with that `headroom` and `tailroom` returns them), and the frame is encrypted
    /// where it lies. Returns `[frameStart, frameEnd]`. No Buffer is made and nothing
    /// is copied, which for a file part is two copies and a 512 KiB Buffer fewer than
    /// `encode`. Throws ERR_TRANSPORT_BUFFER_TOO_SMALL, with the codec untouched, when
    /// the room is short (fake TLS records of a large frame: use `encode`).
    #[napi]
    pub fn encode_in_place(
        &mut self,
        mut buffer: BufferSlice,
        payload_start: u32,
        payload_end: u32,
    ) -> Result<Vec<u32>, JsError> {
        let range = payload_start as usize..payload_end as usize;
        let frame = with_random(|rng| self.inner.encode_in_place(&mut buffer, range, false, rng))?;
        Ok(vec![frame.start as u32, frame.end as u32])
    }

    /// Frames several packets into one Buffer (one native call, one Buffer).
    #[napi]
    pub fn encode_many(&mut self, env: Env, packets: Vec<BufferSlice>) -> Result<Buffer, JsError> {
        let room = self.inner.header_room() + self.inner.trailer_room();
        let total: usize = packets.iter().map(|p| p.len() + room).sum();
        with_scratch(|out| {
            out.reserve(total);
            with_random(|rng| {
                for p in &packets {
                    let start = out.len();
                    out.resize(start + self.inner.header_len(p.len()), 0);
                    let payload_start = out.len();
                    out.extend_from_slice(p);
                    let frame_start = self.inner.encode_vec(out, payload_start, false, rng)?;
                    debug_assert_eq!(frame_start, start);
                }
                Ok(())
            })?;
            js_buffer(&env, out)
        })
    }

    /// Server: the 4 bytes that answer a quick-ack request with `token`.
    #[napi]
    pub fn quick_ack_answer(&mut self, token: u32) -> Result<Buffer, JsError> {
        let answer = self
            .inner
            .quick_ack_answer(token)
            .map_err(transport_error)?;
        Ok(Buffer::from(answer.as_slice()))
    }

    /// Like `decode`, without allocating: copies packets one after the other
    /// into `out` and describes each event with three ints in `events`:
    /// [0, offset, length] a packet, [1, offset, length] a packet whose sender
    /// asked for a quick-ack, [2, token, 0] a quick-ack answer, [3, code, 0] a
    /// transport error. Returns the number of events. It stops early when
    /// `events` or `out` is full; call again with an empty chunk for the
    /// rest. Throws ERR_TRANSPORT_BUFFER_TOO_SMALL if the next packet cannot
    /// fit even an empty `out`.
    #[napi]
    pub fn decode_into(
        &mut self,
        chunk: BufferSlice,
        mut out: BufferSlice,
        #[napi(ts_arg_type = "Int32Array")] events: EventSlots,
    ) -> Result<u32, JsError> {
        if events.len() < 3 {
            return Err(bad_options(
                "events needs room for at least one event (3 ints)",
            ));
        }
        self.inner.push(&chunk).map_err(transport_error)?;
        let mut count = 0;
        let mut used = 0;
        while let Some(need) = self.inner.peek_len() {
            if (count + 1) * 3 > events.len() || used + need > out.len() {
                if count == 0 && need > out.len() {
                    return Err(transport_error(TransportError::BufferTooSmall {
                        needed_before: 0,
                        needed_after: need,
                    }));
                }
                break;
            }
            let Some(frame) = self.inner.next_frame().map_err(transport_error)? else {
                break;
            };
            let event = match frame {
                Frame::Packet { data, quick_ack } => {
                    out[used..used + data.len()].copy_from_slice(data);
                    let e = [i32::from(quick_ack), used as i32, data.len() as i32];
                    used += data.len();
                    e
                }
                Frame::QuickAck { token } => [2, token as i32, 0],
                Frame::TransportError { code } => [3, code, 0],
            };
            events[count * 3..count * 3 + 3].copy_from_slice(&event);
            count += 1;
        }
        // A corrupt frame is reported now rather than on the next call
        // (`peek_len` is `None` for it; `next_frame` returns the error).
        if self.inner.peek_len().is_none() {
            self.inner.next_frame().map_err(transport_error)?;
        }
        Ok(count as u32)
    }

    /// Takes received bytes and returns every whole packet and event in
    /// them; partial frames wait for the next call. Throws on a corrupt
    /// stream (bad CRC, bad seqno, oversized frame, bad preamble...): the
    /// connection must then be closed, and later calls throw the same error.
    #[napi]
    pub fn decode(&mut self, env: Env, chunk: BufferSlice) -> Result<Vec<TransportEvent>, JsError> {
        self.inner.push(&chunk).map_err(transport_error)?;
        let mut events = Vec::new();
        while let Some(frame) = self.inner.next_frame().map_err(transport_error)? {
            events.push(match frame {
                Frame::Packet { data, quick_ack } => TransportEvent::Packet {
                    data: js_buffer(&env, data)?,
                    quick_ack,
                },
                Frame::QuickAck { token } => TransportEvent::QuickAck { token },
                Frame::TransportError { code } => TransportEvent::TransportError { code },
            });
        }
        Ok(events)
    }
}

/// The key and IV of a one-shot AES-256-CTR call, checked.
fn ctr_key_iv<'a>(key: &'a [u8], iv: &'a [u8]) -> Result<(&'a [u8; 32], &'a [u8; 16]), JsError> {
    let key = key
        .try_into()
        .map_err(|_| coded("ERR_BAD_LENGTH", "key must be 32 bytes"))?;
    let iv = iv
        .try_into()
        .map_err(|_| coded("ERR_BAD_LENGTH", "iv must be 16 bytes"))?;
    Ok((key, iv))
}

/// One-shot AES-256-CTR (128-bit big-endian counter from `iv`) over `data`.
#[napi]
pub fn aes_ctr(key: BufferSlice, iv: BufferSlice, data: BufferSlice) -> Result<Buffer, JsError> {
    let (key, iv) = ctr_key_iv(&key, &iv)?;
    let mut out = data.to_vec();
    obfuscated::aes256_ctr(key, iv, &mut out);
    Ok(Buffer::from(out))
}

/// `aesCtr` over `data` where it lies (its bytes are replaced): a CDN part is decrypted
/// without a second Buffer of its size.
#[napi]
pub fn aes_ctr_in_place(
    key: BufferSlice,
    iv: BufferSlice,
    mut data: BufferSlice,
) -> Result<(), JsError> {
    let (key, iv) = ctr_key_iv(&key, &iv)?;
    obfuscated::aes256_ctr(key, iv, &mut data);
    Ok(())
}

//! `Codec`: one connection's transport, both directions, either side.
//!
//! Sending frames a packet in place: the caller leaves `header_room()` bytes
//! before the payload and `trailer_room()` after it; the codec writes the
//! header (and the connection preamble on the first frame) in front, padding
//! or CRC behind, and encrypts the frame in place when obfuscated.
//!
//! Receiving: `push` bytes as they come, then take whole frames with
//! `next_frame` until it yields `None`. Frames borrow the codec's buffer
//! mutably, so the message layer can decrypt a packet where it lies.

use std::ops::Range;

use super::fake_tls::records::{self, RecordReader};
use super::full::Full;
use super::inbox::Inbox;
use super::obfuscated::{self, Obfuscator, INIT_LEN};
use super::sniff::{sniff, Sniffed};
use super::{abridged, intermediate, padded, RandomSource, TransportError};
use super::{ClientConfig, Head, Kind, ProxySecret, Role, ServerConfig};

/// The most `header_room()` can ask for: a fake-TLS ChangeCipherSpec and
/// record header, an obfuscated2 init and a 4-byte header (more than the full
/// transport's 8 bytes).
pub const MAX_HEADER_ROOM: usize = 11 + INIT_LEN + 4;
/// The most `trailer_room()` can ask for: the padded transport's padding.
/// (Fake TLS adds a record header per 16 KiB after a large frame: see
/// `Codec::trailer_len`.)
pub const MAX_TRAILER_ROOM: usize = padded::MAX_PADDING;

/// Below this length a padded-intermediate packet cannot be an MTProto
/// message (the smallest, a plain one, has 20 header bytes and a 4-byte body),
/// so it is read as a transport error code plus padding.
const PADDED_MIN_MESSAGE: usize = 24;

/// One unit decoded from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A packet. `quick_ack` is set on the server when the client asked for one.
    Packet { data: &'a mut [u8], quick_ack: bool },
    /// Client side: the server confirmed a packet sent with quick-ack; the
    /// token (high bit set) is the first 32 bits of the SHA-256 the message
    /// layer computes for that packet, with the high bit forced.
    QuickAck { token: u32 },
    /// A 4-byte packet holding a negative int32: the server's transport error
    /// (-404 no such auth key, -429 too many connections, -444 bad DC...).
    TransportError { code: i32 },
}

/// `Frame` with its packet copied out, for the convenience `decode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedFrame {
    Packet { data: Vec<u8>, quick_ack: bool },
    QuickAck { token: u32 },
    TransportError { code: i32 },
}

impl From<Frame<'_>> for OwnedFrame {
    fn from(frame: Frame<'_>) -> Self {
        match frame {
            Frame::Packet { data, quick_ack } => OwnedFrame::Packet {
                data: data.to_vec(),
                quick_ack,
            },
            Frame::QuickAck { token } => OwnedFrame::QuickAck { token },
            Frame::TransportError { code } => OwnedFrame::TransportError { code },
        }
    }
}

/// What a server still expects before the first frame.
#[derive(Debug)]
struct Expect {
    kind: Option<Kind>,
    plain: bool,
    obfuscated: bool,
    secret: Option<ProxySecret>,
}

/// The fake-TLS record layer of an `ee` secret's connection (the handshake
/// happened before the codec saw any byte: `fake_tls::hello` and `answer`).
#[derive(Debug)]
struct Tls {
    reader: RecordReader,
    /// Client: the first record still has to be preceded by ChangeCipherSpec.
    ccs_pending: bool,
}

/// The transport of one connection.
#[derive(Debug)]
pub struct Codec {
    role: Role,
    /// `None` while a server has not read the client's preamble.
    kind: Option<Kind>,
    /// Boxed: its two AES key schedules are most of a codec's size, and most
    /// connections (plain transports) have none.
    obfuscator: Option<Box<Obfuscator>>,
    full: Full,
    /// Client: bytes to send before the first frame (tag or obfuscated2 header).
    preamble: [u8; INIT_LEN],
    preamble_len: usize,
    /// Server: the preamble still to be read.
    expect: Option<Expect>,
    inbox: Inbox,
    max: usize,
    dc_id: Option<i16>,
    failed: Option<TransportError>,
    tls: Option<Tls>,
}

impl Codec {
    fn with(role: Role, kind: Option<Kind>, max: usize) -> Self {
        Self {
            role,
            kind,
            obfuscator: None,
            full: Full::new(),
            preamble: [0; INIT_LEN],
            preamble_len: 0,
            expect: None,
            inbox: Inbox::default(),
            max,
            dc_id: None,
            failed: None,
            tls: None,
        }
    }

    fn fake_tls(secret: Option<&ProxySecret>, role: Role) -> Option<Tls> {
        secret.and_then(ProxySecret::fake_tls_domain).map(|_| Tls {
            reader: RecordReader::default(),
            ccs_pending: role == Role::Client,
        })
    }

    /// A client codec. Randomness is drawn only for the obfuscated2 init.
    /// With an `ee` secret the codec speaks the fake-TLS data phase: the
    /// caller has completed the TLS handshake (`fake_tls::hello::client_hello`,
    /// `fake_tls::answer::check_answer`) on the connection first.
    pub fn client<R: RandomSource + ?Sized>(
        config: &ClientConfig,
        rng: &mut R,
    ) -> Result<Self, TransportError> {
        let mut codec = Self::with(Role::Client, Some(config.kind), config.max_packet_len);
        if config.obfuscated || config.secret.is_some() {
            let (header, obfuscator) =
                obfuscated::client_init(config.kind, config.dc_id, config.secret.as_ref(), rng)?;
            codec.preamble = header;
            codec.preamble_len = INIT_LEN;
            codec.obfuscator = Some(Box::new(obfuscator));
            codec.dc_id = config.dc_id;
            codec.tls = Self::fake_tls(config.secret.as_ref(), Role::Client);
        } else {
            let tag: &[u8] = match config.kind {
                Kind::Abridged => &abridged::PREAMBLE,
                Kind::Intermediate => &intermediate::PREAMBLE,
                Kind::PaddedIntermediate => &padded::PREAMBLE,
                Kind::Full => &[],
            };
            codec.preamble[..tag.len()].copy_from_slice(tag);
            codec.preamble_len = tag.len();
        }
        Ok(codec)
    }

    /// A server codec; it learns the transport from the client's first bytes.
    /// With an `ee` secret it reads the fake-TLS data phase only: the caller
    /// answered the ClientHello (`fake_tls::hello::accept_hello`,
    /// `fake_tls::answer::server_answer`) and pushes what follows it.
    pub fn server(config: &ServerConfig) -> Result<Self, TransportError> {
        if config.kind == Some(Kind::Full) && !config.accept_plain {
            return Err(TransportError::ObfuscatedFullUnsupported);
        }
        let mut codec = Self::with(Role::Server, None, config.max_packet_len);
        codec.tls = Self::fake_tls(config.secret.as_ref(), Role::Server);
        codec.expect = Some(Expect {
            kind: config.kind,
            plain: config.accept_plain,
            obfuscated: config.accept_obfuscated,
            secret: config.secret.clone(),
        });
        Ok(codec)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The transport, once known (a server learns it from the preamble).
    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    pub fn is_obfuscated(&self) -> bool {
        self.obfuscator.is_some()
    }

    /// Whether the stream is carried in fake-TLS records (an `ee` secret).
    pub fn is_fake_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Bytes fake TLS puts in front of the next frame.
    fn tls_before(&self) -> usize {
        self.tls
            .as_ref()
            .map_or(0, |t| records::extra_before(t.ccs_pending))
    }

    /// The DC id of the obfuscated2 init: the one a client wrote, or the one
    /// a server read.
    pub fn dc_id(&self) -> Option<i16> {
        self.dc_id
    }

    /// Bytes received and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.inbox.len()
    }

    /// Bytes to leave before the payload for the next frame (at most `MAX_HEADER_ROOM`).
    pub fn header_room(&self) -> usize {
        self.tls_before()
            + self.preamble_len
            + match self.kind {
                Some(Kind::Full) | None => super::full::HEADER,
                Some(_) => 4,
            }
    }

    /// Bytes to leave after the payload (at most `MAX_TRAILER_ROOM`).
    pub fn trailer_room(&self) -> usize {
        match self.kind {
            Some(Kind::PaddedIntermediate) | None => padded::MAX_PADDING,
            Some(Kind::Full) => super::full::TRAILER,
            Some(_) => 0,
        }
    }

    /// The exact bytes the next frame puts before a payload of `len` bytes;
    /// a payload placed there gets its frame starting at offset 0.
    pub fn header_len(&self, len: usize) -> usize {
        self.tls_before()
            + self.preamble_len
            + match self.kind {
                Some(Kind::Abridged) if len / 4 < 0x7f => 1,
                Some(Kind::Full) | None => super::full::HEADER,
                Some(_) => 4,
            }
    }

    /// Bytes to leave after a payload of `len` bytes: `trailer_room()`, plus
    /// with fake TLS a record header for every 16 KiB past the first.
    pub fn trailer_len(&self, len: usize) -> usize {
        let trailer = self.trailer_room();
        match self.tls {
            None => trailer,
            Some(_) => {
                let frame = self.header_len(len) - self.tls_before() + len + trailer;
                trailer + records::extra_after(frame)
            }
        }
    }

    /// Hands out the connection preamble to send right away (e.g. on
    /// connect); later frames then go without it. Empty once sent. (With
    /// fake TLS the preamble goes with the first frame, inside its record.)
    pub fn take_preamble(&mut self) -> &[u8] {
        if self.tls.is_some() {
            return &[];
        }
        let len = std::mem::take(&mut self.preamble_len);
        &self.preamble[..len]
    }

    /// Frames `buf[payload]` in place: writes the header (and the pending
    /// preamble) just before it and the padding or CRC just after it, then
    /// encrypts when obfuscated. Returns the frame's range within `buf`.
    /// `quick_ack` asks the server for a quick acknowledgement (client only;
    /// not on the full transport).
    pub fn encode_in_place<R: RandomSource + ?Sized>(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
        quick_ack: bool,
        rng: &mut R,
    ) -> Result<Range<usize>, TransportError> {
        let kind = self.kind.ok_or(TransportError::NotReady)?;
        if quick_ack && (self.role == Role::Server || kind == Kind::Full) {
            return Err(TransportError::QuickAckUnsupported);
        }
        if payload.start > payload.end {
            return Err(TransportError::BadLength { len: 0 });
        }
        let before = self.header_len(payload.len());
        let after = self.trailer_len(payload.len());
        let short_after = self.tls.is_some() && buf.len().saturating_sub(payload.end) < after;
        if payload.start < before || payload.end > buf.len() || short_after {
            return Err(TransportError::BufferTooSmall {
                needed_before: before,
                needed_after: after,
            });
        }
        let tls_before = self.tls_before();
        let frame_at = payload.start - before;
        let max = self.max;
        let frame = match kind {
            Kind::Abridged => abridged::write(buf, payload, quick_ack, max)?,
            Kind::Intermediate => intermediate::write(buf, payload, quick_ack, max)?,
            Kind::PaddedIntermediate => padded::write(buf, payload, quick_ack, max, rng)?,
            Kind::Full => self.full.write(buf, payload, max)?,
        };
        if let Some(o) = &mut self.obfuscator {
            o.encrypt(&mut buf[frame.clone()]);
        }
        let len = std::mem::take(&mut self.preamble_len);
        let start = frame.start - len;
        buf[start..frame.start].copy_from_slice(&self.preamble[..len]);
        match &mut self.tls {
            None => Ok(start..frame.end),
            Some(tls) => {
                debug_assert_eq!(frame_at + tls_before, start);
                let ccs = std::mem::take(&mut tls.ccs_pending);
                records::wrap_in_place(buf, start..frame.end, ccs)
            }
        }
    }

    /// Frames the payload that fills `buf[payload_start..]`: grows `buf` by
    /// the trailer (no reallocation if the capacity was reserved) and returns
    /// the offset where the frame starts; the frame runs to the end of `buf`.
    pub fn encode_vec<R: RandomSource + ?Sized>(
        &mut self,
        buf: &mut Vec<u8>,
        payload_start: usize,
        quick_ack: bool,
        rng: &mut R,
    ) -> Result<usize, TransportError> {
        let end = buf.len();
        buf.resize(end + self.trailer_len(end - payload_start), 0);
        match self.encode_in_place(buf, payload_start..end, quick_ack, rng) {
            Ok(frame) => {
                buf.truncate(frame.end);
                Ok(frame.start)
            }
            Err(e) => {
                buf.truncate(end);
                Err(e)
            }
        }
    }

    /// Convenience: a new Vec holding the frame of `packet`.
    pub fn encode<R: RandomSource + ?Sized>(
        &mut self,
        packet: &[u8],
        quick_ack: bool,
        rng: &mut R,
    ) -> Result<Vec<u8>, TransportError> {
        let before = self.header_len(packet.len());
        let mut buf = Vec::with_capacity(before + packet.len() + self.trailer_len(packet.len()));
        buf.resize(before, 0);
        buf.extend_from_slice(packet);
        let start = self.encode_vec(&mut buf, before, quick_ack, rng)?;
        debug_assert_eq!(start, 0);
        Ok(buf)
    }

    /// Server side: the 4 bytes answering a quick-ack request with `token`
    /// (the high bit is forced on), encrypted when obfuscated, in a record
    /// of their own with fake TLS.
    pub fn quick_ack_answer(&mut self, token: u32) -> Result<Vec<u8>, TransportError> {
        let mut out = match (self.role, self.kind) {
            (_, None) => return Err(TransportError::NotReady),
            (Role::Client, _) | (_, Some(Kind::Full)) => {
                return Err(TransportError::QuickAckUnsupported)
            }
            (_, Some(Kind::Abridged)) => abridged::quick_ack_answer(token),
            (_, Some(_)) => intermediate::quick_ack_answer(token),
        };
        if let Some(o) = &mut self.obfuscator {
            o.encrypt(&mut out);
        }
        Ok(match &mut self.tls {
            None => out.to_vec(),
            Some(tls) => records::wrap(&out, std::mem::take(&mut tls.ccs_pending)),
        })
    }

    fn fail(&mut self, e: TransportError) -> TransportError {
        self.failed = Some(e);
        e
    }

    /// Takes received bytes (decrypting them when obfuscated). Errors here
    /// come from a server's preamble; after any decoding error the codec
    /// keeps returning it and the connection should be closed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TransportError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let offset = match &mut self.tls {
            None => self.inbox.append(chunk),
            Some(tls) => {
                let offset = self.inbox.len();
                let inbox = &mut self.inbox;
                if let Err(e) = tls.reader.feed(chunk, |piece| {
                    inbox.append(piece);
                }) {
                    return Err(self.fail(e));
                }
                offset
            }
        };
        if let Some(o) = &mut self.obfuscator {
            o.decrypt(&mut self.inbox.unread_mut()[offset..]);
        }
        if self.expect.is_some() {
            self.read_preamble().map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// Server: consumes the client's preamble once enough of it has arrived.
    fn read_preamble(&mut self) -> Result<(), TransportError> {
        let expect = self.expect.as_ref().expect("called while expecting");
        let bytes = self.inbox.unread();
        // Inside fake TLS only obfuscated2 can follow (MTProxy's `ee` form).
        let sniffed = match self.tls {
            Some(_) if bytes.is_empty() => Sniffed::NeedMore,
            Some(_) => Sniffed::Obfuscated,
            None => sniff(bytes),
        };
        let (kind, consumed) = match sniffed {
            Sniffed::NeedMore => return Ok(()),
            Sniffed::Unsupported => return Err(TransportError::UnsupportedProtocol),
            Sniffed::Plain { kind, preamble } => {
                if !expect.plain || expect.kind.is_some_and(|k| k != kind) {
                    return Err(TransportError::BadPreamble);
                }
                (kind, preamble)
            }
            Sniffed::Obfuscated => {
                if !expect.obfuscated {
                    return Err(TransportError::BadPreamble);
                }
                let Some(header) = bytes.get(..INIT_LEN) else {
                    return Ok(());
                };
                let header: &[u8; INIT_LEN] = header.try_into().expect("64 bytes");
                let accepted = obfuscated::server_accept(header, expect.secret.as_ref())?;
                if expect.kind.is_some_and(|k| k != accepted.kind) {
                    let tag = obfuscated::protocol_tag(accepted.kind)?;
                    return Err(TransportError::BadProtocolTag {
                        tag: u32::from_le_bytes(tag),
                    });
                }
                self.dc_id = Some(accepted.dc_id);
                self.obfuscator = Some(Box::new(accepted.obfuscator));
                (accepted.kind, INIT_LEN)
            }
        };
        self.inbox.consume(consumed);
        if let Some(o) = &mut self.obfuscator {
            o.decrypt(self.inbox.unread_mut());
        }
        self.kind = Some(kind);
        self.expect = None;
        Ok(())
    }

    /// Reads the next frame's header from the buffer, without consuming it.
    fn head(&self) -> Result<Option<(Kind, Head)>, TransportError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let Some(kind) = self.kind.filter(|_| self.expect.is_none()) else {
            return Ok(None);
        };
        let bytes = self.inbox.unread();
        let head = match kind {
            Kind::Abridged => abridged::head(bytes, self.role, self.max),
            Kind::Intermediate => intermediate::head(bytes, self.role, self.max),
            Kind::PaddedIntermediate => padded::head(bytes, self.role, self.max),
            Kind::Full => Full::head(bytes, self.max),
        }?;
        Ok(head.map(|h| (kind, h)))
    }

    /// The packet length of the next frame if it has wholly arrived (0 for a
    /// quick-ack answer), else `None`. Lets a caller check that it has room
    /// before taking the frame. The full transport's CRC and seqno are
    /// checked by `next_frame`, which may still fail after `Some`.
    pub fn peek_len(&self) -> Option<usize> {
        match self.head() {
            Ok(Some((_, Head::QuickAck { .. }))) => Some(0),
            Ok(Some((
                _,
                Head::Frame {
                    header,
                    body,
                    trailer,
                    ..
                },
            ))) if self.inbox.len() >= header + body + trailer => Some(body),
            _ => None,
        }
    }

    /// The next whole frame, or `None` until more bytes are pushed.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, TransportError> {
        let (kind, header, body, trailer, quick_ack) = match self.head() {
            Err(e) => return Err(self.fail(e)),
            Ok(None) => {
                // Everything read: an idle connection keeps no burst-sized buffer.
                self.inbox.release_if_empty();
                return Ok(None);
            }
            Ok(Some((_, Head::QuickAck { token }))) => {
                self.inbox.consume(4);
                return Ok(Some(Frame::QuickAck { token }));
            }
            Ok(Some((
                kind,
                Head::Frame {
                    header,
                    body,
                    trailer,
                    quick_ack,
                },
            ))) => (kind, header, body, trailer, quick_ack),
        };
        let bytes = self.inbox.unread();
        let total = header + body + trailer;
        if bytes.len() < total {
            return Ok(None);
        }
        if kind == Kind::Full {
            if let Err(e) = self.full.finish(&bytes[..total]) {
                return Err(self.fail(e));
            }
        }
        self.inbox.consume(total);
        let data = self.inbox.consumed_slice_mut(total - header, body);
        let error_len = match kind {
            Kind::PaddedIntermediate => 4..PADDED_MIN_MESSAGE,
            _ => 4..5,
        };
        if error_len.contains(&data.len()) {
            let code = i32::from_le_bytes(data[..4].try_into().expect("4 bytes"));
            if code < 0 {
                return Ok(Some(Frame::TransportError { code }));
            }
        }
        Ok(Some(Frame::Packet { data, quick_ack }))
    }

    /// Convenience: pushes `chunk` and returns every whole frame, copied out.
    pub fn decode(&mut self, chunk: &[u8]) -> Result<Vec<OwnedFrame>, TransportError> {
        self.push(chunk)?;
        let mut frames = Vec::new();
        while let Some(frame) = self.next_frame()? {
            frames.push(frame.into());
        }
        Ok(frames)
    }
}

//! One connection's hot path: an MTProto session (`mtp::Session`) over a
//! transport (`transport::Codec`), so that a driver crosses into Rust once per
//! direction per event-loop turn.
//!
//! - `transmit(now, bodies, rng)` queues the bodies, lets the session pack,
//!   number and encrypt whatever is due, and frames every packet in place
//!   (each packet is sealed after `MAX_HEADER_ROOM` free bytes, so header and
//!   trailer are written around it without a copy). The frames come back to
//!   back in one buffer, ready for the socket, with the connection preamble in
//!   front of the first frame after a (re)connect.
//! - `receive(chunk, now, rng)` unframes whatever whole frames the chunk
//!   completes, decrypts each packet where it lies in the codec's buffer and
//!   returns the session's events beside the transport's own: quick-ack
//!   answers, transport error codes (-404, -429, -444) and, when the byte
//!   stream is corrupt, one `Fatal` event that tells the driver to reconnect.
//! - `reset_transport(codec)` swaps the codec after a reconnect and keeps the
//!   session: same session_id, same messages in flight. The driver then calls
//!   `session_mut().request_state(now)` (or `resend_pending()`) and transmits.
//! - Without a transport (`Link::without_transport`, for a server whose
//!   connections do their own framing, as an embedded test DC's do) the link
//!   works on whole packets: `transmit` returns the sealed packets one by one
//!   and `receive_in_place` takes one packet and decrypts it where it lies.
//! - One `receive` hands out at most `MAX_EVENTS` events. A packet may carry far
//!   more (a 16 MiB container of 800,000 tiny updates): the rest wait in the link
//!   (`waiting()`), and frames after that packet stay undecoded in the codec,
//!   until further calls (with an empty chunk) take them, so a driver can stop
//!   between calls and what waits is bounded by the packet that brought it.
//!
//! Sans-IO like its parts: time and randomness come in, deadlines go out.
//! Encrypted traffic only: the handshake's plain messages use `mtp::plain`
//! and a codec of their own. Quick-ack is reported when the server sends one
//! but never asked for: its token is a hash over the plaintext that the
//! session does not keep once a packet is sealed.

mod receive;
mod transmit;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;

use crate::crypto::envelope::AuthKey;
use crate::mtp::inflight::RECENT_MS;
use crate::mtp::{MtpError, Options, Session};
use crate::transport::{Codec, TransportError, MAX_HEADER_ROOM, MAX_TRAILER_ROOM};

pub use receive::{LinkEvent, Receive, TransportCode};
pub use transmit::{After, Frames, Transmit};

/// Errors of `Link::transmit` (what arrives is reported as events, never as errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// A body is not a TL object the session can send; nothing was queued.
    Body(MtpError),
    /// The transport cannot frame now: a server before the client's preamble
    /// (`NotReady`), or a packet over the codec's length limit.
    Transport(TransportError),
    /// The incoming stream broke (a `Fatal` event was reported): reconnect and
    /// `reset_transport` before sending again. Nothing was queued.
    Broken(TransportError),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body(e) => write!(f, "{e}"),
            Self::Transport(e) => write!(f, "{e}"),
            Self::Broken(e) => write!(f, "the connection broke ({e}); reconnect first"),
        }
    }
}

impl std::error::Error for LinkError {}

impl From<MtpError> for LinkError {
    fn from(e: MtpError) -> Self {
        Self::Body(e)
    }
}

/// Most events one `receive` hands out; the rest wait for the next calls.
pub const MAX_EVENTS: usize = 1024;

/// A session and the transport of its current connection (or none: whole packets).
#[derive(Debug)]
pub struct Link {
    session: Session,
    /// None: the caller frames and unframes whole packets itself.
    codec: Option<Codec>,
    /// Events of packets already read that a `receive` had no room for (`MAX_EVENTS`).
    waiting: VecDeque<LinkEvent>,
    /// Set when the incoming stream failed to decode; cleared by `reset_transport`.
    broken: Option<TransportError>,
    /// When the records of the last packets sent expire (`RECENT_MS` after the
    /// last transmit that sent something): a deadline of its own, so that an
    /// idle session wakes once, lets the session purge them and frees their
    /// buffers instead of holding its busiest moment's records until the next
    /// keepalive.
    tidy_at: Option<i64>,
}

impl Link {
    /// A link over `codec`. The session's `headroom` and `tailroom` are set to
    /// the most any codec needs, so packets are framed where they were sealed
    /// and a later codec of another kind fits too.
    pub fn new(key: AuthKey, mut options: Options, codec: Codec) -> Self {
        options.headroom = MAX_HEADER_ROOM;
        options.tailroom = MAX_TRAILER_ROOM;
        Self {
            codec: Some(codec),
            ..Self::without_transport(key, options)
        }
    }

    /// A link over no transport: `transmit` returns whole packets, each after the
    /// options' `headroom` free bytes with `tailroom` spare capacity, and
    /// `receive_in_place` takes one whole packet at a time.
    pub fn without_transport(key: AuthKey, options: Options) -> Self {
        Self {
            session: Session::new(key, options),
            codec: None,
            waiting: VecDeque::new(),
            broken: None,
            tidy_at: None,
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The message layer, for what the link does not wrap: `request_state`
    /// after a reconnect, `enqueue` while disconnected, state export/import.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The current connection's transport; None for a link made without one.
    pub fn codec(&self) -> Option<&Codec> {
        self.codec.as_ref()
    }

    /// Events read and not handed out yet (see `MAX_EVENTS`): call `receive` again,
    /// with an empty chunk if nothing new arrived, until this is 0.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The decoding error that broke the current connection, if any.
    pub fn broken(&self) -> Option<TransportError> {
        self.broken
    }

    /// After a reconnect: the new connection's codec replaces the old one (its
    /// buffered bytes and any decoding error are dropped); the session stays,
    /// with its session_id, seqno and messages in flight. The new preamble goes
    /// out with the next frame. Events already read and still waiting stay (the
    /// session acted on them; they are handed out by the next `receive`). Returns
    /// the old codec. Framing happens after the options' headroom, so a link made
    /// without a transport only takes one whose header fits there.
    pub fn reset_transport(&mut self, codec: Codec) -> Option<Codec> {
        self.broken = None;
        self.codec.replace(codec)
    }

    /// When `transmit` should be called next (ms since the epoch), or None when idle.
    pub fn deadline(&self, now: i64) -> Option<i64> {
        self.wake_at(self.session.deadline(now))
    }

    /// The session's `deadline`, or the tidy-up time when earlier.
    fn wake_at(&self, session: Option<i64>) -> Option<i64> {
        match (session, self.tidy_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How long after its last packet an idle link wakes to drop the session's
/// records of what it sent (they are kept `RECENT_MS`; one more ms so the
/// purge, which keeps a record until `sent_at + RECENT_MS`, finds them all due).
const TIDY_AFTER_MS: i64 = RECENT_MS + 1;

#[cfg(test)]
mod idle_tests {
    use super::*;
    use crate::transport::{ClientConfig, Kind};

    #[test]
    fn an_idle_link_wakes_once_to_drop_its_records() {
        let mut rng = |b: &mut [u8]| b.fill(7);
        let codec = Codec::client(&ClientConfig::new(Kind::Intermediate), &mut rng).unwrap();
        let mut options = Options::client();
        options.auto_future_salts = false;
        options.state_req_after_ms = 1 << 40;
        let mut link = Link::new(AuthKey::new([3; 256]), options, codec);
        assert_eq!(link.deadline(0), None);
        let t = link.transmit(1_000, vec![vec![0; 8]], &mut rng).unwrap();
        assert!(!t.frames.is_empty());
        assert_eq!(link.deadline(1_000), Some(1_000 + TIDY_AFTER_MS));
        let quiet = link
            .transmit(1_000 + TIDY_AFTER_MS, Vec::new(), &mut rng)
            .unwrap();
        assert!(quiet.frames.is_empty());
        assert_eq!(link.tidy_at, None, "nothing sent since: no further tidy-up");
    }
}

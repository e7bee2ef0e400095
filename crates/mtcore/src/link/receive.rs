//! Incoming: unframe, decrypt in place, the session's events and the transport's.

use super::Link;
use crate::crypto::envelope::OUTER_HEADER_LEN;
use crate::mtp::Event;
use crate::transport::{Frame, Kind, TransportError};

/// A transport error code: a 4-byte packet holding a negative int32, which the
/// server sends instead of a message and usually follows by closing the
/// connection (spec: https://core.telegram.org/mtproto/mtproto-transports#transport-errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportCode {
    /// -404: the server does not know the auth key (or, for some requests, the
    /// method): a stored key was dropped, or a message went to the wrong DC.
    AuthKeyNotFound,
    /// -429: transport flood: too many connections from one address in a short
    /// time, or a container or service-message limit was reached.
    Flood,
    /// -444: invalid DC, e.g. a test DC id sent to a production server.
    InvalidDc,
    /// Any other negative code.
    Other(i32),
}

impl TransportCode {
    pub fn from_code(code: i32) -> Self {
        match code {
            -404 => Self::AuthKeyNotFound,
            -429 => Self::Flood,
            -444 => Self::InvalidDc,
            other => Self::Other(other),
        }
    }

    /// The int32 as it came over the wire.
    pub fn code(self) -> i32 {
        match self {
            Self::AuthKeyNotFound => -404,
            Self::Flood => -429,
            Self::InvalidDc => -444,
            Self::Other(code) => code,
        }
    }
}

/// One thing the link reports, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// What the message layer made of a packet.
    Session(Event),
    /// The server confirmed a packet sent with quick-ack (token, high bit set).
    QuickAck { token: u32 },
    /// The server's transport error code.
    TransportError(TransportCode),
    /// The byte stream is corrupt (bad length, CRC, sequence number, preamble):
    /// nothing more can be read from this connection. Reconnect and
    /// `reset_transport`; until then `receive` reports this again and `transmit`
    /// refuses.
    Fatal(TransportError),
}

/// What one `receive` produced.
#[derive(Debug, Default)]
pub struct Receive {
    pub events: Vec<LinkEvent>,
    /// When to call `transmit` next (ms since the epoch), or None when idle.
    pub deadline: Option<i64>,
}

impl Link {
    /// Takes the bytes the socket delivered. Whole frames are decrypted where they
    /// lie in the codec's buffer; a partial frame waits for the next chunk.
    /// `rng` is used only if the session must start a new session_id (code 33).
    pub fn receive(&mut self, chunk: &[u8], now: i64, rng: &mut dyn FnMut(&mut [u8])) -> Receive {
        let mut events = Vec::new();
        self.receive_into(chunk, now, rng, &mut events);
        Receive {
            events,
            deadline: self.deadline(now),
        }
    }

    /// `receive` appending to the caller's `events` (for batches); returns how
    /// many it appended.
    pub fn receive_into(
        &mut self,
        chunk: &[u8],
        now: i64,
        rng: &mut dyn FnMut(&mut [u8]),
        events: &mut Vec<LinkEvent>,
    ) -> usize {
        let before = events.len();
        if let Some(e) = self.broken {
            events.push(LinkEvent::Fatal(e));
            return 1;
        }
        if let Err(e) = self.codec.push(chunk) {
            self.broken = Some(e);
            events.push(LinkEvent::Fatal(e));
            return events.len() - before;
        }
        // The padded transport cannot tell its padding from the packet: an
        // encrypted message is the largest whole number of blocks after its header.
        let padded = self.codec.kind() == Some(Kind::PaddedIntermediate);
        loop {
            match self.codec.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Packet { data, .. })) => {
                    let len = if padded && data.len() > OUTER_HEADER_LEN {
                        data.len() - (data.len() - OUTER_HEADER_LEN) % 16
                    } else {
                        data.len()
                    };
                    let got = self.session.receive(&mut data[..len], now, rng);
                    events.extend(got.into_iter().map(LinkEvent::Session));
                }
                Ok(Some(Frame::QuickAck { token })) => events.push(LinkEvent::QuickAck { token }),
                Ok(Some(Frame::TransportError { code })) => {
                    events.push(LinkEvent::TransportError(TransportCode::from_code(code)))
                }
                Err(e) => {
                    self.broken = Some(e);
                    events.push(LinkEvent::Fatal(e));
                    break;
                }
            }
        }
        events.len() - before
    }
}

//! Incoming: unframe, decrypt in place, the session's events and the transport's.

use std::collections::VecDeque;

use super::{Link, MAX_EVENTS};
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
    /// lie in the codec's buffer; a partial frame waits for the next chunk. At most
    /// `MAX_EVENTS` events come back; the rest wait (`waiting()`) for the next call,
    /// which may bring an empty chunk. Without a transport `chunk` is one whole
    /// packet (see `receive_in_place`, which spares the copy).
    /// `rng` is used only if the session must start a new session_id (code 33).
    pub fn receive(&mut self, chunk: &[u8], now: i64, rng: &mut dyn FnMut(&mut [u8])) -> Receive {
        let mut events = Vec::new();
        if self.codec.is_some() {
            self.receive_into(chunk, now, rng, &mut events);
        } else {
            self.receive_packet(&mut chunk.to_vec(), now, rng, &mut events);
        }
        Receive {
            events,
            deadline: self.deadline(now),
        }
    }

    /// `receive` for a caller that owns the bytes: without a transport the packet
    /// is decrypted where it lies (its bytes are consumed); with one it is copied
    /// into the codec's buffer as `receive` does.
    pub fn receive_in_place(
        &mut self,
        data: &mut [u8],
        now: i64,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Receive {
        let mut events = Vec::new();
        if self.codec.is_some() {
            self.receive_into(data, now, rng, &mut events);
        } else {
            self.receive_packet(data, now, rng, &mut events);
        }
        Receive {
            events,
            deadline: self.deadline(now),
        }
    }

    /// The stream form: appends to `events` (up to `MAX_EVENTS` in all) and returns
    /// how many it appended. Frames past a packet whose events did not all fit stay
    /// in the codec's buffer until the waiting events are handed out.
    pub fn receive_into(
        &mut self,
        chunk: &[u8],
        now: i64,
        rng: &mut dyn FnMut(&mut [u8]),
        events: &mut Vec<LinkEvent>,
    ) -> usize {
        let before = events.len();
        let limit = before + MAX_EVENTS;
        if let Some(codec) = self.codec.as_mut() {
            if self.broken.is_none() && !chunk.is_empty() {
                if let Err(e) = codec.push(chunk) {
                    self.broken = Some(e);
                    self.waiting.push_back(LinkEvent::Fatal(e));
                }
            }
        }
        loop {
            self.hand_out(events, limit);
            if !self.waiting.is_empty() {
                // Full: the rest waits, and so do the frames after it.
                break;
            }
            if let Some(e) = self.broken {
                // Until a reconnect, every call reports the broken stream again.
                if events.len() == before {
                    events.push(LinkEvent::Fatal(e));
                }
                break;
            }
            // Nothing waits: read the next frame. When `events` is full already, its
            // events wait, so that `waiting()` tells whether anything is left to take.
            if !self.next_frame(now, rng, events, limit) {
                break;
            }
        }
        events.len() - before
    }

    /// Reads one whole frame, if the codec holds one; its events go to `events`
    /// while they fit under `limit`, else they all wait (order kept). False when
    /// no whole frame is left.
    fn next_frame(
        &mut self,
        now: i64,
        rng: &mut dyn FnMut(&mut [u8]),
        events: &mut Vec<LinkEvent>,
        limit: usize,
    ) -> bool {
        let Some(codec) = self.codec.as_mut() else {
            return false;
        };
        // The padded transport cannot tell its padding from the packet: an
        // encrypted message is the largest whole number of blocks after its header.
        let padded = codec.kind() == Some(Kind::PaddedIntermediate);
        let one = match codec.next_frame() {
            Ok(None) => return false,
            Ok(Some(Frame::Packet { data, .. })) => {
                let len = if padded && data.len() > OUTER_HEADER_LEN {
                    data.len() - (data.len() - OUTER_HEADER_LEN) % 16
                } else {
                    data.len()
                };
                let got = self.session.receive(&mut data[..len], now, rng);
                self.take(got, events, limit);
                return true;
            }
            Ok(Some(Frame::QuickAck { token })) => LinkEvent::QuickAck { token },
            Ok(Some(Frame::TransportError { code })) => {
                LinkEvent::TransportError(TransportCode::from_code(code))
            }
            Err(e) => {
                self.broken = Some(e);
                LinkEvent::Fatal(e)
            }
        };
        if events.len() < limit {
            events.push(one);
        } else {
            self.waiting.push_back(one);
        }
        true
    }

    /// The packet form (no transport): hands out what waits, then decrypts `packet`
    /// in place. An empty `packet` is none: the call only hands out what waits.
    fn receive_packet(
        &mut self,
        packet: &mut [u8],
        now: i64,
        rng: &mut dyn FnMut(&mut [u8]),
        events: &mut Vec<LinkEvent>,
    ) {
        let limit = events.len() + MAX_EVENTS;
        self.hand_out(events, limit);
        if !packet.is_empty() {
            let got = self.session.receive(packet, now, rng);
            self.take(got, events, limit);
            self.hand_out(events, limit);
        }
    }

    /// A packet's events: straight to `events` when nothing waits and all fit
    /// under `limit`, else behind what waits.
    fn take(&mut self, got: Vec<Event>, events: &mut Vec<LinkEvent>, limit: usize) {
        if self.waiting.is_empty() && events.len() + got.len() <= limit {
            events.extend(got.into_iter().map(LinkEvent::Session));
        } else if self.waiting.is_empty() {
            // A big packet: its Vec becomes the queue (`LinkEvent` has `Event`'s
            // layout, so the map is done in place), not a second copy of its events.
            self.waiting = got
                .into_iter()
                .map(LinkEvent::Session)
                .collect::<Vec<_>>()
                .into();
        } else {
            self.waiting.extend(got.into_iter().map(LinkEvent::Session));
        }
    }

    /// Moves waiting events to `events` until it holds `limit`; once none wait, the
    /// queue's memory (a big packet's worth) goes too.
    fn hand_out(&mut self, events: &mut Vec<LinkEvent>, limit: usize) {
        let n = self.waiting.len().min(limit.saturating_sub(events.len()));
        events.extend(self.waiting.drain(..n));
        if self.waiting.is_empty() && self.waiting.capacity() > 0 {
            self.waiting = VecDeque::new();
        }
    }
}

//! Outgoing: queue, seal, frame in place, one buffer of frames for the socket.

use super::{Link, LinkError};
use crate::transport::TransportError;

/// Frames to write to the socket as they are, back to back.
///
/// The buffer is the first packet's own allocation: the session sealed it after
/// `MAX_HEADER_ROOM` free bytes (the link's headroom), the codec wrote the frame around it, and the
/// unused part of the headroom is skipped by `start`. Later packets of the same
/// transmit (rare: past a container's limits, or a message that must travel
/// alone) are appended after it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Frames {
    buf: Vec<u8>,
    start: usize,
}

impl Frames {
    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes to send as a Vec of their own (moves them to the front).
    pub fn into_vec(mut self) -> Vec<u8> {
        self.buf.drain(..self.start);
        self.buf
    }
}

/// The earlier call a chained body waits for (invokeAfterMsg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// A call sent before, by msg_id.
    Id(u64),
    /// An earlier body of the same transmit, by index.
    Index(usize),
}

/// What one `transmit` produced.
#[derive(Debug, Default)]
pub struct Transmit {
    /// With a transport: every frame due, back to back.
    pub frames: Frames,
    /// Without a transport: the sealed packets, each after the options' headroom.
    pub packets: Vec<Vec<u8>>,
    /// msg_ids the session gave the bodies of this call, in their order (the
    /// driver learns each request's id from the call that sends it).
    pub msg_ids: Vec<u64>,
    /// msg_ids of every request the packets carry: queued before, re-sent, then
    /// this call's bodies (what `mtp::Transmit::msg_ids` lists).
    pub carried: Vec<u64>,
    /// When to call `transmit` again (ms since the epoch), or None when idle.
    pub deadline: Option<i64>,
}

impl Link {
    /// Queues `bodies` (content-related requests, all or none), then packs,
    /// encrypts and frames whatever is due.
    ///
    /// Errors leave the session untouched when raised before packing (a bad body,
    /// a broken link, a server that has not read the client's preamble). A packet
    /// over the codec's length limit fails after packing: its messages stay in
    /// flight and are asked about (msgs_state_req) like any lost packet.
    pub fn transmit(
        &mut self,
        now: i64,
        bodies: Vec<Vec<u8>>,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Transmit, LinkError> {
        self.check_ready()?;
        let ids = if bodies.is_empty() {
            Vec::new()
        } else {
            self.session.enqueue_all(bodies, now)?
        };
        self.send_due(now, ids, rng)
    }

    /// `transmit` for bodies the caller holds as slices: each is checked before
    /// any is copied, so a bad one leaves the session untouched.
    pub fn transmit_slices<B: AsRef<[u8]>>(
        &mut self,
        now: i64,
        bodies: &[B],
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Transmit, LinkError> {
        let bodies: Vec<&[u8]> = bodies.iter().map(AsRef::as_ref).collect();
        self.transmit_chained(now, bodies, &[], rng)
    }

    /// `transmit_slices` where `after[i]`, when given, makes body `i` run on the server
    /// only after an earlier call: one sent before (`After::Id`) or an earlier body of
    /// this same call (`After::Index`). Such bodies go wrapped in invokeAfterMsg.
    /// A body the caller owns (`Vec<u8>`) is queued as it is, without a copy.
    pub fn transmit_chained<B: AsRef<[u8]> + Into<Vec<u8>>>(
        &mut self,
        now: i64,
        bodies: Vec<B>,
        after: &[Option<After>],
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Transmit, LinkError> {
        for b in &bodies {
            crate::mtp::session::check_body(b.as_ref()).map_err(LinkError::Body)?;
        }
        for (i, a) in after.iter().enumerate() {
            if i >= bodies.len() || matches!(a, Some(After::Index(j)) if *j >= i) {
                return Err(LinkError::Body(crate::mtp::MtpError::BadChain { at: i }));
            }
        }
        self.check_ready()?;
        // Checked above, so each enqueue succeeds.
        let mut ids = Vec::with_capacity(bodies.len());
        for (i, b) in bodies.into_iter().enumerate() {
            let id = match after.get(i).copied().flatten() {
                None => self.session.enqueue(b.into(), true, now)?,
                Some(After::Id(prev)) => self.session.enqueue_after(b.as_ref(), prev, now)?,
                Some(After::Index(j)) => self.session.enqueue_after(b.as_ref(), ids[j], now)?,
            };
            ids.push(id);
        }
        self.send_due(now, ids, rng)
    }

    /// Refuses to queue on a broken link or before a server read the preamble.
    fn check_ready(&self) -> Result<(), LinkError> {
        if let Some(e) = self.broken {
            return Err(LinkError::Broken(e));
        }
        if self.codec.as_ref().is_some_and(|c| c.kind().is_none()) {
            return Err(LinkError::Transport(TransportError::NotReady));
        }
        Ok(())
    }

    /// Packs, encrypts and frames whatever the session has due; `msg_ids` are the
    /// ids of the bodies this call queued.
    fn send_due(
        &mut self,
        now: i64,
        msg_ids: Vec<u64>,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Transmit, LinkError> {
        let t = self.session.transmit(now, rng);
        if !t.packets.is_empty() {
            self.tidy_at = Some(now + super::TIDY_AFTER_MS);
        } else if self.tidy_at.is_some_and(|at| at <= now) {
            // The session purged what expired by now: nothing left to tidy.
            self.tidy_at = None;
        }
        let deadline = self.wake_at(t.deadline);
        let (frames, packets) = match self.codec {
            Some(_) => (self.frame(t.packets, rng)?, Vec::new()),
            None => (Frames::default(), t.packets),
        };
        Ok(Transmit {
            frames,
            packets,
            msg_ids,
            carried: t.msg_ids,
            deadline,
        })
    }

    /// Frames each sealed packet where it lies; the first packet's buffer becomes
    /// the output and the others follow it.
    fn frame(
        &mut self,
        packets: Vec<Vec<u8>>,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Frames, LinkError> {
        let mut rng = rng;
        let headroom = self.session.options().headroom;
        let mut frames = Frames::default();
        let Some(codec) = self.codec.as_mut() else {
            return Ok(frames);
        };
        for (i, mut packet) in packets.into_iter().enumerate() {
            let start = codec
                .encode_vec(&mut packet, headroom, false, &mut rng)
                .map_err(LinkError::Transport)?;
            if i == 0 {
                frames = Frames { buf: packet, start };
            } else {
                frames.buf.extend_from_slice(&packet[start..]);
            }
        }
        Ok(frames)
    }
}

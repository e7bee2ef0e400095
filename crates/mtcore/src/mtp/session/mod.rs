//! One MTProto session (client side, or the server side for an embedded test DC).
//!
//! Choices where the spec leaves room (each cited where it is applied):
//! - msg_ids and seqnos are assigned at `enqueue`, so the driver maps a request
//!   to its id at once; re-stamps are reported as `Event::Resent`. A queued
//!   message older than 30 s travels inside a container with a fresh id.
//! - Acks: every packet carries all pending acks; a stand-alone msgs_ack goes
//!   out `ack_delay_ms` (1 s) after the oldest pending one, or at once when
//!   `ack_threshold` (16) are pending. Duplicates are acknowledged again.
//! - Unacknowledged content messages older than `state_req_after_ms` (20 s) are
//!   asked about with msgs_state_req; only those the peer did not receive
//!   (status 1, 2, 3) are re-sent, under new ids. `request_state` does this at
//!   once after a reconnect; `resend_pending` is the blind alternative (same
//!   ids, inside a container, so the peer drops what it already has).
//! - A late answer to a re-stamped request settles it once, under its current
//!   id; a second answer is dropped (`UnknownMessage`). The server may still
//!   run a re-sent request twice (status 1, code 20, new_session_created): the
//!   driver never sees two answers.
//! - bad_msg_notification: 16/17 fix the clock from the notification's id and
//!   re-send (queued messages too); 18, 19, 20, 48 re-send under a new id; 32
//!   moves the seqno counter 64 ahead and re-sends; 33 starts a new session_id
//!   (seqno from 0, everything unanswered re-sent, `SessionReset`); 34/35 flip
//!   content-relatedness once, then fail; 64 re-sends each message alone. A
//!   message rejected more than 5 times fails (`Failed`). Notifications about
//!   ids we did not recently send are ignored (spec: check before trusting).
//! - Time window (300 s past, 30 s future) applies once the clock is trusted:
//!   from the start when an offset is given, else after the first in-window
//!   message or a 16/17 fix. A message outside it that names one of our recent
//!   messages (an answer, a notification, an ack) passes and re-syncs the clock
//!   (`TimeFixed`), so a clock that jumps either way is repaired; see `receive`.
//! - The server side remembers every msg_id of the last 300 s (not only the last
//!   256), so its msgs_state_info never says "unknown" about a request it ran.
//! - rpc_error is parsed (`RpcError { code, message }`); gzip_packed is inflated
//!   out of one budget per packet, `max_gzip_len` (16 MiB) for all its layers;
//!   containers, copies and gzip_packed nest at most 8 deep (`walk`). A dropped
//!   message that may have held an answer fails that request, or has the peer asked
//!   about every request in flight (`walk::audit`): nothing waits for a lost answer.
//! - Service messages naming our ids (bad_msg_notification, new_session_created,
//!   msgs_state_info, msg_detailed_info, pong, acks) count only for ids we sent; a
//!   message is re-sent at most `MAX_RESENDS` (10) times, then fails.
//! - Server side with `server_checks` (an embedded test DC): every client message
//!   is checked as a Telegram server does and refusals are answered with
//!   bad_msg_notification / bad_server_salt (`Rejected` events); see `server`.

mod chain;
mod receive;
mod recovery;
mod server;
mod transmit;
mod walk;

#[cfg(test)]
mod interleavings;

use crate::crypto::envelope::{AuthKey, Sender};

use super::acks::AckQueue;
use super::bind::BindRequest;
use super::inflight::Inflight;
use super::msg_id::MsgIdGen;
use super::outbox::{self, Kind, Limits, Outbox, Outgoing};
use super::received::Received;
use super::salts::{FutureSalt, Salts};
use super::seqno::{SeqNo, SeqnoLog};
use super::service::ctor;

pub use transmit::Transmit;

/// Settings of a session; `Options::client()` and `Options::server()` give the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// Who we are: our packets are encrypted as `role`, the peer's as the other.
    pub role: Sender,
    pub session_id: u64,
    pub salt: u64,
    /// Server time minus local time; `Some` also means the clock is known to be synced
    /// (so the time window check applies from the first packet).
    pub time_offset_ms: Option<i64>,
    /// Bytes left free before each packet for the transport header.
    pub headroom: usize,
    /// Capacity reserved after each packet (a transport trailer such as a CRC).
    pub tailroom: usize,
    pub ack_delay_ms: i64,
    pub ack_threshold: usize,
    pub state_req_after_ms: i64,
    pub limits: Limits,
    /// Most bytes all gzip_packed of one packet may inflate to, together.
    pub max_gzip_len: usize,
    /// Ask for future salts ahead of expiry (client only).
    pub auto_future_salts: bool,
    /// Server only: check every client message as a Telegram server does and answer
    /// bad_msg_notification / bad_server_salt / new_session_created (see `server`).
    /// Off, a server session only drops what it cannot use.
    pub server_checks: bool,
}

impl Options {
    pub fn client() -> Self {
        Options {
            role: Sender::Client,
            session_id: 0,
            salt: 0,
            time_offset_ms: None,
            headroom: 0,
            tailroom: 0,
            ack_delay_ms: 1_000,
            ack_threshold: 16,
            state_req_after_ms: 20_000,
            limits: Limits::default(),
            max_gzip_len: 16 << 20,
            auto_future_salts: true,
            server_checks: false,
        }
    }

    pub fn server() -> Self {
        Options {
            role: Sender::Server,
            time_offset_ms: Some(0),
            auto_future_salts: false,
            ..Self::client()
        }
    }
}

/// What a driver persists to resume a session later (besides the auth key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub session_id: u64,
    pub salt: u64,
    pub future_salts: Vec<FutureSalt>,
    pub time_offset_ms: i64,
    pub time_synced: bool,
    /// Content-related messages sent so far (the seqno counter).
    pub seqno: u32,
    pub last_msg_id: u64,
}

/// Errors of the message layer's API (bad packets are events, not errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtpError {
    /// A body must be whole TL words (a multiple of 4 bytes, at least 4) and at most `max`.
    BadBodyLength { len: usize, max: usize },
    /// A chained body names no earlier body of its transmit (or a later one).
    BadChain { at: usize },
}

impl std::fmt::Display for MtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadBodyLength { len, max } => write!(
                f,
                "body of {len} bytes is not a TL object of 4..={max} bytes in whole words"
            ),
            Self::BadChain { at } => {
                write!(f, "body {at} waits for no earlier body of its transmit")
            }
        }
    }
}

impl std::error::Error for MtpError {}

/// Retries after bad_msg_notification before a message is given up.
const MAX_ATTEMPTS: u8 = 5;
/// Re-sends of one message (under a new id, or its own on msg_resend_req) before it is
/// given up (`FailReason::ResentTooOften`). Each is the peer's word that it lost the
/// message; a legitimate peer needs a few (a rejected id, a new session, a reconnect
/// that lost the packet), a hostile one could ask for ever.
const MAX_RESENDS: u8 = 10;
/// Minimum time between automatic get_future_salts.
const SALTS_RETRY_MS: i64 = 60_000;
/// How many salts to ask for.
const FUTURE_SALTS_NUM: u32 = 64;

pub struct Session {
    key: AuthKey,
    opts: Options,
    session_id: u64,
    salts: Salts,
    ids: MsgIdGen,
    seq: SeqNo,
    time_synced: bool,
    outbox: Outbox,
    inflight: Inflight,
    acks: AckQueue,
    received: Received,
    salts_requested_at: Option<i64>,
    /// get_future_salts requests of ours not answered yet.
    salts_pending: u32,
    /// Lower bound of when an unacknowledged message is due for msgs_state_req: the
    /// full scan runs only when it passes (acks make it early, never late).
    state_check_at: Option<i64>,
    /// Ids at or below this may collide with older ones (the clock was moved back).
    rewound_until: u64,
    /// Current ids of messages taken out to be re-stamped (neither queued nor in flight
    /// for a moment): a new id below `rewound_until` must not take one of them.
    restamping: Vec<u64>,
    /// Server checks: the peer's recent (msg_id, seqno) pairs.
    seq_log: SeqnoLog,
    /// Server checks: new_session_created was sent.
    announced: bool,
    /// Re-stamped ids that chained calls (invokeAfterMsg) must follow.
    chain: chain::ChainRenames,
    /// When the audit in flight (`walk::audit`) was asked, if one is.
    audit_asked_at: Option<i64>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("key", &self.key)
            .field("session_id", &format_args!("{:016x}", self.session_id))
            .field("queued", &self.outbox.len())
            .field("in_flight", &self.inflight.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(key: AuthKey, opts: Options) -> Self {
        Session {
            key,
            session_id: opts.session_id,
            salts: Salts::new(opts.salt),
            ids: MsgIdGen::new(opts.time_offset_ms.unwrap_or(0)),
            seq: SeqNo::default(),
            time_synced: opts.time_offset_ms.is_some(),
            outbox: Outbox::default(),
            inflight: Inflight::default(),
            acks: AckQueue::default(),
            // A server remembers every id it may still accept (see `received`).
            received: match opts.role {
                Sender::Client => Received::default(),
                Sender::Server => Received::timed(receive::WINDOW_PAST_MS),
            },
            salts_requested_at: None,
            salts_pending: 0,
            state_check_at: None,
            rewound_until: 0,
            restamping: Vec::new(),
            seq_log: SeqnoLog::default(),
            announced: false,
            chain: chain::ChainRenames::default(),
            audit_asked_at: None,
            opts,
        }
    }

    pub fn auth_key(&self) -> &AuthKey {
        &self.key
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    fn is_client(&self) -> bool {
        self.opts.role == Sender::Client
    }

    /// A new msg_id for a message of ours with `body` (the server side marks answers 1 mod 4).
    fn next_id(&mut self, now: i64, body: &[u8]) -> u64 {
        let rem = match self.opts.role {
            Sender::Client => 0,
            Sender::Server => match outbox_ctor(body) {
                ctor::RPC_RESULT
                | ctor::PONG
                | ctor::FUTURE_SALTS
                | ctor::MSGS_STATE_INFO
                | ctor::BAD_MSG_NOTIFICATION
                | ctor::BAD_SERVER_SALT => 1,
                _ => 3,
            },
        };
        loop {
            let id = self.ids.next(now, rem);
            // After the clock was moved back (code 17) an id may meet an old one: one in
            // flight, queued, being re-stamped, or an earlier id of a re-stamped message
            // (whose late answer must settle that message, not a new one). Handing it out
            // again would make the driver map two requests to one id (issue #5: a request
            // lost when a `resent` event moved another onto its id).
            if id > self.rewound_until
                || (self.inflight.get(id).is_none()
                    && self.inflight.resolve(id) == id
                    && !self.restamping.contains(&id)
                    && self.outbox.iter().all(|m| m.msg_id != id))
            {
                return id;
            }
        }
    }

    /// After our clock was corrected backwards: ids restart from the corrected clock, but
    /// above every id the peer may have accepted (see `MsgIdGen::rewind_target`).
    fn rewind_to_clock(&mut self, now: i64) {
        let corrected = super::msg_id::msg_id_at(self.ids.server_now(now));
        if corrected < self.ids.last() {
            let target = self.ids.rewind_target(corrected, receive::WINDOW_FUTURE_MS);
            self.rewind_ids(target.min(self.ids.last()));
        }
    }

    /// Lets ids restart below `last` (a corrected clock, an import).
    fn rewind_ids(&mut self, last: u64) {
        if last < self.ids.last() {
            self.rewound_until = self.rewound_until.max(self.ids.last());
        }
        self.ids.set_last(last);
    }

    /// Queues a body (a serialized TL object) and returns its msg_id.
    pub fn enqueue(
        &mut self,
        body: Vec<u8>,
        content_related: bool,
        now: i64,
    ) -> Result<u64, MtpError> {
        check_body(&body)?;
        Ok(self.push(body, content_related, Kind::User, now))
    }

    /// Queues several content-related bodies, all or none; returns their msg_ids in order.
    pub fn enqueue_all(&mut self, bodies: Vec<Vec<u8>>, now: i64) -> Result<Vec<u64>, MtpError> {
        for b in &bodies {
            check_body(b)?;
        }
        Ok(bodies
            .into_iter()
            .map(|b| self.push(b, true, Kind::User, now))
            .collect())
    }

    /// Queues ping (or ping_delay_disconnect); the answer arrives as `Event::Pong`.
    pub fn enqueue_ping(&mut self, ping_id: u64, disconnect_delay_s: Option<i32>, now: i64) -> u64 {
        let body = super::service::ping(ping_id, disconnect_delay_s);
        self.push(body, true, Kind::User, now)
    }

    /// Queues auth.bindTempAuthKey binding this session's key (a temporary key) to
    /// `perm_key` until `expires_at` (unix seconds, server clock); returns its msg_id.
    /// The query names its own msg_id, here and after every re-stamp (mtp/bind.rs).
    pub fn enqueue_bind(
        &mut self,
        perm_key: AuthKey,
        nonce: u64,
        expires_at: i32,
        now: i64,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> u64 {
        let bind = BindRequest::new(
            perm_key,
            self.key.id(),
            self.session_id,
            nonce,
            expires_at,
            random,
        );
        let id = self.next_id(now, &[]);
        let seqno = self.seq.next(true);
        let mut m = Outgoing::new(id, seqno, true, Kind::User, bind.body(id));
        m.bind = Some(Box::new(bind));
        self.outbox.push(m);
        id
    }

    fn push(&mut self, body: Vec<u8>, content_related: bool, kind: Kind, now: i64) -> u64 {
        let id = self.next_id(now, &body);
        let seqno = self.seq.next(content_related);
        self.outbox
            .push(Outgoing::new(id, seqno, content_related, kind, body));
        id
    }

    /// Drops a queued or in-flight message: its answer, if any, will be ignored.
    pub fn cancel(&mut self, msg_id: u64) -> bool {
        let cur = self.inflight.resolve(msg_id);
        match self.inflight.remove(cur).or_else(|| self.outbox.take(cur)) {
            Some(m) => {
                self.forget(&m);
                true
            }
            None => false,
        }
    }

    /// The seqno of a message of ours still queued or unacknowledged (under its
    /// current id if it was re-stamped); None once it is settled or unknown.
    pub fn seqno_of(&self, msg_id: u64) -> Option<u32> {
        let cur = self.inflight.resolve(msg_id);
        self.inflight
            .get(cur)
            .or_else(|| self.outbox.iter().find(|m| m.msg_id == cur))
            .map(|m| m.seqno)
    }

    /// The driver's messages still waiting for an answer: (msg_id, acknowledged).
    pub fn in_flight(&self) -> Vec<(u64, bool)> {
        self.inflight
            .pending()
            .filter(|m| m.kind == Kind::User)
            .map(|m| (m.msg_id, m.acked))
            .chain(
                self.outbox
                    .iter()
                    .filter(|m| m.kind == Kind::User && m.content_related)
                    .map(|m| (m.msg_id, false)),
            )
            .collect()
    }

    pub fn queued_len(&self) -> usize {
        self.outbox.len()
    }

    pub fn pending_acks(&self) -> usize {
        self.acks.len()
    }

    /// When `transmit` should be called next (ms since the epoch), or None when idle.
    pub fn deadline(&self, now: i64) -> Option<i64> {
        if !self.outbox.is_empty() {
            return Some(now);
        }
        [
            self.acks
                .due_at(self.opts.ack_delay_ms, self.opts.ack_threshold),
            self.state_check_at.filter(|_| self.inflight.unacked() > 0),
            self.salts_due(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When get_future_salts should next be sent (local ms), if at all.
    fn salts_due(&self, now: i64) -> Option<i64> {
        if !self.is_client() || !self.opts.auto_future_salts || self.salts_pending > 0 {
            return None;
        }
        let server_s = self.ids.server_now(now).div_euclid(1000);
        let wanted = if self.salts.needs_more(server_s) {
            now
        } else {
            let renew_s = self.salts.next_change(server_s)?;
            renew_s * 1000 - self.ids.offset_ms()
        };
        let earliest = self
            .salts_requested_at
            .map_or(i64::MIN, |t| t + SALTS_RETRY_MS);
        Some(wanted.max(earliest))
    }

    /// Everything a driver persists (the auth key aside).
    pub fn state(&self) -> SessionState {
        SessionState {
            session_id: self.session_id,
            salt: self.salts.current(),
            future_salts: self.salts.future().to_vec(),
            time_offset_ms: self.ids.offset_ms(),
            time_synced: self.time_synced,
            seqno: self.seq.count(),
            last_msg_id: self.ids.last(),
        }
    }

    /// Restores persisted state (before the session is used).
    pub fn set_state(&mut self, s: &SessionState, now: i64) {
        self.session_id = s.session_id;
        self.salts.set_current(s.salt);
        if !s.future_salts.is_empty() {
            let server_s = (now + s.time_offset_ms).div_euclid(1000);
            self.salts.store(s.future_salts.iter().copied(), server_s);
        }
        self.ids.set_offset_ms(s.time_offset_ms);
        self.rewind_ids(s.last_msg_id);
        self.time_synced = s.time_synced;
        self.seq = SeqNo::new(s.seqno);
    }

    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    pub fn set_session_id(&mut self, id: u64) {
        self.session_id = id;
    }

    pub fn salt(&self) -> u64 {
        self.salts.current()
    }

    pub fn set_salt(&mut self, salt: u64) {
        self.salts.set_current(salt);
    }

    pub fn future_salts(&self) -> &[FutureSalt] {
        self.salts.future()
    }

    pub fn time_offset_ms(&self) -> i64 {
        self.ids.offset_ms()
    }

    /// Sets the clock correction (e.g. from server_time of the handshake) and trusts it.
    pub fn set_time_offset_ms(&mut self, offset: i64) {
        self.ids.set_offset_ms(offset);
        self.time_synced = true;
    }

    pub fn time_synced(&self) -> bool {
        self.time_synced
    }

    pub fn seqno(&self) -> u32 {
        self.seq.count()
    }

    pub fn set_seqno(&mut self, count: u32) {
        self.seq = SeqNo::new(count);
    }

    pub fn last_msg_id(&self) -> u64 {
        self.ids.last()
    }

    pub fn set_last_msg_id(&mut self, id: u64) {
        self.rewind_ids(id);
    }
}

/// Whether `body` can be enqueued (whole TL words, 4 bytes to 1 MiB).
pub fn check_body(body: &[u8]) -> Result<(), MtpError> {
    if body.len() < 4 || !body.len().is_multiple_of(4) || body.len() > outbox::MAX_BODY_LEN {
        return Err(MtpError::BadBodyLength {
            len: body.len(),
            max: outbox::MAX_BODY_LEN,
        });
    }
    Ok(())
}

fn outbox_ctor(body: &[u8]) -> u32 {
    super::service::constructor(body).unwrap_or(0)
}

#[cfg(test)]
mod tests;

//! Incoming: decryption, the checks of the security guidelines, unwrapping,
//! and the service messages that concern the whole session.

use super::Session;
use crate::crypto::envelope::{self, Sender, INNER_HEADER_LEN};
use crate::mtp::events::{DropReason, Event};
use crate::mtp::gzip;
use crate::mtp::msg_id::msg_id_time_ms;
use crate::mtp::outbox::Kind;
use crate::mtp::received::Seen;
use crate::mtp::salts::FutureSalt;
use crate::mtp::service::{self, Service};

/// Security guidelines (https://core.telegram.org/mtproto/security_guidelines#checking-msg-id):
/// ignore msg_ids more than 300 s in the past or 30 s in the future.
pub(super) const WINDOW_PAST_MS: i64 = 300_000;
pub(super) const WINDOW_FUTURE_MS: i64 = 30_000;

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

impl Session {
    /// Decrypts `packet` in place (its bytes are consumed), checks it and returns what
    /// happened. A packet that fails a check yields `Event::Dropped` and changes nothing.
    /// `random` is used only if the session must be reset (code 33).
    pub fn receive(
        &mut self,
        packet: &mut [u8],
        now: i64,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Vec<Event> {
        let mut ev = Vec::new();
        let peer = match self.opts.role {
            Sender::Client => Sender::Server,
            Sender::Server => Sender::Client,
        };
        let range = match envelope::decrypt_in_place(&self.key, peer, packet) {
            Ok(r) => r,
            Err(e) => {
                ev.push(Event::Dropped(DropReason::Envelope(e)));
                return ev;
            }
        };
        let plain = &packet[range];
        let salt = le_u64(plain);
        let session_id = le_u64(&plain[8..]);
        let msg_id = le_u64(&plain[16..]);
        let seqno = le_u32(&plain[24..]);
        let body = &plain[INNER_HEADER_LEN..];
        // Security guidelines: session_id must be ours (a server adopts the client's).
        if self.opts.role == Sender::Server && self.session_id == 0 {
            self.session_id = session_id;
        }
        if session_id != self.session_id {
            ev.push(Event::Dropped(DropReason::WrongSessionId {
                expected: self.session_id,
                got: session_id,
            }));
            return ev;
        }
        if self.opts.server_checks {
            if self.admit_packet(salt, msg_id, seqno, body, now, &mut ev, random)
                && self.check_new(msg_id, seqno, now, &mut ev)
            {
                self.on_message(msg_id, seqno, body, true, now, &mut ev, random);
            }
            return ev;
        }
        if !self.peer_id_ok(msg_id) {
            ev.push(Event::Dropped(DropReason::BadMsgId { msg_id }));
            return ev;
        }
        // The time window applies once our clock is known to match the server's; before
        // that a message inside it proves the clock right. A notification 16/17 about a
        // message we just sent passes even outside it: it is how a clock that jumped
        // gets fixed, and it cannot be an old replay since it names our recent msg_id.
        let skew_ms = msg_id_time_ms(msg_id) - self.ids.server_now(now);
        let in_window = (-WINDOW_PAST_MS..=WINDOW_FUTURE_MS).contains(&skew_ms);
        if !in_window && self.time_synced && !self.is_clock_fix(body) {
            ev.push(Event::Dropped(DropReason::TimeWindow { msg_id, skew_ms }));
            return ev;
        }
        if in_window {
            self.time_synced = true;
        }
        if !self.check_new(msg_id, seqno, now, &mut ev) {
            return ev;
        }
        self.on_message(msg_id, seqno, body, true, now, &mut ev, random);
        ev
    }

    /// Whether `body` only tells that our clock is off (16/17 about messages we recently
    /// sent), possibly beside acks in a container.
    fn is_clock_fix(&self, body: &[u8]) -> bool {
        // Some(true): a clock notification about our message; Some(false): an ack.
        let item = |b: &[u8]| match service::parse(b) {
            Ok(Service::BadMsg {
                bad_msg_id,
                error_code: 16 | 17,
                ..
            }) if self.inflight.get(bad_msg_id).is_some()
                || self.inflight.has_recent(bad_msg_id) =>
            {
                Some(true)
            }
            Ok(Service::MsgsAck(_)) => Some(false),
            _ => None,
        };
        let found: Option<Vec<bool>> = match service::parse(body) {
            Ok(Service::Container(items)) => items.iter().map(|i| item(i.body)).collect(),
            _ => item(body).map(|f| vec![f]),
        };
        found.is_some_and(|f| f.contains(&true))
    }

    /// Server ids are 1 or 3 mod 4; client ids 0 mod 4.
    fn peer_id_ok(&self, msg_id: u64) -> bool {
        match self.opts.role {
            Sender::Client => msg_id % 2 == 1,
            Sender::Server => msg_id.is_multiple_of(4),
        }
    }

    /// Duplicate window; a duplicate content message is acknowledged again (the peer
    /// re-sent it because our ack went missing) but not delivered twice.
    fn check_new(&mut self, msg_id: u64, seqno: u32, now: i64, ev: &mut Vec<Event>) -> bool {
        match self.received.insert(msg_id) {
            Ok(()) => true,
            Err(seen) => {
                if seen == Seen::Duplicate && seqno & 1 == 1 {
                    self.acks.push(msg_id, now);
                }
                ev.push(Event::Dropped(match seen {
                    Seen::Duplicate => DropReason::Duplicate { msg_id },
                    Seen::TooOld => DropReason::TooOld { msg_id },
                }));
                false
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_message(
        &mut self,
        msg_id: u64,
        seqno: u32,
        body: &[u8],
        top: bool,
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        // Spec: content-related messages (odd seqno) must be acknowledged.
        if seqno & 1 == 1 {
            self.acks.push(msg_id, now);
        }
        self.dispatch(msg_id, seqno, body, top, now, ev, random);
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        msg_id: u64,
        seqno: u32,
        body: &[u8],
        top: bool,
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        let parsed = match service::parse(body) {
            Ok(p) => p,
            Err(error) => {
                ev.push(Event::Dropped(DropReason::Malformed { msg_id, error }));
                return;
            }
        };
        match parsed {
            Service::Container(items) => {
                if !top {
                    ev.push(Event::Dropped(DropReason::NestedContainer { msg_id }));
                    return;
                }
                for it in items {
                    // Spec: a container's id is strictly greater than those inside it.
                    if self.opts.server_checks
                        && !self.admit_inner(it.msg_id, it.seqno, it.body, now, ev)
                    {
                        continue;
                    }
                    if it.msg_id >= msg_id || !self.peer_id_ok(it.msg_id) {
                        ev.push(Event::Dropped(DropReason::BadMsgId { msg_id: it.msg_id }));
                        continue;
                    }
                    if self.check_new(it.msg_id, it.seqno, now, ev) {
                        self.on_message(it.msg_id, it.seqno, it.body, false, now, ev, random);
                    }
                }
            }
            Service::MsgCopy(it) => {
                if self.check_new(it.msg_id, it.seqno, now, ev) {
                    self.on_message(it.msg_id, it.seqno, it.body, false, now, ev, random);
                }
            }
            Service::GzipPacked(data) => match gzip::gunzip(data, self.opts.max_gzip_len) {
                Ok(inflated) => self.dispatch(msg_id, seqno, &inflated, top, now, ev, random),
                Err(error) => ev.push(Event::Dropped(DropReason::Gzip { msg_id, error })),
            },
            Service::RpcResult { req_msg_id, result } => {
                self.on_rpc_result(msg_id, req_msg_id, result, ev)
            }
            Service::MsgsAck(ids) => self.on_acks(&ids, ev),
            Service::BadMsg {
                bad_msg_id,
                error_code,
                new_server_salt,
                ..
            } => self.on_bad_msg(
                msg_id,
                bad_msg_id,
                error_code,
                new_server_salt,
                now,
                ev,
                random,
            ),
            Service::NewSessionCreated {
                first_msg_id,
                unique_id,
                server_salt,
            } => self.on_new_session(first_msg_id, unique_id, server_salt, now, ev),
            Service::Pong {
                msg_id: ping_msg_id,
                ping_id,
            } => match self.settle(ping_msg_id) {
                Some(m) => ev.push(Event::Pong {
                    msg_id: m.msg_id,
                    ping_id,
                }),
                None => ev.push(Event::Dropped(DropReason::UnknownMessage {
                    msg_id: ping_msg_id,
                })),
            },
            Service::FutureSalts {
                req_msg_id,
                now: server_s,
                salts,
            } => {
                let Some(m) = self.settle(req_msg_id) else {
                    ev.push(Event::Dropped(DropReason::UnknownMessage {
                        msg_id: req_msg_id,
                    }));
                    return;
                };
                self.store_salts(salts, server_s, ev);
                if m.kind == Kind::User {
                    ev.push(Event::RpcResult {
                        req_msg_id: m.msg_id,
                        body: body.to_vec(),
                    });
                }
            }
            Service::MsgsStateReq(ids) => self.answer_state_req(msg_id, &ids, now),
            Service::MsgsStateInfo { req_msg_id, info } => {
                self.on_state_info(req_msg_id, info, now, ev)
            }
            Service::MsgsAllInfo { msg_ids, info } => {
                // Voluntary status: only "received" is acted upon (marks acknowledged).
                let received: Vec<u64> = msg_ids
                    .iter()
                    .zip(info)
                    .filter(|(_, s)| *s & 7 == 4)
                    .map(|(id, _)| *id)
                    .collect();
                self.on_acks(&received, ev);
            }
            Service::MsgDetailedInfo {
                msg_id: of,
                answer_msg_id,
                ..
            } => {
                // Spec: ack the answer if we have it, else ask for it with msg_resend_req.
                if let Some(of) = of {
                    self.on_acks(&[of], ev);
                }
                if self.received.contains(answer_msg_id) {
                    self.acks.push(answer_msg_id, now);
                } else {
                    let body = service::msg_resend_req(&[answer_msg_id]);
                    self.push(body, false, Kind::Service, now);
                }
            }
            Service::MsgResendReq(ids) => {
                for id in ids {
                    let cur = self.inflight.resolve(id);
                    if let Some(mut m) = self.inflight.remove(cur) {
                        m.resend = true;
                        self.outbox.push(m);
                    }
                }
            }
            Service::DestroySession {
                session_id,
                existed,
            } => ev.push(Event::DestroySession {
                session_id,
                existed,
            }),
            Service::Other(_) => ev.push(Event::Message {
                msg_id,
                seqno,
                body: body.to_vec(),
            }),
        }
    }

    fn on_rpc_result(&mut self, msg_id: u64, req_msg_id: u64, result: &[u8], ev: &mut Vec<Event>) {
        let Some(m) = self.settle(req_msg_id) else {
            ev.push(Event::Dropped(DropReason::UnknownMessage {
                msg_id: req_msg_id,
            }));
            return;
        };
        if m.kind != Kind::User {
            // Our own get_future_salts, should the answer come wrapped.
            if let Ok(Service::FutureSalts { now, salts, .. }) = service::parse(result) {
                self.store_salts(salts, now, ev);
            }
            return;
        }
        let inflated;
        let result = if service::constructor(result) == Some(service::ctor::GZIP_PACKED) {
            let unpacked = match service::parse(result) {
                Ok(Service::GzipPacked(data)) => gzip::gunzip(data, self.opts.max_gzip_len)
                    .map_err(|error| DropReason::Gzip { msg_id, error }),
                Ok(_) => unreachable!("constructor checked"),
                Err(error) => Err(DropReason::Malformed { msg_id, error }),
            };
            match unpacked {
                Ok(v) => {
                    inflated = v;
                    &inflated[..]
                }
                Err(reason) => {
                    // The answer arrived but cannot be read: the request fails rather
                    // than waiting forever (the peer will not send it again).
                    ev.push(Event::Dropped(reason));
                    ev.push(Event::Failed {
                        msg_id: m.msg_id,
                        error_code: -1,
                    });
                    return;
                }
            }
        } else {
            result
        };
        ev.push(match service::parse_rpc_error(result) {
            Some((code, message)) => Event::RpcError {
                req_msg_id: m.msg_id,
                code,
                message,
            },
            None => Event::RpcResult {
                req_msg_id: m.msg_id,
                body: result.to_vec(),
            },
        });
    }

    fn store_salts(&mut self, salts: Vec<FutureSalt>, server_s: i32, ev: &mut Vec<Event>) {
        let before = self.salts.current();
        self.salts.store(salts, i64::from(server_s));
        ev.push(Event::FutureSalts {
            salts: self.salts.future().to_vec(),
        });
        if self.salts.current() != before {
            ev.push(Event::SaltChanged {
                salt: self.salts.current(),
            });
        }
    }

    /// msgs_ack: the client keeps requests until answered; the server side is done
    /// with a content message once the client acknowledges it.
    pub(super) fn on_acks(&mut self, ids: &[u64], ev: &mut Vec<Event>) {
        let mut newly = Vec::new();
        for &id in ids {
            let cur = self.inflight.resolve(id);
            if self.opts.role == Sender::Server {
                if let Some(m) = self.inflight.remove(cur) {
                    self.forget(&m);
                    newly.push(cur);
                }
            } else if let Some((true, m)) = self.inflight.mark_acked(cur) {
                if m.kind == Kind::User {
                    newly.push(cur);
                }
            }
        }
        if !newly.is_empty() {
            ev.push(Event::Acked { msg_ids: newly });
        }
    }

    /// Answers the peer's msgs_state_req from our duplicate window (spec: status bytes
    /// 1 unknown/forgotten, 2 not received, 3 not received yet (too high), 4 received,
    /// +8 already acknowledged).
    fn answer_state_req(&mut self, req_msg_id: u64, ids: &[u64], now: i64) {
        let info: Vec<u8> = ids
            .iter()
            .map(|&id| {
                if self.received.contains(id) {
                    if self.acks.contains(id) {
                        4
                    } else {
                        4 + 8
                    }
                } else if self.received.highest().is_none_or(|hi| id > hi) {
                    3
                } else if self.received.is_full()
                    && self.received.lowest().is_some_and(|lo| id < lo)
                {
                    1
                } else {
                    2
                }
            })
            .collect();
        let body = service::msgs_state_info(req_msg_id, &info);
        self.push(body, false, Kind::Service, now);
    }
}

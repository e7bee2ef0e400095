//! Incoming: decryption, the checks of the security guidelines, unwrapping,
//! and the service messages that concern the whole session.

use super::walk::Budget;
use super::Session;
use crate::crypto::envelope::{self, Sender, INNER_HEADER_LEN};
use crate::mtp::events::{DropReason, Event, FailReason};
use crate::mtp::msg_id::msg_id_time_ms;
use crate::mtp::outbox::Kind;
use crate::mtp::received::Seen;
use crate::mtp::service::{self, SaltList, Service};

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
                self.walk(msg_id, seqno, body, now, &mut ev, random);
            }
            return ev;
        }
        // Security guidelines, checking msg_id: server ids are odd (parity).
        if !self.peer_id_ok(msg_id) {
            ev.push(Event::Dropped(DropReason::BadMsgId { msg_id }));
            return ev;
        }
        // Security guidelines, checking msg_id: ignore ids more than 30 s in the future or
        // 300 s in the past, a check the client makes "only if it is certain of its time".
        // Until a message inside the window proves our clock right, everything passes.
        // Once synced, a message outside the window is dropped unless it (or an item of
        // its container) names a message we sent recently: an answer, a notification, an
        // ack about it. Such a message decrypted under our key (msg_key checked), carries
        // our session_id and refers to a msg_id of ours that is still in flight or was
        // sent within the last 30 s, so it cannot be a replay of old traffic: it proves
        // the server's clock is what its msg_id says. The clock is re-synced from it
        // (spec, time synchronization: store the difference between the server's time and
        // ours) instead of dropping the server's traffic for good, which left a session
        // whose local clock fell 30 s behind (or 300 s ahead) dead (issue #5).
        let skew_ms = msg_id_time_ms(msg_id) - self.ids.server_now(now);
        let in_window = (-WINDOW_PAST_MS..=WINDOW_FUTURE_MS).contains(&skew_ms);
        let resync = !in_window && self.time_synced;
        if resync && !self.refers_to_ours(body) {
            ev.push(Event::Dropped(DropReason::TimeWindow { msg_id, skew_ms }));
            return ev;
        }
        // Security guidelines, checking msg_id: duplicates of the last N ids, and ids
        // below all of them, are ignored; checked before the clock moves, so a replayed
        // copy never moves it.
        if !self.check_new(msg_id, seqno, now, &mut ev) {
            return ev;
        }
        if in_window {
            self.time_synced = true;
        } else if resync {
            self.resync(msg_id, now, &mut ev);
        }
        self.walk(msg_id, seqno, body, now, &mut ev, random);
        ev
    }

    /// Adopts the server's clock from a trusted message outside our window: the offset,
    /// ids restarting from it if ours ran ahead, queued messages re-stamped.
    fn resync(&mut self, server_msg_id: u64, now: i64, ev: &mut Vec<Event>) {
        let offset_ms = self.ids.sync_to(server_msg_id, now);
        self.time_synced = true;
        self.rewind_to_clock(now);
        ev.push(Event::TimeFixed { offset_ms });
        self.restamp_queued_outside_window(now, ev);
    }

    /// Whether `id` names a message of ours that is in flight, queued, or was sent in
    /// the last `RECENT_MS` (an ack, a container, a service message), under its current
    /// id or an earlier one. What the peer says about any other id is not trusted.
    pub(super) fn is_ours(&self, id: u64) -> bool {
        let cur = self.inflight.resolve(id);
        self.inflight.get(cur).is_some()
            || self.inflight.has_recent(cur)
            || self.outbox.iter().any(|m| m.msg_id == cur)
    }

    /// Whether `body`, or an item of its container, names a message of ours that is in
    /// flight or was recently sent (gzip_packed content is not looked into).
    fn refers_to_ours(&self, body: &[u8]) -> bool {
        let ours = |id: u64| self.is_ours(id);
        let item = |b: &[u8]| match service::parse(b) {
            Ok(Service::RpcResult { req_msg_id, .. }) => ours(req_msg_id),
            Ok(Service::BadMsg { bad_msg_id, .. }) => ours(bad_msg_id),
            Ok(Service::Pong { msg_id, .. }) => ours(msg_id),
            Ok(Service::FutureSalts { req_msg_id, .. }) => ours(req_msg_id),
            Ok(Service::MsgsStateInfo { req_msg_id, .. }) => ours(req_msg_id),
            Ok(Service::NewSessionCreated { first_msg_id, .. }) => ours(first_msg_id),
            Ok(Service::MsgsAck(ids)) => ids.iter().any(|&id| ours(id)),
            _ => false,
        };
        match service::parse(body) {
            Ok(Service::Container(items)) => items.iter().any(|i| item(i.body)),
            _ => item(body),
        }
    }

    /// Server ids are 1 or 3 mod 4; client ids 0 mod 4.
    pub(super) fn peer_id_ok(&self, msg_id: u64) -> bool {
        match self.opts.role {
            Sender::Client => msg_id % 2 == 1,
            Sender::Server => msg_id.is_multiple_of(4),
        }
    }

    /// Duplicate window; a duplicate content message is acknowledged again (the peer
    /// re-sent it because our ack went missing) but not delivered twice.
    pub(super) fn check_new(
        &mut self,
        msg_id: u64,
        seqno: u32,
        now: i64,
        ev: &mut Vec<Event>,
    ) -> bool {
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

    /// Acts on one message that is not a wrapper (`walk` took containers, copies and
    /// gzip_packed apart).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dispatch(
        &mut self,
        msg_id: u64,
        seqno: u32,
        parsed: Service<'_>,
        body: &[u8],
        budget: &mut Budget,
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        match parsed {
            // Taken apart by `walk`.
            Service::Container(_) | Service::MsgCopy(_) | Service::GzipPacked(_) => {}
            Service::RpcResult { req_msg_id, result } => {
                self.on_rpc_result(msg_id, req_msg_id, result, budget, ev)
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
            } => self.on_detailed_info(of, answer_msg_id, now, ev),
            Service::MsgResendReq(ids) => {
                // Spec: re-send the named messages (same ids). Only ours in flight, and each
                // at most `MAX_RESENDS` times in all.
                for id in ids {
                    let cur = self.inflight.resolve(id);
                    if let Some(mut m) = self.inflight.remove(cur) {
                        m.resend = true;
                        if let Some(m) = self.count_resend(m, ev) {
                            self.outbox.push(m);
                        }
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

    fn on_rpc_result(
        &mut self,
        msg_id: u64,
        req_msg_id: u64,
        result: &[u8],
        budget: &mut Budget,
        ev: &mut Vec<Event>,
    ) {
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
                Ok(Service::GzipPacked(data)) => budget
                    .gunzip(data)
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
                        reason: FailReason::AnswerDropped,
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

    fn store_salts(&mut self, salts: SaltList<'_>, server_s: i32, ev: &mut Vec<Event>) {
        let before = self.salts.current();
        self.salts.store(salts.iter(), i64::from(server_s));
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

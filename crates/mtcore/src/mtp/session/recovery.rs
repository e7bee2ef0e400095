//! Settling answers, and recovering from what the peer rejected or lost:
//! bad_msg_notification, bad_server_salt, new_session_created, msgs_state_info.

use super::{Session, MAX_ATTEMPTS};
use crate::mtp::events::{DropReason, Event};
use crate::mtp::msg_id::msg_id_time_ms;
use crate::mtp::outbox::{Kind, Outgoing};
use crate::mtp::seqno::SeqNo;

/// Seqno counter advance after code 32 (seqno too low); repeated 32s keep advancing.
const SEQNO_BUMP: u32 = 64;
/// A queued message whose id is further than this from the corrected clock is re-stamped.
const QUEUED_SKEW_MS: i64 = 30_000;

impl Session {
    /// Takes the message an answer is about, wherever it is (in flight, or re-queued
    /// under a newer id), and forgets its aliases: each request settles once.
    pub(super) fn settle(&mut self, msg_id: u64) -> Option<Outgoing> {
        let cur = self.inflight.resolve(msg_id);
        let m = self
            .inflight
            .remove(cur)
            .or_else(|| self.outbox.take(cur))
            .or_else(|| self.inflight.take_recent(cur))?;
        self.forget(&m);
        Some(m)
    }

    /// Bookkeeping for a message that leaves for good (answered, failed, cancelled).
    pub(super) fn forget(&mut self, m: &Outgoing) {
        self.inflight.unalias(&m.prev_ids);
        if m.kind == Kind::FutureSalts {
            self.salts_pending = self.salts_pending.saturating_sub(1);
        }
    }

    /// Gives `m` a new msg_id and seqno and queues it (the peer did not take the old one).
    pub(super) fn restamp(&mut self, mut m: Outgoing, now: i64, ev: &mut Vec<Event>) {
        if let Kind::Ack(ids) = &m.kind {
            self.acks.requeue(ids, now);
            return;
        }
        let old = m.msg_id;
        let new = self.next_id(now, &m.body);
        m.seqno = self.seq.next(m.content_related);
        m.prev_ids.push(old);
        self.inflight.alias(&m.prev_ids, new);
        m.msg_id = new;
        if let Some(bind) = &m.bind {
            m.body = bind.body(new);
        }
        m.resend = false;
        m.acked = false;
        m.state_asked_at = None;
        if m.kind == Kind::User {
            ev.push(Event::Resent {
                old_msg_id: old,
                new_msg_id: new,
            });
        }
        self.outbox.push(m);
    }

    /// Re-stamps unless the message was rejected too often, in which case it fails.
    fn retry(&mut self, mut m: Outgoing, code: i32, now: i64, ev: &mut Vec<Event>) {
        m.attempts = m.attempts.saturating_add(1);
        if m.attempts > MAX_ATTEMPTS {
            self.forget(&m);
            if m.kind == Kind::User {
                ev.push(Event::Failed {
                    msg_id: m.msg_id,
                    error_code: code,
                });
            }
            return;
        }
        self.restamp(m, now, ev);
    }

    /// The messages a notification about `bad_msg_id` concerns: the message itself, or
    /// everything a container of ours carried. None when we did not recently send it.
    fn take_targets(&mut self, bad_msg_id: u64) -> Option<Vec<Outgoing>> {
        if let Some(m) = self.inflight.remove(bad_msg_id) {
            return Some(vec![m]);
        }
        let rec = self.inflight.take_recent(bad_msg_id)?;
        let Kind::Container(inner) = &rec.kind else {
            return Some(vec![rec]);
        };
        Some(
            inner
                .iter()
                // A message sent again since, in another packet (a blind re-send after a
                // reconnect keeps its id), may have reached the peer in that one: the
                // refusal of this container says nothing about it, and re-stamping it
                // could run it twice (issue #5). If that copy is refused too, the
                // notification about its own packet takes it.
                .filter(|&&id| {
                    self.inflight
                        .get(id)
                        .is_none_or(|m| m.packet_id == bad_msg_id)
                })
                .copied()
                .collect::<Vec<u64>>()
                .into_iter()
                .filter_map(|id| {
                    self.inflight
                        .remove(id)
                        .or_else(|| self.inflight.take_recent(id))
                })
                .collect(),
        )
    }

    /// bad_msg_notification / bad_server_salt
    /// (https://core.telegram.org/mtproto/service_messages_about_messages#notice-of-ignored-error-message).
    /// The client must check that it recently sent `bad_msg_id` before trusting the
    /// notification's time or salt.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_bad_msg(
        &mut self,
        notice_msg_id: u64,
        bad_msg_id: u64,
        code: i32,
        new_salt: Option<u64>,
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        let Some(targets) = self.take_targets(bad_msg_id) else {
            ev.push(Event::Dropped(DropReason::UnknownMessage {
                msg_id: bad_msg_id,
            }));
            return;
        };
        ev.push(Event::BadMsg {
            msg_id: bad_msg_id,
            error_code: code,
        });
        self.restamping = targets.iter().map(|m| m.msg_id).collect();
        self.recover(code, targets, new_salt, notice_msg_id, now, ev, random);
        self.restamping.clear();
    }

    #[allow(clippy::too_many_arguments)]
    fn recover(
        &mut self,
        code: i32,
        targets: Vec<Outgoing>,
        new_salt: Option<u64>,
        notice_msg_id: u64,
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        if let Some(salt) = new_salt {
            // 48: adopt the salt and re-send.
            self.salts.set_current(salt);
            ev.push(Event::SaltChanged { salt });
        }
        match code {
            16 | 17 => {
                // msg_id too low/high: our clock is off. Correct it from the notification's
                // own id, then re-send with ids from the corrected clock.
                let offset_ms = self.ids.sync_to(notice_msg_id, now);
                self.time_synced = true;
                if code == 17 {
                    // Our ids ran ahead: let them restart from the corrected clock.
                    self.rewind_to_clock(now);
                }
                ev.push(Event::TimeFixed { offset_ms });
                self.restamp_queued_outside_window(now, ev);
                for m in targets {
                    self.retry(m, code, now, ev);
                }
            }
            32 => {
                // seqno too low: the peer saw higher seqnos from us (e.g. state imported
                // from an older copy). Move the counter ahead and re-send.
                self.seq.bump(SEQNO_BUMP);
                for m in targets {
                    self.retry(m, code, now, ev);
                }
            }
            33 => {
                // seqno too high cannot be repaired by counting down without reusing
                // numbers: start a fresh session_id and re-send everything unanswered.
                for m in targets {
                    self.outbox.push(m);
                }
                self.reset_session(now, ev, random);
            }
            34 | 35 => {
                // 34: even seqno expected (not content-related); 35: odd expected. Flip once.
                for mut m in targets {
                    if m.flipped || matches!(m.kind, Kind::Ack(_)) {
                        self.retry_or_fail_now(m, code, now, ev);
                        continue;
                    }
                    m.flipped = true;
                    m.content_related = code == 35;
                    self.retry(m, code, now, ev);
                }
            }
            64 => {
                // Invalid container: send each message on its own.
                for mut m in targets {
                    m.alone = true;
                    self.retry(m, code, now, ev);
                }
            }
            // 18 (id not divisible by 4), 19 (container id reused), 20 (too old to tell
            // whether it was received), 48 (salt, adopted above): a fresh id fixes these.
            // Code 20 may execute a request twice; losing it silently would be worse, and
            // the driver still sees one answer.
            18 | 19 | 20 | 48 => {
                for m in targets {
                    self.retry(m, code, now, ev);
                }
            }
            _ => {
                for m in targets {
                    self.retry_or_fail_now(m, code, now, ev);
                }
            }
        }
    }

    /// Queued messages carry ids from a clock now known to be wrong: they were never sent,
    /// so they take new ids, all of them in order (ids and seqnos must keep the same
    /// order: keeping some would put a lower msg_id after a higher seqno, code 32/33).
    /// Unless none is more than 30 s off the corrected clock: then they were stamped
    /// after this correction (a second 16/17 about the same jump) and keep their ids.
    pub(super) fn restamp_queued_outside_window(&mut self, now: i64, ev: &mut Vec<Event>) {
        let server_now = self.ids.server_now(now);
        let off = |m: &Outgoing| (msg_id_time_ms(m.msg_id) - server_now).abs() > QUEUED_SKEW_MS;
        if !self.outbox.iter().any(off) {
            return;
        }
        let queued = self.outbox.drain();
        let before = self.restamping.len();
        self.restamping.extend(queued.iter().map(|m| m.msg_id));
        for m in queued {
            self.restamp(m, now, ev);
        }
        self.restamping.truncate(before);
    }

    fn retry_or_fail_now(&mut self, mut m: Outgoing, code: i32, now: i64, ev: &mut Vec<Event>) {
        if let Kind::Ack(_) = m.kind {
            return self.restamp(m, now, ev);
        }
        m.attempts = MAX_ATTEMPTS;
        self.retry(m, code, now, ev);
    }

    /// Starts a new session_id: seqno from zero, everything unanswered re-stamped.
    pub(super) fn reset_session(
        &mut self,
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        let old = self.session_id;
        let mut id = [0u8; 8];
        while u64::from_le_bytes(id) == 0 || u64::from_le_bytes(id) == old {
            random(&mut id);
        }
        self.session_id = u64::from_le_bytes(id);
        self.seq = SeqNo::default();
        ev.push(Event::SessionReset {
            old_session_id: old,
            new_session_id: self.session_id,
        });
        let mut all = self.outbox.drain();
        for id in self.inflight.pending_ids() {
            all.extend(self.inflight.remove(id));
        }
        all.sort_by_key(|m| m.msg_id);
        for m in all {
            self.restamp(m, now, ev);
        }
    }

    /// new_session_created (https://core.telegram.org/mtproto/service_messages#new-session-creation-notification):
    /// adopt the salt; messages sent in packets before first_msg_id belonged to the
    /// server's forgotten session and are re-sent under new ids.
    pub(super) fn on_new_session(
        &mut self,
        first_msg_id: u64,
        unique_id: u64,
        server_salt: u64,
        now: i64,
        ev: &mut Vec<Event>,
    ) {
        ev.push(Event::SessionCreated {
            first_msg_id,
            unique_id,
            server_salt,
        });
        if self.salts.current() != server_salt || !self.salts.future().is_empty() {
            self.salts.set_current(server_salt);
            ev.push(Event::SaltChanged { salt: server_salt });
        }
        let lost: Vec<u64> = self
            .inflight
            .pending()
            .filter(|m| m.packet_id < first_msg_id)
            .map(|m| m.msg_id)
            .collect();
        for id in lost {
            if let Some(m) = self.inflight.remove(id) {
                self.restamp(m, now, ev);
            }
        }
    }

    /// msgs_state_info for our msgs_state_req: status 4 (received) marks acknowledged and
    /// the answer is awaited; 1, 2, 3 (unknown, not received) re-send under a new id
    /// (spec: "if the message wasn't received, then it must be re-sent with a new msg_id").
    pub(super) fn on_state_info(
        &mut self,
        req_msg_id: u64,
        info: &[u8],
        now: i64,
        ev: &mut Vec<Event>,
    ) {
        let (asked, asked_at) = match self.settle(req_msg_id) {
            Some(Outgoing {
                kind: Kind::StateReq(ids),
                sent_at,
                ..
            }) => (ids, sent_at),
            _ => {
                ev.push(Event::Dropped(DropReason::UnknownMessage {
                    msg_id: req_msg_id,
                }));
                return;
            }
        };
        let states: Vec<(u64, u8)> = asked.iter().copied().zip(info.iter().copied()).collect();
        ev.push(Event::StateInfo {
            req_msg_id,
            states: states.clone(),
        });
        let mut received = Vec::new();
        for (id, s) in states {
            match s & 7 {
                4 => received.push(id),
                // Only if still in flight under this id (not answered or re-stamped
                // since), and last sent before we asked: a copy that went again (a blind
                // re-send after a reconnect, even in the same transmit) may reach the peer
                // after its answer; re-stamping it would run it twice. The timer asks
                // again about it later.
                1..=3 if self.inflight.get(id).is_some_and(|m| m.sent_at < asked_at) => {
                    if let Some(m) = self.inflight.remove(id) {
                        self.restamp(m, now, ev);
                    }
                }
                _ => {}
            }
        }
        self.on_acks(&received, ev);
    }
}

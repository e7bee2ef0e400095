//! The server side of a session, for an embedded test DC (`Options::server_checks`).
//!
//! Before acting on a client message a Telegram server checks it, and answers what
//! it refuses with bad_msg_notification or bad_server_salt
//! (https://core.telegram.org/mtproto/service_messages_about_messages#notice-of-ignored-error-message):
//! 16/17 msg_id outside the time window (300 s past, 30 s future), 18 msg_id not
//! divisible by 4, 19 a container reusing a received id, 20 an id below the
//! duplicate window, 32/33 a seqno out of order with the msg_ids around it, 34/35 a
//! seqno whose parity does not fit the message, 48 a salt that is not valid now
//! (bad_server_salt names the current one), 64 an invalid container. A refused
//! message is not acted upon at all (acks inside it included): the client re-sends.
//! A duplicate of an accepted message is dropped and acknowledged again.
//! The first accepted message of a session gets new_session_created
//! (https://core.telegram.org/mtproto/service_messages#new-session-creation-notification).

use super::receive::{WINDOW_FUTURE_MS, WINDOW_PAST_MS};
use super::Session;
use crate::mtp::events::Event;
use crate::mtp::msg_id::msg_id_time_ms;
use crate::mtp::outbox::Kind;
use crate::mtp::received::Seen;
use crate::mtp::service::{self, ctor, Service};

impl Session {
    /// Checks the outer message of a client packet; false when it was refused (the
    /// notification is queued).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn admit_packet(
        &mut self,
        salt: u64,
        msg_id: u64,
        seqno: u32,
        body: &[u8],
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> bool {
        if !msg_id.is_multiple_of(4) {
            return self.refuse(msg_id, seqno, 18, now, ev);
        }
        let server_now = self.ids.server_now(now);
        let skew_ms = msg_id_time_ms(msg_id) - server_now;
        if skew_ms < -WINDOW_PAST_MS {
            return self.refuse(msg_id, seqno, 16, now, ev);
        }
        if skew_ms > WINDOW_FUTURE_MS {
            return self.refuse(msg_id, seqno, 17, now, ev);
        }
        let server_s = server_now.div_euclid(1000);
        let current = self.salts.pick(server_s);
        if !self.salts.accepts(salt, server_s) {
            let body = service::bad_msg(msg_id, seqno, 48, Some(current));
            self.push(body, false, Kind::Service, now);
            ev.push(Event::Rejected {
                msg_id,
                error_code: 48,
            });
            return false;
        }
        let container = service::constructor(body) == Some(ctor::MSG_CONTAINER);
        match self.received.check(msg_id) {
            Err(Seen::TooOld) => return self.refuse(msg_id, seqno, 20, now, ev),
            // A container must never reuse an id; a message may be re-sent (the
            // duplicate window drops it and acknowledges it again).
            Err(Seen::Duplicate) if container => return self.refuse(msg_id, seqno, 19, now, ev),
            Err(Seen::Duplicate) => return true,
            Ok(()) => {}
        }
        let mut first_msg_id = msg_id;
        if container {
            // A malformed container is left to the parser, which reports it.
            if let Ok(Service::Container(items)) = service::parse(body) {
                let invalid = items.iter().any(|it| {
                    it.msg_id >= msg_id
                        || service::constructor(it.body) == Some(ctor::MSG_CONTAINER)
                });
                if invalid {
                    return self.refuse(msg_id, seqno, 64, now, ev);
                }
                first_msg_id = items.iter().map(|it| it.msg_id).fold(msg_id, u64::min);
            }
        }
        if let Err(code) = self.check_seqno(msg_id, seqno, body) {
            return self.refuse(msg_id, seqno, code, now, ev);
        }
        self.seq_log.record(msg_id, seqno);
        if !self.announced {
            self.announced = true;
            let mut unique = [0u8; 8];
            random(&mut unique);
            let unique_id = u64::from_le_bytes(unique);
            let body = service::new_session_created(first_msg_id, unique_id, current);
            self.push(body, true, Kind::Service, now);
            ev.push(Event::SessionCreated {
                first_msg_id,
                unique_id,
                server_salt: current,
            });
        }
        true
    }

    /// Checks one message inside an admitted container; false when it was refused.
    pub(super) fn admit_inner(
        &mut self,
        msg_id: u64,
        seqno: u32,
        body: &[u8],
        now: i64,
        ev: &mut Vec<Event>,
    ) -> bool {
        if !msg_id.is_multiple_of(4) {
            return self.refuse(msg_id, seqno, 18, now, ev);
        }
        match self.received.check(msg_id) {
            Err(Seen::TooOld) => return self.refuse(msg_id, seqno, 20, now, ev),
            Err(Seen::Duplicate) => return true,
            Ok(()) => {}
        }
        if let Err(code) = self.check_seqno(msg_id, seqno, body) {
            return self.refuse(msg_id, seqno, code, now, ev);
        }
        self.seq_log.record(msg_id, seqno);
        true
    }

    /// 34/35 (parity against the kind of message), then 32/33 (order).
    fn check_seqno(&self, msg_id: u64, seqno: u32, body: &[u8]) -> Result<(), i32> {
        let content = service::is_content_related(body);
        if content && seqno & 1 == 0 {
            return Err(35);
        }
        if !content && seqno & 1 == 1 {
            return Err(34);
        }
        self.seq_log.check(msg_id, seqno).map_err(|e| e as i32)
    }

    /// Queues bad_msg_notification about a client message and reports it.
    fn refuse(
        &mut self,
        msg_id: u64,
        seqno: u32,
        error_code: i32,
        now: i64,
        ev: &mut Vec<Event>,
    ) -> bool {
        let body = service::bad_msg(msg_id, seqno, error_code, None);
        self.push(body, false, Kind::Service, now);
        ev.push(Event::Rejected { msg_id, error_code });
        false
    }

    /// Server side: the salts clients may use (the current one is chosen by time).
    pub fn set_future_salts(&mut self, salts: Vec<super::FutureSalt>, now: i64) {
        let server_s = self.ids.server_now(now).div_euclid(1000);
        self.salts.store(salts, server_s);
    }
}

//! Outgoing: timers, acks riding along, containers, encryption.

use super::{Session, FUTURE_SALTS_NUM};
use crate::crypto::envelope::{self, INNER_HEADER_LEN, OUTER_HEADER_LEN};
use crate::mtp::msg_id::msg_id_time_ms;
use crate::mtp::outbox::{self, Kind, Outgoing};
use crate::mtp::service;

/// Padding `encrypt_in_place` may append: 12..27 bytes plus up to 3 extra blocks.
const PADDING_RESERVE: usize = 12 + 15 + 48;
/// A queued message older than this (server clock) is wrapped in a container with a
/// fresh id (spec: bad_msg_notification 16, "if the original message had waited too long").
const STALE_MS: i64 = 30_000;

/// What one `transmit` produced.
#[derive(Debug, Default)]
pub struct Transmit {
    /// Whole encrypted packets, each after `headroom` free bytes.
    pub packets: Vec<Vec<u8>>,
    /// msg_ids of the driver's messages these packets carry, in order.
    pub msg_ids: Vec<u64>,
    /// When to call `transmit` again (ms since the epoch), or None when idle.
    pub deadline: Option<i64>,
}

impl Session {
    /// Sends whatever is due: queued bodies, acks, re-sends, state requests, salt renewal.
    pub fn transmit(&mut self, now: i64, random: &mut dyn FnMut(&mut [u8])) -> Transmit {
        self.maintain(now);
        let acks_due = self
            .acks
            .due_at(self.opts.ack_delay_ms, self.opts.ack_threshold)
            .is_some_and(|t| t <= now);
        if self.outbox.is_empty() && !acks_due {
            return Transmit {
                deadline: self.deadline(now),
                ..Transmit::default()
            };
        }
        let mut items = self.outbox.drain();
        // Every packet carries the acks we owe (spec: "adding an acknowledgment to the next
        // RPC query").
        while !self.acks.is_empty() {
            let ids = self.acks.take();
            let body = service::msgs_ack(&ids);
            let id = self.next_id(now, &body);
            let seqno = self.seq.next(false);
            items.push(Outgoing::new(id, seqno, false, Kind::Ack(ids), body));
        }
        let server_now = self.ids.server_now(now);
        let mut msg_ids = Vec::new();
        for m in &mut items {
            self.repoint(m);
            if msg_id_time_ms(m.msg_id) < server_now - STALE_MS {
                m.resend = true;
            }
            if m.kind == Kind::User {
                msg_ids.push(m.msg_id);
            }
        }
        let salt = self.salts.pick(server_now.div_euclid(1000));
        let groups = outbox::plan(items, self.opts.limits);
        let mut packets = Vec::with_capacity(groups.len());
        for group in groups {
            let packet_id;
            if outbox::needs_container(&group) {
                let body_len = outbox::container_len(&group);
                // The container is created after its contents: higher id, seqno taken last.
                packet_id = self.next_id(now, &[]);
                let seqno = self.seq.next(false);
                packets.push(self.seal(salt, packet_id, seqno, body_len, random, |buf| {
                    outbox::write_container(buf, &group)
                }));
                let inner = group.iter().map(|m| m.msg_id).collect();
                let mut record =
                    Outgoing::new(packet_id, seqno, false, Kind::Container(inner), Vec::new());
                record.sent_at = now;
                self.inflight.insert(record);
            } else {
                let m = &group[0];
                packet_id = m.msg_id;
                packets.push(
                    self.seal(salt, m.msg_id, m.seqno, m.body.len(), random, |buf| {
                        buf.extend_from_slice(&m.body)
                    }),
                );
            }
            for mut m in group {
                m.sent_at = now;
                m.packet_id = packet_id;
                m.resend = false;
                if m.content_related {
                    self.note_state_check(now + self.opts.state_req_after_ms);
                }
                if let Kind::Ack(_) = m.kind {
                    // Re-queued from the ids if rejected: the bytes are not needed.
                    m.body = Vec::new();
                }
                self.inflight.insert(m);
            }
        }
        Transmit {
            packets,
            msg_ids,
            deadline: self.deadline(now),
        }
    }

    /// Builds one encrypted packet with a single allocation: headroom, outer header,
    /// inner header, body, then padding within the reserved capacity.
    fn seal(
        &self,
        salt: u64,
        msg_id: u64,
        seqno: u32,
        body_len: usize,
        random: &mut dyn FnMut(&mut [u8]),
        write_body: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        let start = self.opts.headroom;
        let mut buf = Vec::with_capacity(
            start
                + OUTER_HEADER_LEN
                + INNER_HEADER_LEN
                + body_len
                + PADDING_RESERVE
                + self.opts.tailroom,
        );
        buf.resize(start + OUTER_HEADER_LEN, 0);
        buf.extend_from_slice(&salt.to_le_bytes());
        buf.extend_from_slice(&self.session_id.to_le_bytes());
        buf.extend_from_slice(&msg_id.to_le_bytes());
        buf.extend_from_slice(&seqno.to_le_bytes());
        buf.extend_from_slice(&(body_len as u32).to_le_bytes());
        write_body(&mut buf);
        debug_assert_eq!(
            buf.len(),
            start + OUTER_HEADER_LEN + INNER_HEADER_LEN + body_len
        );
        envelope::encrypt_in_place(&self.key, self.opts.role, &mut buf, start, random);
        buf
    }

    /// Timers: expire records, ask about unacknowledged messages, renew salts.
    fn maintain(&mut self, now: i64) {
        self.inflight.purge(now);
        self.purge_renames(now);
        if self.state_check_at.is_some_and(|t| t <= now) {
            let after = self.opts.state_req_after_ms;
            let due_at = |m: &Outgoing| m.state_asked_at.unwrap_or(m.sent_at) + after;
            let due: Vec<u64> = self
                .inflight
                .pending()
                .filter(|m| !m.acked && due_at(m) <= now)
                .map(|m| m.msg_id)
                .collect();
            if !due.is_empty() {
                self.queue_state_req(&due, now);
            }
            self.state_check_at = self
                .inflight
                .pending()
                .filter(|m| !m.acked)
                .map(due_at)
                .min();
        }
        if self.salts_due(now).is_some_and(|t| t <= now) {
            self.salts_requested_at = Some(now);
            let body = service::get_future_salts(FUTURE_SALTS_NUM);
            self.push(body, true, Kind::FutureSalts, now);
            self.salts_pending += 1;
        }
    }

    fn note_state_check(&mut self, at: i64) {
        self.state_check_at = Some(self.state_check_at.map_or(at, |t| t.min(at)));
    }

    /// Queues msgs_state_req about `ids` (spec: "Request for Message Status Information").
    /// It is not content-related: its answer, msgs_state_info, acknowledges it.
    pub(super) fn queue_state_req(&mut self, ids: &[u64], now: i64) {
        for chunk in ids.chunks(service::MAX_IDS) {
            for id in chunk {
                self.inflight.set_state_asked(*id, now);
                self.note_state_check(now + self.opts.state_req_after_ms);
            }
            let body = service::msgs_state_req(chunk);
            self.push(body, false, Kind::StateReq(chunk.to_vec()), now);
        }
    }

    /// After a reconnect: asks the peer which in-flight messages it has; those it does not
    /// are re-sent under new ids when the answer arrives. Returns how many were asked about.
    pub fn request_state(&mut self, now: i64) -> usize {
        let ids = self.inflight.pending_ids();
        if !ids.is_empty() {
            self.queue_state_req(&ids, now);
        }
        ids.len()
    }

    /// Blind alternative to `request_state`: re-sends every in-flight message under its
    /// own id inside a new container (the peer drops what it already has). Returns the count.
    pub fn resend_pending(&mut self) -> usize {
        let ids = self.inflight.pending_ids();
        for id in &ids {
            if let Some(mut m) = self.inflight.remove(*id) {
                m.resend = true;
                self.outbox.push(m);
            }
        }
        ids.len()
    }
}

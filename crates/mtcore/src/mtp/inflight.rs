//! Messages of ours that were sent and are not settled yet.
//!
//! Content-related messages stay until answered (client) or acknowledged
//! (server side), so that they can be re-sent after a rejection, a lost
//! connection or a msgs_state_info saying the peer never got them. Messages
//! that are not content-related (acks, containers, service notes) are kept
//! only for `RECENT_MS`, long enough to act on a bad_server_salt or
//! bad_msg_notification about them.
//!
//! A message re-sent under a new msg_id leaves an alias old -> new, so that a
//! late answer to the old id still settles the request exactly once.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::outbox::Outgoing;

/// How long records of non-content-related messages are kept.
pub const RECENT_MS: i64 = 30_000;

#[derive(Debug, Default)]
pub struct Inflight {
    /// Content-related messages by current msg_id.
    pending: BTreeMap<u64, Outgoing>,
    /// Non-content-related records, oldest first.
    recent: VecDeque<Outgoing>,
    /// Earlier msg_id -> current msg_id of re-stamped messages.
    aliases: HashMap<u64, u64>,
    /// How many pending messages the peer has not acknowledged.
    unacked: usize,
}

impl Inflight {
    pub fn insert(&mut self, msg: Outgoing) {
        if msg.content_related {
            if !msg.acked {
                self.unacked += 1;
            }
            if let Some(old) = self.pending.insert(msg.msg_id, msg) {
                self.unacked -= usize::from(!old.acked);
            }
        } else {
            self.recent.push_back(msg);
        }
    }

    /// The current id of a message known under `msg_id` (itself if never re-stamped).
    pub fn resolve(&self, msg_id: u64) -> u64 {
        self.aliases.get(&msg_id).copied().unwrap_or(msg_id)
    }

    /// Records that a message (with earlier ids `prev_ids`) now has id `new`.
    pub fn alias(&mut self, prev_ids: &[u64], new: u64) {
        for &p in prev_ids {
            self.aliases.insert(p, new);
        }
    }

    /// Forgets the aliases of a settled message.
    pub fn unalias(&mut self, prev_ids: &[u64]) {
        for p in prev_ids {
            self.aliases.remove(p);
        }
        if self.aliases.is_empty() && self.aliases.capacity() > 16 {
            self.aliases = HashMap::new();
        }
    }

    pub fn get(&self, msg_id: u64) -> Option<&Outgoing> {
        self.pending.get(&msg_id)
    }

    /// Sets when the peer was last asked about a pending message.
    pub fn set_state_asked(&mut self, msg_id: u64, at: i64) {
        if let Some(m) = self.pending.get_mut(&msg_id) {
            m.state_asked_at = Some(at);
        }
    }

    /// Marks a pending message acknowledged: Some(true) if it was not before, None if unknown.
    pub fn mark_acked(&mut self, msg_id: u64) -> Option<(bool, &Outgoing)> {
        let m = self.pending.get_mut(&msg_id)?;
        let newly = !m.acked;
        if newly {
            m.acked = true;
            self.unacked -= 1;
        }
        Some((newly, m))
    }

    /// Pending messages not acknowledged by the peer.
    pub fn unacked(&self) -> usize {
        self.unacked
    }

    /// Removes a content-related message (its aliases stay until `unalias`).
    pub fn remove(&mut self, msg_id: u64) -> Option<Outgoing> {
        let m = self.pending.remove(&msg_id)?;
        self.unacked -= usize::from(!m.acked);
        if self.pending.is_empty() {
            // An emptied BTreeMap keeps its root node (eleven slots, ~1.6 KiB):
            // an idle session holds none.
            self.pending = BTreeMap::new();
        }
        Some(m)
    }

    /// Removes a recent non-content-related record.
    pub fn take_recent(&mut self, msg_id: u64) -> Option<Outgoing> {
        let at = self.recent.iter().position(|m| m.msg_id == msg_id)?;
        self.recent.remove(at)
    }

    pub fn has_recent(&self, msg_id: u64) -> bool {
        self.recent.iter().any(|m| m.msg_id == msg_id)
    }

    /// Drops non-content-related records older than RECENT_MS.
    pub fn purge(&mut self, now: i64) {
        while self
            .recent
            .front()
            .is_some_and(|m| m.sent_at + RECENT_MS <= now)
        {
            self.recent.pop_front();
        }
        if self.recent.is_empty() && self.recent.capacity() > 0 {
            self.recent = VecDeque::new();
        }
    }

    pub fn pending(&self) -> impl Iterator<Item = &Outgoing> {
        self.pending.values()
    }

    pub fn pending_ids(&self) -> Vec<u64> {
        self.pending.keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// How many earlier ids still point at a re-stamped message.
    pub fn aliases_len(&self) -> usize {
        self.aliases.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::outbox::Kind;

    #[test]
    fn content_waits_and_service_expires() {
        let mut f = Inflight::default();
        let mut a = Outgoing::new(4, 1, true, Kind::User, vec![0; 4]);
        a.sent_at = 1000;
        let mut ack = Outgoing::new(8, 2, false, Kind::Ack(vec![1]), vec![0; 4]);
        ack.sent_at = 1000;
        f.insert(a);
        f.insert(ack);
        assert_eq!(f.len(), 1);
        assert_eq!(f.unacked(), 1);
        assert_eq!(f.mark_acked(4).map(|(n, _)| n), Some(true));
        assert_eq!(f.mark_acked(4).map(|(n, _)| n), Some(false));
        assert_eq!(f.unacked(), 0);
        assert!(f.has_recent(8));
        f.purge(1000 + RECENT_MS - 1);
        assert!(f.has_recent(8));
        f.purge(1000 + RECENT_MS);
        assert!(!f.has_recent(8));
        assert!(f.get(4).is_some());
    }

    #[test]
    fn aliases_follow_the_latest_id() {
        let mut f = Inflight::default();
        f.alias(&[4], 12);
        f.alias(&[4, 12], 20);
        assert_eq!(f.resolve(4), 20);
        assert_eq!(f.resolve(12), 20);
        assert_eq!(f.resolve(20), 20);
        f.unalias(&[4, 12]);
        assert_eq!(f.resolve(4), 4);
        assert_eq!(f.aliases_len(), 0);
    }
}

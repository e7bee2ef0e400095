//! Acknowledgements owed to the peer, sent in batches.
//!
//! Spec (https://core.telegram.org/mtproto/service_messages_about_messages#acknowledgment-of-receipt):
//! content-related messages must be acknowledged with msgs_ack (not itself
//! content-related, at most 8192 ids each). A client normally adds the ack to
//! its next query, and sends a stand-alone ack when nothing else goes out for a
//! while or when many (say 16) are pending.
//!
//! Our policy: every outgoing packet carries all pending acks; otherwise a
//! stand-alone ack is due `delay` ms after the oldest pending one arrived, or at
//! once when `threshold` are pending. The session turns this into its deadline.

/// Most ids one msgs_ack may carry.
pub const MAX_IDS_PER_ACK: usize = 8192;

#[derive(Debug, Clone, Default)]
pub struct AckQueue {
    ids: Vec<u64>,
    /// When the oldest pending id was queued.
    since: i64,
}

impl AckQueue {
    pub fn push(&mut self, msg_id: u64, now: i64) {
        if self.ids.is_empty() {
            self.since = now;
        }
        // The duplicate window keeps repeats rare (a re-sent message acked twice):
        // checking here would make a long queue quadratic, so `take` dedups instead.
        self.ids.push(msg_id);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, msg_id: u64) -> bool {
        self.ids.contains(&msg_id)
    }

    /// When a stand-alone ack must go out (None when nothing is pending).
    pub fn due_at(&self, delay: i64, threshold: usize) -> Option<i64> {
        match self.ids.len() {
            0 => None,
            n if n >= threshold => Some(self.since),
            _ => Some(self.since.saturating_add(delay)),
        }
    }

    /// Takes up to one msgs_ack worth of ids, oldest first.
    pub fn take(&mut self) -> Vec<u64> {
        if self.ids.windows(2).any(|w| w[0] >= w[1]) {
            // Out of order or repeated (rare): order and dedup once.
            self.ids.sort_unstable();
            self.ids.dedup();
        }
        if self.ids.len() <= MAX_IDS_PER_ACK {
            // Hand the allocation over and leave the idle queue without one.
            return std::mem::take(&mut self.ids);
        }
        let rest = self.ids.split_off(MAX_IDS_PER_ACK);
        std::mem::replace(&mut self.ids, rest)
    }

    /// Puts back ids whose msgs_ack the peer rejected (e.g. bad_server_salt).
    pub fn requeue(&mut self, ids: &[u64], now: i64) {
        for &id in ids {
            self.push(id, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_follows_the_oldest_and_the_threshold() {
        let mut q = AckQueue::default();
        assert_eq!(q.due_at(500, 16), None);
        q.push(11, 1000);
        q.push(13, 1200);
        q.push(13, 1300);
        assert_eq!(
            q.len(),
            3,
            "repeats are dropped when taken, not when pushed"
        );
        assert_eq!(q.due_at(500, 16), Some(1500));
        for i in 0..13 {
            q.push(101 + 2 * i, 1400);
        }
        assert_eq!(q.due_at(500, 16), Some(1000));
        assert_eq!(q.take().len(), 15);
        assert!(q.is_empty());
        assert_eq!(q.due_at(500, 16), None);
    }

    #[test]
    fn takes_at_most_8192_per_message() {
        let mut q = AckQueue::default();
        for i in 0..10_000u64 {
            q.push(i * 4 + 1, 0);
        }
        let first = q.take();
        assert_eq!(first.len(), MAX_IDS_PER_ACK);
        assert_eq!(first[0], 1);
        assert_eq!(q.take().len(), 10_000 - MAX_IDS_PER_ACK);
    }
}

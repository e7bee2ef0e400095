//! Message sequence numbers.
//!
//! Spec (https://core.telegram.org/mtproto/description#message-sequence-number-msg-seqno):
//! seqno = 2 · (content-related messages created before) + 1 if this one is
//! content-related, else 2 · (that count); a container is generated after its
//! contents, so its (even) seqno is >= theirs.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqNo {
    /// Content-related messages created so far in this session.
    count: u32,
}

impl SeqNo {
    pub fn new(count: u32) -> Self {
        SeqNo { count }
    }

    pub fn next(&mut self, content_related: bool) -> u32 {
        if content_related {
            let s = self.count.wrapping_mul(2).wrapping_add(1);
            self.count = self.count.wrapping_add(1);
            s
        } else {
            self.count.wrapping_mul(2)
        }
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Moves the counter ahead (bad_msg_notification 32: our seqno is too low).
    pub fn bump(&mut self, by: u32) {
        self.count = self.count.wrapping_add(by);
    }
}

/// How many (msg_id, seqno) pairs the server side remembers for the order check.
pub const LOG_LEN: usize = 256;

/// Why a peer's seqno does not fit the messages received around it
/// (https://core.telegram.org/mtproto/service_messages_about_messages#notice-of-ignored-error-message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqnoError {
    /// 32: a message with a lower msg_id has a higher seqno, or the same odd one.
    TooLow = 32,
    /// 33: a message with a higher msg_id has a lower seqno, or the same while ours is odd.
    TooHigh = 33,
}

/// The recent (msg_id, seqno) pairs of the peer, for the server's order check: seqnos
/// grow with msg_ids, and a content-related message (odd seqno) is followed by a
/// strictly higher one.
#[derive(Debug, Clone, Default)]
pub struct SeqnoLog {
    recent: BTreeMap<u64, u32>,
}

impl SeqnoLog {
    /// Checks `seqno` of `msg_id` against its recorded neighbours.
    pub fn check(&self, msg_id: u64, seqno: u32) -> Result<(), SeqnoError> {
        if let Some((_, &prev)) = self.recent.range(..msg_id).next_back() {
            if prev > seqno || (prev == seqno && prev & 1 == 1) {
                return Err(SeqnoError::TooLow);
            }
        }
        if let Some((_, &next)) = self.recent.range(msg_id.saturating_add(1)..).next() {
            if next < seqno || (next == seqno && seqno & 1 == 1) {
                return Err(SeqnoError::TooHigh);
            }
        }
        Ok(())
    }

    /// Remembers an accepted message; the oldest pair goes past `LOG_LEN`.
    pub fn record(&mut self, msg_id: u64, seqno: u32) {
        self.recent.insert(msg_id, seqno);
        if self.recent.len() > LOG_LEN {
            self.recent.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_orders_seqnos_by_msg_id() {
        let mut log = SeqnoLog::default();
        assert_eq!(log.check(100, 7), Ok(()));
        log.record(100, 3);
        log.record(200, 6);
        // Between 100 (3, content) and 200 (6): 4 and 5 fit; 3 repeats an odd seqno.
        assert_eq!(log.check(150, 4), Ok(()));
        assert_eq!(log.check(150, 5), Ok(()));
        assert_eq!(log.check(150, 3), Err(SeqnoError::TooLow));
        assert_eq!(log.check(150, 2), Err(SeqnoError::TooLow));
        assert_eq!(log.check(150, 7), Err(SeqnoError::TooHigh));
        // An even seqno may repeat (acks and containers do not count).
        assert_eq!(log.check(150, 6), Ok(()));
        assert_eq!(log.check(300, 6), Ok(()));
        assert_eq!(log.check(300, 5), Err(SeqnoError::TooLow));
        log.record(200, 7);
        assert_eq!(log.check(150, 7), Err(SeqnoError::TooHigh));
        for i in 0..LOG_LEN as u64 {
            log.record(1000 + i, 100 + 2 * i as u32);
        }
        // 100 and 200 were forgotten: nothing to compare below the window.
        assert_eq!(log.check(150, 0), Ok(()));
    }

    #[test]
    fn content_related_are_odd_and_advance() {
        let mut s = SeqNo::default();
        assert_eq!(s.next(false), 0);
        assert_eq!(s.next(true), 1);
        assert_eq!(s.next(true), 3);
        assert_eq!(s.next(false), 4);
        assert_eq!(s.next(false), 4);
        assert_eq!(s.next(true), 5);
        assert_eq!(s.count(), 3);
        s.bump(10);
        assert_eq!(s.next(false), 26);
    }
}

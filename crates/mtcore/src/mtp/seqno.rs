//! Message sequence numbers.
//!
//! Spec (https://core.telegram.org/mtproto/description#message-sequence-number-msg-seqno):
//! seqno = 2 · (content-related messages created before) + 1 if this one is
//! content-related, else 2 · (that count); a container is generated after its
//! contents, so its (even) seqno is >= theirs.

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

#[cfg(test)]
mod tests {
    use super::*;

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

//! The window of msg_ids received from the peer, for dropping duplicates.
//!
//! Spec (https://core.telegram.org/mtproto/security_guidelines#checking-msg-id):
//! store the ids of the last N messages received; a message whose id is lower
//! than all of them, or equal to one of them, is ignored; otherwise its id is
//! added and, past N, the lowest is forgotten. The window grows as messages
//! arrive, so an idle session holds no buffer.

use std::collections::VecDeque;

/// How many ids are remembered (N of the guidelines).
pub const WINDOW: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Duplicate,
    /// Lower than every remembered id while the window is full.
    TooOld,
}

#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Ascending.
    ids: VecDeque<u64>,
}

impl Received {
    /// Records `msg_id`, or says why it must be ignored.
    pub fn insert(&mut self, msg_id: u64) -> Result<(), Seen> {
        if self.ids.len() >= WINDOW && self.ids.front().is_some_and(|&lo| msg_id < lo) {
            return Err(Seen::TooOld);
        }
        // Ids mostly arrive in order: check the back first.
        let at = match self.ids.back() {
            Some(&hi) if msg_id > hi => self.ids.len(),
            _ => match self.ids.binary_search(&msg_id) {
                Ok(_) => return Err(Seen::Duplicate),
                Err(at) => at,
            },
        };
        // Forget the lowest first, so the buffer never grows past WINDOW ids (a
        // full window then holds 2 KiB, not the 4 KiB a doubled buffer would).
        // When full, msg_id is above the lowest (checked above), so `at` >= 1.
        if self.ids.len() >= WINDOW {
            self.ids.pop_front();
            self.ids.insert(at - 1, msg_id);
        } else {
            if self.ids.capacity() == self.ids.len() && self.ids.len() >= WINDOW / 2 {
                self.ids.reserve_exact(WINDOW - self.ids.len());
            }
            self.ids.insert(at, msg_id);
        }
        Ok(())
    }

    /// What `insert` would say, without recording anything.
    pub fn check(&self, msg_id: u64) -> Result<(), Seen> {
        if self.ids.len() >= WINDOW && self.ids.front().is_some_and(|&lo| msg_id < lo) {
            return Err(Seen::TooOld);
        }
        if self.contains(msg_id) {
            return Err(Seen::Duplicate);
        }
        Ok(())
    }

    pub fn contains(&self, msg_id: u64) -> bool {
        self.ids.binary_search(&msg_id).is_ok()
    }

    pub fn lowest(&self) -> Option<u64> {
        self.ids.front().copied()
    }

    pub fn highest(&self) -> Option<u64> {
        self.ids.back().copied()
    }

    /// Whether the window has ever been full (ids below it are unknown, not absent).
    pub fn is_full(&self) -> bool {
        self.ids.len() >= WINDOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_too_old_are_refused() {
        let mut r = Received::default();
        assert_eq!(r.insert(101), Ok(()));
        assert_eq!(r.insert(101), Err(Seen::Duplicate));
        assert_eq!(r.insert(97), Ok(()));
        assert_eq!(r.insert(97), Err(Seen::Duplicate));
        for i in 0..WINDOW as u64 {
            r.insert(1000 + 4 * i).unwrap();
        }
        assert_eq!(r.lowest(), Some(1000));
        assert_eq!(r.insert(999), Err(Seen::TooOld));
        assert_eq!(r.insert(1002), Ok(()));
        assert_eq!(r.lowest(), Some(1002));
        assert!(r.contains(1004));
        assert_eq!(r.check(1004), Err(Seen::Duplicate));
        assert_eq!(r.check(999), Err(Seen::TooOld));
        assert_eq!(r.check(1006), Ok(()));
        assert!(!r.contains(1000));
        for i in 0..4 * WINDOW as u64 {
            r.insert(5000 + 4 * i).unwrap();
        }
        assert_eq!(r.ids.len(), WINDOW);
        assert!(
            r.ids.capacity() < 2 * WINDOW,
            "capacity {}",
            r.ids.capacity()
        );
        assert_eq!(r.lowest(), Some(5000 + 4 * 3 * WINDOW as u64));
    }
}

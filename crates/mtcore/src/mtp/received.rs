//! The window of msg_ids received from the peer, for dropping duplicates.
//!
//! Spec (https://core.telegram.org/mtproto/security_guidelines#checking-msg-id):
//! store the ids of the last N messages received; a message whose id is lower
//! than all of them, or equal to one of them, is ignored; otherwise its id is
//! added and, past N, the lowest is forgotten. The window grows as messages
//! arrive, so an idle session holds no buffer.
//!
//! A server keeps more: every id it may still accept, i.e. those less than the
//! past half of the time window (300 s) older than the newest (`Received::timed`).
//! What it forgets it can no longer tell apart from a message never received, and
//! its msgs_state_info answers "1: nothing known" for it, which a client can only
//! answer by re-sending under a new id: a request executed twice. With N = 256 a
//! busy client session (50 calls in flight, containers, acks, re-sends after a
//! clock jump) pushed ids out within milliseconds (issue #5: the chaos test's
//! double executions). Ids older than the time window are refused by their time
//! (16) before this window is consulted.

use std::collections::VecDeque;

use super::msg_id::msg_id_time_ms;

/// How many ids are remembered (N of the guidelines).
pub const WINDOW: usize = 256;
/// Hard bound of a timed window (8 bytes each: 1 MiB).
pub const TIMED_CAP: usize = 1 << 17;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Duplicate,
    /// Lower than every remembered id after some were forgotten.
    TooOld,
}

#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Ascending.
    ids: VecDeque<u64>,
    /// Timed window: ids are kept while younger than this much before the newest.
    keep_ms: Option<i64>,
    /// Some id was forgotten: ids below the lowest are unknown, not absent.
    forgot: bool,
}

impl Received {
    /// A window that keeps every id less than `keep_ms` older than the newest (at least
    /// N, at most `TIMED_CAP`): the server side.
    pub fn timed(keep_ms: i64) -> Self {
        Received {
            keep_ms: Some(keep_ms),
            ..Self::default()
        }
    }

    /// Records `msg_id`, or says why it must be ignored.
    pub fn insert(&mut self, msg_id: u64) -> Result<(), Seen> {
        self.check_too_old(msg_id)?;
        // Ids mostly arrive in order: check the back first.
        let at = match self.ids.back() {
            Some(&hi) if msg_id > hi => self.ids.len(),
            _ => match self.ids.binary_search(&msg_id) {
                Ok(_) => return Err(Seen::Duplicate),
                Err(at) => at,
            },
        };
        if self.keep_ms.is_none() && self.ids.len() >= WINDOW {
            // Forget the lowest first, so the buffer never grows past N ids (a full
            // window then holds 2 KiB, not the 4 KiB a doubled buffer would).
            self.forgot = true;
            if at > 0 {
                self.ids.pop_front();
                self.ids.insert(at - 1, msg_id);
            }
            // at == 0: msg_id would be the lowest, the first to be forgotten.
            return Ok(());
        }
        if self.keep_ms.is_none()
            && self.ids.capacity() == self.ids.len()
            && self.ids.len() >= WINDOW / 2
        {
            self.ids.reserve_exact(WINDOW - self.ids.len());
        }
        self.ids.insert(at, msg_id);
        self.trim();
        Ok(())
    }

    fn trim(&mut self) {
        while self.ids.len() > WINDOW {
            let expired = match (self.keep_ms, self.ids.front(), self.ids.back()) {
                (None, ..) => true,
                (Some(keep), Some(&lo), Some(&hi)) => {
                    self.ids.len() > TIMED_CAP || msg_id_time_ms(lo) < msg_id_time_ms(hi) - keep
                }
                _ => false,
            };
            if !expired {
                break;
            }
            self.ids.pop_front();
            self.forgot = true;
        }
    }

    fn check_too_old(&self, msg_id: u64) -> Result<(), Seen> {
        if self.forgot && self.ids.front().is_some_and(|&lo| msg_id < lo) {
            return Err(Seen::TooOld);
        }
        Ok(())
    }

    /// What `insert` would say, without recording anything.
    pub fn check(&self, msg_id: u64) -> Result<(), Seen> {
        self.check_too_old(msg_id)?;
        if self.contains(msg_id) {
            return Err(Seen::Duplicate);
        }
        Ok(())
    }

    pub fn contains(&self, msg_id: u64) -> bool {
        // Ids mostly arrive in order: a new one is above the highest, and a server's
        // window holds up to TIMED_CAP ids to search otherwise.
        match self.ids.back() {
            Some(&hi) if msg_id <= hi => self.ids.binary_search(&msg_id).is_ok(),
            _ => false,
        }
    }

    pub fn lowest(&self) -> Option<u64> {
        self.ids.front().copied()
    }

    pub fn highest(&self) -> Option<u64> {
        self.ids.back().copied()
    }

    /// Whether some id was forgotten (ids below the lowest are unknown, not absent).
    pub fn is_full(&self) -> bool {
        self.forgot
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::msg_id::msg_id_at;

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

    #[test]
    fn a_timed_window_keeps_every_id_of_the_last_minutes() {
        let t0 = 1_700_000_000_000;
        let mut r = Received::timed(300_000);
        // 10,000 ids within one second: all remembered (N = 256 would forget most).
        for i in 0..10_000 {
            r.insert(msg_id_at(t0) + 4 * i).unwrap();
        }
        assert_eq!(r.len(), 10_000);
        assert!(!r.is_full());
        assert_eq!(r.insert(msg_id_at(t0)), Err(Seen::Duplicate));
        // Five minutes later the old ones go, but N stay at the least.
        for i in 0..300 {
            r.insert(msg_id_at(t0 + 301_000) + 4 * i).unwrap();
        }
        assert_eq!(r.len(), WINDOW.max(300));
        assert!(r.is_full());
        assert_eq!(r.check(msg_id_at(t0) + 8), Err(Seen::TooOld));
    }

    #[test]
    fn a_timed_window_is_bounded() {
        let t0 = 1_700_000_000_000;
        let mut r = Received::timed(300_000);
        for i in 0..(TIMED_CAP as u64 + 10) {
            r.insert(msg_id_at(t0) + 4 * i).unwrap();
        }
        assert_eq!(r.len(), TIMED_CAP);
        assert_eq!(r.lowest(), Some(msg_id_at(t0) + 40));
    }
}

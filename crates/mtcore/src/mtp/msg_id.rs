//! Message identifiers: time-based, strictly increasing, parity by sender.
//!
//! Spec (https://core.telegram.org/mtproto/description#message-identifier-msg-id):
//! msg_id ≈ unixtime · 2^32 with the fraction of the second in the lower 32 bits
//! (never all zero); client ids are divisible by 4, server ids are 1 mod 4 for
//! responses and 3 mod 4 otherwise; ids increase monotonically within a session.
//! The clock is corrected by an offset learned from the server (bad_msg_notification 16/17).

/// The msg_id for a moment in milliseconds since the Unix epoch (low two bits zero).
pub fn msg_id_at(ms: i64) -> u64 {
    let secs = ms.div_euclid(1000) as u64;
    let frac = ms.rem_euclid(1000) as u64;
    ((secs << 32) | ((frac << 32) / 1000)) & !3
}

/// The moment (ms since the epoch) a msg_id names.
pub fn msg_id_time_ms(msg_id: u64) -> i64 {
    let secs = (msg_id >> 32) as i64;
    let frac = ((msg_id & 0xffff_ffff) * 1000) >> 32;
    secs * 1000 + frac as i64
}

/// How many seconds of ids `MsgIdGen` remembers the last id of (for `rewind_target`).
const HISTORY_SECONDS: usize = 512;

/// Generates msg_ids from the local clock plus the server time offset.
#[derive(Debug, Clone, Default)]
pub struct MsgIdGen {
    last: u64,
    offset_ms: i64,
    /// The last id generated in each of the most recent seconds (of id time) that had
    /// one, ascending: what ids the peer may know when our clock must go back.
    history: std::collections::VecDeque<u64>,
}

impl MsgIdGen {
    pub fn new(offset_ms: i64) -> Self {
        MsgIdGen {
            last: 0,
            offset_ms,
            history: std::collections::VecDeque::new(),
        }
    }

    /// Where ids may restart after our clock ran ahead and was corrected to
    /// `corrected` (the id of the corrected now): above every id we generated that the
    /// peer may have accepted, i.e. whose time is not more than `future_ms` past the
    /// corrected clock (a peer refuses ids further ahead: code 17). Restarting at the
    /// corrected clock alone would hand out ids the peer already took (a fresh request
    /// dropped as a duplicate), e.g. those stamped just before the clock leapt ahead.
    pub fn rewind_target(&self, corrected: u64, future_ms: i64) -> u64 {
        let limit = msg_id_at(msg_id_time_ms(corrected).saturating_add(future_ms));
        let known = match self.history.front() {
            // Seconds before the oldest remembered may have had ids up to the limit.
            Some(&oldest) if oldest > limit && self.history.len() >= HISTORY_SECONDS => limit,
            _ => self
                .history
                .iter()
                .rev()
                .find(|&&id| id <= limit)
                .copied()
                .unwrap_or(0),
        };
        corrected.max(known)
    }

    fn remember(&mut self, id: u64) {
        match self.history.back_mut() {
            Some(back) if *back >> 32 == id >> 32 => *back = id,
            _ => {
                self.history.push_back(id);
                if self.history.len() > HISTORY_SECONDS {
                    self.history.pop_front();
                }
            }
        }
    }

    /// The server's clock as we believe it to be.
    pub fn server_now(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.offset_ms)
    }

    /// A new id congruent to `rem` mod 4 (0 client; 1 or 3 server), above every earlier one.
    pub fn next(&mut self, now_ms: i64, rem: u64) -> u64 {
        let mut id = msg_id_at(self.server_now(now_ms)) | rem;
        if id <= self.last {
            id = ((self.last & !3) + 4) | rem;
        }
        // The fraction must not be empty (anti-replay rule of the spec).
        if id & 0xffff_ffff == rem {
            id += 4;
        }
        self.last = id;
        self.remember(id);
        id
    }

    /// Corrects the offset so that `now_ms` corresponds to the server's `server_msg_id`;
    /// returns the new offset.
    pub fn sync_to(&mut self, server_msg_id: u64, now_ms: i64) -> i64 {
        self.offset_ms = msg_id_time_ms(server_msg_id) - now_ms;
        self.offset_ms
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    pub fn set_offset_ms(&mut self, offset_ms: i64) {
        self.offset_ms = offset_ms;
    }

    pub fn last(&self) -> u64 {
        self.last
    }

    /// Imports the last id used, so that ids keep increasing across restarts, or
    /// moves it back (see `rewind_target`); remembered ids above it are forgotten.
    pub fn set_last(&mut self, last: u64) {
        self.last = last;
        while self.history.back().is_some_and(|&id| id > last) {
            self.history.pop_back();
        }
        if last != 0 {
            self.remember(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_clock_and_round_trip() {
        let ms = 1_700_000_000_123;
        let id = msg_id_at(ms);
        assert_eq!(id >> 32, 1_700_000_000);
        assert_eq!(id % 4, 0);
        assert!((msg_id_time_ms(id) - ms).abs() <= 1);
    }

    #[test]
    fn strictly_increasing_with_parity_even_when_time_stalls_or_goes_back() {
        let mut g = MsgIdGen::new(0);
        let mut prev = 0;
        for t in [5_000i64, 5_000, 5_000, 4_000, 6_000, 6_000] {
            let id = g.next(1_700_000_000_000 + t, 0);
            assert!(id > prev);
            assert_eq!(id % 4, 0);
            assert_ne!(id & 0xffff_ffff, 0);
            prev = id;
        }
        for rem in [1, 3, 1, 3] {
            let id = g.next(1_700_000_000_000, rem);
            assert!(id > prev);
            assert_eq!(id % 4, rem);
            prev = id;
        }
    }

    #[test]
    fn the_whole_second_gets_a_nonzero_fraction() {
        let mut g = MsgIdGen::new(0);
        let id = g.next(1_700_000_000_000, 0);
        assert_eq!(id % 4, 0);
        assert_ne!(id & 0xffff_ffff, 0);
    }

    #[test]
    fn a_rewind_stays_above_every_id_the_peer_may_have_taken() {
        let t = 1_700_000_000_000;
        let mut g = MsgIdGen::new(0);
        // A burst at t, then the clock leaps 400 s ahead and more ids follow.
        let before: Vec<u64> = (0..50).map(|_| g.next(t, 0)).collect();
        g.set_offset_ms(400_000);
        let after = g.next(t + 1, 0);
        // The server says its time is t (its notification stamped a moment before our
        // last burst id): ids restart above the burst, not at the corrected clock.
        let corrected = msg_id_at(t);
        let target = g.rewind_target(corrected, 30_000);
        assert_eq!(target, *before.last().unwrap());
        assert!(target < after);
        g.set_offset_ms(0);
        g.set_last(target);
        let next = g.next(t + 2, 0);
        assert!(before.iter().all(|&b| b < next));
        // With nothing remembered near the corrected clock, the clock itself.
        let fresh = MsgIdGen::new(0);
        assert_eq!(fresh.rewind_target(corrected, 30_000), corrected);
    }

    #[test]
    fn sync_sets_the_offset_from_a_server_id() {
        let mut g = MsgIdGen::new(0);
        let server = msg_id_at(1_700_000_100_000) | 1;
        let off = g.sync_to(server, 1_700_000_000_000);
        assert!((off - 100_000).abs() <= 1);
        let id = g.next(1_700_000_000_000, 0);
        assert!((msg_id_time_ms(id) - 1_700_000_100_000).abs() <= 2);
    }
}

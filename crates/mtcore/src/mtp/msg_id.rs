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

/// Generates msg_ids from the local clock plus the server time offset.
#[derive(Debug, Clone, Default)]
pub struct MsgIdGen {
    last: u64,
    offset_ms: i64,
}

impl MsgIdGen {
    pub fn new(offset_ms: i64) -> Self {
        MsgIdGen { last: 0, offset_ms }
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

    /// Imports the last id used, so that ids keep increasing across restarts.
    pub fn set_last(&mut self, last: u64) {
        self.last = last;
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
    fn sync_sets_the_offset_from_a_server_id() {
        let mut g = MsgIdGen::new(0);
        let server = msg_id_at(1_700_000_100_000) | 1;
        let off = g.sync_to(server, 1_700_000_000_000);
        assert!((off - 100_000).abs() <= 1);
        let id = g.next(1_700_000_000_000, 0);
        assert!((msg_id_time_ms(id) - 1_700_000_100_000).abs() <= 2);
    }
}

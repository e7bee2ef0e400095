//! Server salts: the current one and the future ones, chosen by server time.
//!
//! Spec (https://core.telegram.org/mtproto/description#server-salt and
//! /mtproto/service_messages#request-for-several-future-salts): a salt changes
//! every 30 minutes per session; get_future_salts returns salts with their
//! validity windows, so a client can switch ahead of time without a round trip
//! through bad_server_salt.

use std::collections::BinaryHeap;

/// One entry of future_salts (unixtime seconds, server clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FutureSalt {
    pub valid_since: i32,
    pub valid_until: i32,
    pub salt: u64,
}

/// Future salts kept at most: the number a client asks for (get_future_salts 64), so
/// a session holds 1 KiB of them and `pick`, run on every transmit, stays cheap.
pub const MAX_STORED: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Salts {
    current: u64,
    /// Sorted by valid_since; expired ones are dropped as time passes.
    future: Vec<FutureSalt>,
    /// Server time (s) at which to ask for more; None = nothing known, ask now.
    renew_at: Option<i64>,
}

impl Salts {
    pub fn new(current: u64) -> Self {
        Salts {
            current,
            future: Vec::new(),
            renew_at: None,
        }
    }

    pub fn current(&self) -> u64 {
        self.current
    }

    /// Adopts a salt the server named (bad_server_salt, new_session_created, import).
    /// The future list belonged to the old state of the server session: forget it.
    pub fn set_current(&mut self, salt: u64) {
        self.current = salt;
        self.future = Vec::new();
        self.renew_at = None;
    }

    pub fn future(&self) -> &[FutureSalt] {
        &self.future
    }

    /// Stores a future_salts answer received at server time `server_s`: of the salts
    /// not expired, the `MAX_STORED` valid soonest (an answer may list a million; all
    /// of them are looked at once, with a bounded heap, and only these kept).
    pub fn store(&mut self, salts: impl IntoIterator<Item = FutureSalt>, server_s: i64) {
        // A max-heap by valid_since: the latest-starting of those kept is on top.
        let mut kept: BinaryHeap<(i32, i32, u64)> = BinaryHeap::with_capacity(MAX_STORED + 1);
        for s in salts {
            if i64::from(s.valid_until) <= server_s || s.valid_since > s.valid_until {
                continue;
            }
            let key = (s.valid_since, s.valid_until, s.salt);
            if kept.len() < MAX_STORED {
                kept.push(key);
            } else if kept.peek().is_some_and(|top| key < *top) {
                kept.pop();
                kept.push(key);
            }
        }
        let salts: Vec<FutureSalt> = kept
            .into_sorted_vec()
            .into_iter()
            .map(|(valid_since, valid_until, salt)| FutureSalt {
                valid_since,
                valid_until,
                salt,
            })
            .collect();
        // Ask again an hour before the last one runs out, or halfway through
        // the covered span if the server gave less than two hours.
        self.renew_at = salts.last().map(|last| {
            let end = i64::from(last.valid_until);
            end - ((end - server_s) / 2).min(3600)
        });
        self.future = salts;
        self.pick(server_s);
    }

    /// The salt to send with at server time `server_s`: the newest future salt already
    /// valid, else the current one.
    pub fn pick(&mut self, server_s: i64) -> u64 {
        if !self.future.is_empty() {
            self.future.retain(|s| i64::from(s.valid_until) > server_s);
            if let Some(s) = self
                .future
                .iter()
                .rev()
                .find(|s| i64::from(s.valid_since) <= server_s)
            {
                self.current = s.salt;
            }
        }
        self.current
    }

    /// Server side: whether a client may use `salt` at server time `server_s`: the
    /// current salt, or any known salt inside its validity window.
    pub fn accepts(&self, salt: u64, server_s: i64) -> bool {
        salt == self.current
            || self.future.iter().any(|s| {
                s.salt == salt
                    && i64::from(s.valid_since) <= server_s
                    && server_s < i64::from(s.valid_until)
            })
    }

    /// Whether get_future_salts is due at server time `server_s`.
    pub fn needs_more(&self, server_s: i64) -> bool {
        self.renew_at.is_none_or(|at| server_s >= at)
    }

    /// The next server time (s) at which `pick` or `needs_more` may change.
    pub fn next_change(&self, server_s: i64) -> Option<i64> {
        let switch = self
            .future
            .iter()
            .flat_map(|s| [i64::from(s.valid_since), i64::from(s.valid_until)])
            .filter(|&t| t > server_s)
            .min();
        match (switch, self.renew_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(since: i32, until: i32, salt: u64) -> FutureSalt {
        FutureSalt {
            valid_since: since,
            valid_until: until,
            salt,
        }
    }

    #[test]
    fn picks_by_time_and_drops_expired() {
        let mut s = Salts::new(7);
        assert!(s.needs_more(1000));
        s.store(
            vec![fs(4600, 8200, 2), fs(1000, 4600, 1), fs(8200, 11800, 3)],
            1000,
        );
        assert_eq!(s.current(), 1);
        assert!(!s.needs_more(1000));
        assert_eq!(s.pick(4599), 1);
        assert_eq!(s.pick(4600), 2);
        assert_eq!(s.pick(9000), 3);
        assert_eq!(s.future().len(), 1);
        // Renewal an hour before the last salt ends.
        assert!(!s.needs_more(8199));
        assert!(s.needs_more(8200));
        // Past the end of everything the last salt stays current until told otherwise.
        assert_eq!(s.pick(20_000), 3);
        assert!(s.future().is_empty());
    }

    #[test]
    fn next_change_is_the_next_boundary() {
        let mut s = Salts::new(0);
        s.store(vec![fs(1000, 4600, 1), fs(4600, 8200, 2)], 1000);
        assert_eq!(s.next_change(1000), Some(4600));
        // The renewal (an hour before 8200) is due from 4600 on; then 8200 is next.
        assert_eq!(s.next_change(4600), Some(4600));
        s.store(vec![fs(4600, 8200, 2), fs(8200, 20_000, 3)], 4600);
        assert_eq!(s.next_change(4600), Some(8200));
    }

    #[test]
    fn a_server_accepts_the_salts_valid_now() {
        let mut s = Salts::new(9);
        s.store(vec![fs(1000, 4600, 1), fs(3000, 8200, 2)], 1000);
        assert_eq!(s.current(), 1);
        assert!(s.accepts(1, 1000));
        assert!(!s.accepts(2, 1000));
        assert!(!s.accepts(9, 1000));
        // Overlapping windows: both are good at 3500.
        assert!(s.accepts(1, 3500));
        assert!(s.accepts(2, 3500));
        assert_eq!(s.pick(4600), 2);
        assert!(!s.accepts(1, 4600));
    }

    #[test]
    fn set_current_forgets_the_future() {
        let mut s = Salts::new(0);
        s.store(vec![fs(0, 10_000, 5)], 100);
        s.set_current(9);
        assert_eq!(s.pick(200), 9);
        assert!(s.needs_more(200));
    }
}

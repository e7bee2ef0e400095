//! The server's memory of ClientHello randoms, against replays.
//!
//! A recorded hello is valid for as long as its timestamp is inside the
//! server's window, so the cache must hold at least what arrives within one
//! window; beyond its capacity the oldest entries go first.

use std::collections::{HashSet, VecDeque};

/// Randoms of accepted ClientHellos, bounded, oldest evicted first.
#[derive(Debug)]
pub struct ReplayCache {
    seen: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
    capacity: usize,
}

impl ReplayCache {
    /// A cache remembering at most `capacity` randoms (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `random`; false if it was already there (a replay).
    pub fn insert(&mut self, random: [u8; 32]) -> bool {
        if !self.seen.insert(random) {
            return false;
        }
        self.order.push_back(random);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    pub fn contains(&self, random: &[u8; 32]) -> bool {
        self.seen.contains(random)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl Default for ReplayCache {
    /// Room for 100 000 hellos (about 6.4 MB at most).
    fn default() -> Self {
        Self::new(100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_evicts_oldest() {
        let mut c = ReplayCache::new(2);
        assert!(c.insert([1; 32]));
        assert!(!c.insert([1; 32]));
        assert!(c.insert([2; 32]));
        assert!(c.insert([3; 32]));
        assert!(!c.contains(&[1; 32]));
        assert!(c.contains(&[3; 32]));
        assert_eq!(c.len(), 2);
    }
}

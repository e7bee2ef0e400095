//! Calls that run in order: invokeAfterMsg (https://core.telegram.org/method/invokeAfterMsg).
//!
//! A chained body travels as `invokeAfterMsg#cb9f372d msg_id:long query:!X`, naming the
//! msg_id of the earlier call it waits for. That id must be the one the server knows:
//! when the earlier call is re-stamped (bad_server_salt, a state answer after a
//! reconnect, a clock correction), the server never sees its old id, so every chained
//! body that names it is pointed at the new one before it goes out. The session keeps
//! the renames it made while chains are in use, for as long as the server would accept
//! a message anyway (its 300 s window).

use std::collections::HashMap;

use super::{check_body, MtpError, Session};
use crate::mtp::outbox::{Kind, Outgoing, MAX_BODY_LEN};
use crate::mtp::wire;

/// invokeAfterMsg#cb9f372d {X:Type} msg_id:long query:!X = X;
const INVOKE_AFTER_MSG: u32 = 0xcb9f_372d;
/// Bytes before the wrapped query: the constructor and the msg_id.
const PREFIX_LEN: usize = 12;
/// How long renames are kept: the server refuses messages older than this anyway.
const KEEP_MS: i64 = 300_000;
/// Renames kept at most (a hostile server making the session re-stamp without end
/// cannot grow this); past it the oldest go first.
const MAX_RENAMES: usize = 4096;

/// Old msg_id -> (new msg_id, when) of re-stamped messages, kept while chains are used.
#[derive(Debug, Default)]
pub(super) struct ChainRenames {
    renamed: HashMap<u64, (u64, i64)>,
    /// Chained bodies were queued until this time: renames are worth keeping.
    used_until: i64,
}

impl ChainRenames {
    #[cfg(test)]
    pub(super) fn renamed_len(&self) -> usize {
        self.renamed.len()
    }

    fn current(&self, mut id: u64) -> u64 {
        // Bounded: each step is a newer id (renames always go up), so no cycle.
        for _ in 0..MAX_RENAMES {
            match self.renamed.get(&id) {
                Some(&(next, _)) if next > id => id = next,
                _ => break,
            }
        }
        id
    }

    fn note(&mut self, old: u64, new: u64, now: i64) {
        if now > self.used_until {
            self.renamed.clear();
            return;
        }
        if self.renamed.len() >= MAX_RENAMES {
            self.purge(now, true);
        }
        self.renamed.insert(old, (new, now));
    }

    fn purge(&mut self, now: i64, forced: bool) {
        let cutoff = if forced {
            // Drop the older half.
            let mut ats: Vec<i64> = self.renamed.values().map(|&(_, at)| at).collect();
            ats.sort_unstable();
            ats[ats.len() / 2]
        } else {
            now - KEEP_MS
        };
        self.renamed.retain(|_, &mut (_, at)| at > cutoff);
    }
}

impl Session {
    /// Queues `body` (a content-related request) to run only after the message
    /// `after` (an earlier request of this session), wrapped in invokeAfterMsg;
    /// returns its msg_id.
    pub fn enqueue_after(&mut self, body: &[u8], after: u64, now: i64) -> Result<u64, MtpError> {
        check_body(body)?;
        if body.len() + PREFIX_LEN > MAX_BODY_LEN {
            return Err(MtpError::BadBodyLength {
                len: body.len() + PREFIX_LEN,
                max: MAX_BODY_LEN,
            });
        }
        let after = self.chain.current(after);
        let mut wrapped = Vec::with_capacity(PREFIX_LEN + body.len());
        wire::put_u32(&mut wrapped, INVOKE_AFTER_MSG);
        wire::put_u64(&mut wrapped, after);
        wrapped.extend_from_slice(body);
        self.chain.used_until = now + KEEP_MS;
        let id = self.next_id(now, &wrapped);
        let seqno = self.seq.next(true);
        let mut m = Outgoing::new(id, seqno, true, Kind::User, wrapped);
        m.after = Some(after);
        self.outbox.push(m);
        Ok(id)
    }

    /// A message was re-stamped from `old` to `new`: chained bodies naming `old` follow.
    pub(super) fn note_restamp(&mut self, old: u64, new: u64, now: i64) {
        self.chain.note(old, new, now);
    }

    /// Points a chained message at the current id of the call it waits for.
    pub(super) fn repoint(&self, m: &mut Outgoing) {
        let Some(after) = m.after else { return };
        let current = self.chain.current(after);
        if current != after {
            m.after = Some(current);
            m.body[4..PREFIX_LEN].copy_from_slice(&current.to_le_bytes());
        }
    }

    /// Forgets renames older than the server's window.
    pub(super) fn purge_renames(&mut self, now: i64) {
        if !self.chain.renamed.is_empty() {
            self.chain.purge(now, false);
        }
    }
}

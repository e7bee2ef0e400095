//! Outgoing messages waiting for transmit, and how they are packed.
//!
//! Spec (https://core.telegram.org/mtproto/service_messages#containers): several
//! messages travel in one msg_container whose own msg_id is strictly greater
//! than theirs and whose (even) seqno is taken after theirs; a container is
//! not content-related and holds no container. A message re-sent under an id
//! the peer may have seen must travel inside a container, not on its own
//! (/mtproto/service_messages_about_messages#informational-message-regarding-status-of-messages).

use std::collections::VecDeque;

use super::bind::BindRequest;
use super::wire;

/// Bytes a message takes inside a container besides its body: msg_id, seqno, bytes.
pub const ITEM_HEADER_LEN: usize = 16;
/// msg_container constructor and count.
pub const CONTAINER_HEADER_LEN: usize = 8;
/// Default bound on a container's serialized size (Telegram closes the connection
/// past about 1 MiB per message).
pub const DEFAULT_MAX_CONTAINER_BYTES: usize = 1_044_448;
/// Default bound on the number of messages per container.
pub const DEFAULT_MAX_CONTAINER_MESSAGES: usize = 1020;
/// Largest body accepted by enqueue.
pub const MAX_BODY_LEN: usize = 1 << 20;

/// Who wants a message and what answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A body the driver enqueued: its ids are reported (msg_ids, Resent, results).
    User,
    /// get_future_salts sent by the session itself.
    FutureSalts,
    /// msgs_state_req about these ids.
    StateReq(Vec<u64>),
    /// msgs_state_req about these requests after a message that may have held their
    /// answers was dropped (see `session::walk`).
    Audit(Vec<u64>),
    /// msg_resend_req for this answer of the peer's (msg_new_detailed_info).
    ResendReq(u64),
    /// msg_resend_req, msgs_state_info: fire and forget.
    Service,
    /// msgs_ack of these ids (kept briefly so a rejected ack can be re-queued).
    Ack(Vec<u64>),
    /// A container record: the ids it carried.
    Container(Vec<u64>),
}

/// A message of ours, queued or in flight.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub msg_id: u64,
    pub seqno: u32,
    pub content_related: bool,
    pub kind: Kind,
    pub body: Vec<u8>,
    /// Times the peer rejected it (bad_msg_notification).
    pub attempts: u8,
    /// Times it was re-sent at the peer's word (see `MAX_RESENDS`).
    pub resends: u8,
    /// Content-relatedness was flipped once after code 34/35.
    pub flipped: bool,
    /// Send outside containers (after code 64).
    pub alone: bool,
    /// Keeps an id the peer may have seen: must be wrapped in a container.
    pub resend: bool,
    /// Ids this message had before it was re-stamped (for late answers).
    pub prev_ids: Vec<u64>,
    pub acked: bool,
    pub sent_at: i64,
    /// msg_id of the packet (container or itself) it last went out in.
    pub packet_id: u64,
    pub state_asked_at: Option<i64>,
    /// An auth.bindTempAuthKey query: its body names its own msg_id, so it is
    /// built again whenever the message is re-stamped.
    pub bind: Option<Box<BindRequest>>,
    /// A chained call: the msg_id its invokeAfterMsg prefix names (session/chain.rs).
    pub after: Option<u64>,
}

impl Outgoing {
    pub fn new(msg_id: u64, seqno: u32, content_related: bool, kind: Kind, body: Vec<u8>) -> Self {
        Outgoing {
            msg_id,
            seqno,
            content_related,
            kind,
            body,
            attempts: 0,
            resends: 0,
            flipped: false,
            alone: false,
            resend: false,
            prev_ids: Vec::new(),
            acked: false,
            sent_at: 0,
            packet_id: 0,
            state_asked_at: None,
            bind: None,
            after: None,
        }
    }

    fn packed_len(&self) -> usize {
        ITEM_HEADER_LEN + self.body.len()
    }
}

/// Limits on one container.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_messages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: DEFAULT_MAX_CONTAINER_BYTES,
            max_messages: DEFAULT_MAX_CONTAINER_MESSAGES,
        }
    }
}

/// FIFO of messages that have ids but were not sent yet.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Outgoing>,
}

impl Outbox {
    pub fn push(&mut self, msg: Outgoing) {
        self.queue.push_back(msg);
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn drain(&mut self) -> Vec<Outgoing> {
        // The queue's buffer becomes the Vec (no copy when it did not wrap), and
        // an idle session keeps no queue buffer.
        Vec::from(std::mem::take(&mut self.queue))
    }

    pub fn take(&mut self, msg_id: u64) -> Option<Outgoing> {
        let at = self.queue.iter().position(|m| m.msg_id == msg_id)?;
        self.queue.remove(at)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Outgoing> {
        self.queue.iter()
    }
}

/// Splits messages into packets, in order: each group fits one container (or is
/// one message sent alone), respecting `limits` and `alone` flags.
pub fn plan(items: Vec<Outgoing>, limits: Limits) -> Vec<Vec<Outgoing>> {
    if items.len() == 1 {
        // One message is one packet whatever the limits (the common case): its Vec
        // becomes the group.
        return vec![items];
    }
    let mut groups: Vec<Vec<Outgoing>> = Vec::new();
    let mut current: Vec<Outgoing> = Vec::new();
    let mut bytes = CONTAINER_HEADER_LEN;
    for item in items {
        let len = item.packed_len();
        let fits_alone = CONTAINER_HEADER_LEN + len <= limits.max_bytes;
        if item.alone || !fits_alone {
            groups.push(vec![item]);
            continue;
        }
        if !current.is_empty()
            && (bytes + len > limits.max_bytes || current.len() >= limits.max_messages)
        {
            groups.push(std::mem::take(&mut current));
            bytes = CONTAINER_HEADER_LEN;
        }
        bytes += len;
        current.push(item);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    for g in &mut groups {
        // Ascending ids inside a container, as they were created.
        g.sort_by_key(|m| m.msg_id);
    }
    groups
}

/// Whether a group travels in a container.
pub fn needs_container(group: &[Outgoing]) -> bool {
    group.len() > 1 || group.iter().any(|m| m.resend && !m.alone)
}

/// Serialized size of a container of `group`.
pub fn container_len(group: &[Outgoing]) -> usize {
    CONTAINER_HEADER_LEN + group.iter().map(Outgoing::packed_len).sum::<usize>()
}

/// Appends the msg_container body of `group`.
pub fn write_container(out: &mut Vec<u8>, group: &[Outgoing]) {
    wire::put_u32(out, super::service::ctor::MSG_CONTAINER);
    wire::put_u32(out, group.len() as u32);
    for m in group {
        wire::put_u64(out, m.msg_id);
        wire::put_u32(out, m.seqno);
        wire::put_u32(out, m.body.len() as u32);
        out.extend_from_slice(&m.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::service::{parse, Service};

    fn msg(id: u64, len: usize) -> Outgoing {
        Outgoing::new(id, 1, true, Kind::User, vec![7; len])
    }

    #[test]
    fn packs_in_order_within_limits() {
        let limits = Limits {
            max_bytes: 8 + 3 * (16 + 100),
            max_messages: 1020,
        };
        let items = (0..7).map(|i| msg(4 * (i + 1), 100)).collect();
        let groups = plan(items, limits);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        assert!(groups.iter().all(|g| container_len(g) <= limits.max_bytes));
        assert_eq!(groups[1][0].msg_id, 16);
        let limits = Limits {
            max_bytes: 1 << 20,
            max_messages: 2,
        };
        let groups = plan((0..5).map(|i| msg(4 * (i + 1), 4)).collect(), limits);
        assert_eq!(
            groups.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
    }

    #[test]
    fn big_and_alone_messages_get_their_own_packet() {
        let limits = Limits {
            max_bytes: 200,
            max_messages: 10,
        };
        let mut lonely = msg(8, 4);
        lonely.alone = true;
        let groups = plan(vec![msg(4, 4), lonely, msg(12, 400), msg(16, 4)], limits);
        assert_eq!(
            groups.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 1, 2]
        );
        assert!(!needs_container(&groups[0]));
        assert!(!needs_container(&groups[1]));
        assert!(needs_container(&groups[2]));
        let mut again = msg(20, 4);
        again.resend = true;
        assert!(needs_container(&[again]));
    }

    #[test]
    fn container_bytes_parse_back() {
        let group = vec![msg(4, 8), msg(8, 12)];
        let mut out = Vec::new();
        write_container(&mut out, &group);
        assert_eq!(out.len(), container_len(&group));
        let Service::Container(items) = parse(&out).unwrap() else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        let second = items.iter().nth(1).unwrap();
        assert_eq!((second.msg_id, second.body.len()), (8, 12));
    }
}

//! Unwrapping what a packet carries, with budgets no input can get around:
//! msg_container, msg_copy and gzip_packed are taken apart on an explicit work
//! stack (never by recursion, so no nesting can exhaust the native stack), at
//! most `MAX_NESTING` levels deep, and every gzip_packed of the packet inflates
//! out of one budget (`Options::max_gzip_len`) rather than a limit per layer.
//!
//! Spec: https://core.telegram.org/mtproto/service_messages#containers (a
//! container holds no container; its items' ids are below its own),
//! #packed-object (gzip_packed), #message-copies (msg_copy).
//!
//! A message dropped here may have carried the answer to one of our requests
//! (`lost`): when the answer is recognisable (an rpc_result, pong, future_salts
//! or msgs_state_info whose first 12 bytes can be read, inflated or not) that
//! request fails at once; otherwise the peer is asked about our requests in
//! flight (`audit`), and so no request waits for an answer that was thrown away.

use super::Session;
use crate::mtp::events::{DropReason, Event, FailReason};
use crate::mtp::gzip;
use crate::mtp::outbox::Kind;
use crate::mtp::service::{self, ctor, Service};

/// How many msg_container / msg_copy / gzip_packed layers may wrap a message. The
/// deepest legitimate nesting is container -> msg_copy -> gzip_packed -> object;
/// the rest is headroom.
pub const MAX_NESTING: usize = 8;

/// Which buffer a span lies in: the decrypted packet, or the n-th inflated one.
#[derive(Debug, Clone, Copy)]
enum Src {
    Packet,
    Inflated(usize),
}

#[derive(Debug, Clone, Copy)]
struct Span {
    src: Src,
    start: usize,
    end: usize,
}

impl Span {
    /// The span of `sub`, a slice of `buf` (which `self` covers).
    fn of(self, buf: &[u8], sub: &[u8]) -> Span {
        let start = self.start + (sub.as_ptr() as usize - buf.as_ptr() as usize);
        Span {
            src: self.src,
            start,
            end: start + sub.len(),
        }
    }
}

/// One step of the walk.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// A message body to interpret (the packet's own message, which passed its
    /// checks, or what a gzip_packed of it inflated to). `top`: a container may
    /// stand here.
    Body {
        msg_id: u64,
        seqno: u32,
        span: Span,
        top: bool,
        depth: usize,
    },
    /// A message of a container (`container` is its id) or of a msg_copy (None):
    /// checked as new, acknowledged, then its body.
    Inner {
        container: Option<u64>,
        msg_id: u64,
        seqno: u32,
        span: Span,
        depth: usize,
    },
    /// The `left` items of a container not yet taken, back to back in `span`.
    Items {
        container: u64,
        span: Span,
        left: usize,
        depth: usize,
    },
}

/// The steps left of one packet, last in first out. Depth first, it holds at most one
/// container's remaining items per nesting level and the step at hand, so an array
/// on the native stack does (no allocation per packet); a heap spill keeps it correct
/// should that reasoning ever fail.
struct Stack {
    items: [Option<Work>; MAX_NESTING + 2],
    len: usize,
    spill: Vec<Work>,
}

impl Stack {
    fn new(first: Work) -> Self {
        let mut s = Stack {
            items: [None; MAX_NESTING + 2],
            len: 0,
            spill: Vec::new(),
        };
        s.push(first);
        s
    }

    fn push(&mut self, w: Work) {
        if self.len < self.items.len() {
            self.items[self.len] = Some(w);
            self.len += 1;
        } else {
            debug_assert!(false, "the walk's stack outgrew its nesting bound");
            self.spill.push(w);
        }
    }

    fn pop(&mut self) -> Option<Work> {
        if let Some(w) = self.spill.pop() {
            return Some(w);
        }
        self.len = self.len.checked_sub(1)?;
        self.items[self.len].take()
    }
}

/// What the gzip_packed of one packet may still inflate to (rpc_result's included).
pub(super) struct Budget {
    left: usize,
}

impl Budget {
    /// Inflates `data` out of the budget.
    pub(super) fn gunzip(&mut self, data: &[u8]) -> Result<Vec<u8>, gzip::GzipError> {
        let out = gzip::gunzip(data, self.left)?;
        self.left -= out.len();
        Ok(out)
    }
}

/// The bytes of `span`: in the packet, or in one of the buffers it inflated to.
fn get<'a>(packet: &'a [u8], inflated: &'a [Vec<u8>], span: Span) -> &'a [u8] {
    let buf = match span.src {
        Src::Packet => packet,
        Src::Inflated(i) => &inflated[i][..],
    };
    &buf[span.start..span.end]
}

impl Session {
    /// Interprets the body of a packet's message (its id and seqno already checked).
    pub(super) fn walk(
        &mut self,
        msg_id: u64,
        seqno: u32,
        packet: &[u8],
        now: i64,
        ev: &mut Vec<Event>,
        random: &mut dyn FnMut(&mut [u8]),
    ) {
        // Spec: content-related messages (odd seqno) must be acknowledged.
        if seqno & 1 == 1 {
            self.acks.push(msg_id, now);
        }
        let mut budget = Budget {
            left: self.opts.max_gzip_len,
        };
        // Every buffer inflated in this packet, held until it is done: together at most
        // `max_gzip_len` bytes, whatever the nesting.
        let mut inflated: Vec<Vec<u8>> = Vec::new();
        let whole = Span {
            src: Src::Packet,
            start: 0,
            end: packet.len(),
        };
        let mut stack = Stack::new(Work::Body {
            msg_id,
            seqno,
            span: whole,
            top: true,
            depth: 0,
        });
        while let Some(work) = stack.pop() {
            match work {
                Work::Items {
                    container,
                    span,
                    left,
                    depth,
                } => {
                    let items = get(packet, &inflated, span);
                    let (it, used) = service::next_message(items).expect("checked by parse");
                    if left > 1 {
                        stack.push(Work::Items {
                            container,
                            span: Span {
                                start: span.start + used,
                                ..span
                            },
                            left: left - 1,
                            depth,
                        });
                    }
                    stack.push(Work::Inner {
                        container: Some(container),
                        msg_id: it.msg_id,
                        seqno: it.seqno,
                        span: span.of(items, it.body),
                        depth,
                    });
                }
                Work::Inner {
                    container,
                    msg_id,
                    seqno,
                    span,
                    depth,
                } => {
                    let body = get(packet, &inflated, span);
                    if let Some(outer) = container {
                        // Spec: a container's id is strictly greater than those inside it.
                        if self.opts.server_checks
                            && !self.admit_inner(msg_id, seqno, body, now, ev)
                        {
                            continue;
                        }
                        if msg_id >= outer || !self.peer_id_ok(msg_id) {
                            ev.push(Event::Dropped(DropReason::BadMsgId { msg_id }));
                            self.lost(body, now, ev);
                            continue;
                        }
                    }
                    if !self.check_new(msg_id, seqno, now, ev) {
                        continue;
                    }
                    if seqno & 1 == 1 {
                        self.acks.push(msg_id, now);
                    }
                    stack.push(Work::Body {
                        msg_id,
                        seqno,
                        span,
                        top: false,
                        depth,
                    });
                }
                Work::Body {
                    msg_id,
                    seqno,
                    span,
                    top,
                    depth,
                } => {
                    let body = get(packet, &inflated, span);
                    let parsed = match service::parse(body) {
                        Ok(p) => p,
                        Err(error) => {
                            ev.push(Event::Dropped(DropReason::Malformed { msg_id, error }));
                            self.lost(body, now, ev);
                            continue;
                        }
                    };
                    let wrapper = matches!(
                        parsed,
                        Service::Container(_) | Service::MsgCopy(_) | Service::GzipPacked(_)
                    );
                    if wrapper && depth >= MAX_NESTING {
                        ev.push(Event::Dropped(DropReason::TooDeep {
                            msg_id,
                            limit: MAX_NESTING,
                        }));
                        self.lost(body, now, ev);
                        continue;
                    }
                    match parsed {
                        Service::Container(items) => {
                            if !top {
                                ev.push(Event::Dropped(DropReason::NestedContainer { msg_id }));
                                self.lost(body, now, ev);
                            } else if !items.is_empty() {
                                stack.push(Work::Items {
                                    container: msg_id,
                                    span: span.of(body, items.bytes()),
                                    left: items.len(),
                                    depth: depth + 1,
                                });
                            }
                        }
                        Service::MsgCopy(it) => stack.push(Work::Inner {
                            container: None,
                            msg_id: it.msg_id,
                            seqno: it.seqno,
                            span: span.of(body, it.body),
                            depth: depth + 1,
                        }),
                        Service::GzipPacked(data) => match budget.gunzip(data) {
                            Ok(out) => {
                                let end = out.len();
                                let work = Work::Body {
                                    msg_id,
                                    seqno,
                                    span: Span {
                                        src: Src::Inflated(inflated.len()),
                                        start: 0,
                                        end,
                                    },
                                    top,
                                    depth: depth + 1,
                                };
                                inflated.push(out);
                                stack.push(work);
                            }
                            Err(error) => {
                                ev.push(Event::Dropped(DropReason::Gzip { msg_id, error }));
                                match gzip::peek(data, 12) {
                                    Some(head) => self.lost(&head, now, ev),
                                    None => self.audit(now),
                                }
                            }
                        },
                        other => {
                            self.dispatch(msg_id, seqno, other, body, &mut budget, now, ev, random)
                        }
                    }
                }
            }
        }
    }

    /// A message was dropped after it passed the packet's checks: if it may have held
    /// the answer to a request of ours, that request must not wait for it. `body` is
    /// what is known of it (its start at least).
    pub(super) fn lost(&mut self, body: &[u8], now: i64, ev: &mut Vec<Event>) {
        if !self.is_client() {
            // A server drops what a client sends wrong; the client re-sends.
            return;
        }
        let Some(id) = service::constructor(body) else {
            return self.audit(now);
        };
        match id {
            // Answers name what they answer in the 8 bytes after their constructor.
            ctor::RPC_RESULT | ctor::PONG | ctor::FUTURE_SALTS | ctor::MSGS_STATE_INFO => {
                match body.get(4..12) {
                    Some(b) => {
                        let req = u64::from_le_bytes(b.try_into().expect("8 bytes"));
                        self.answer_dropped(req, ev);
                    }
                    None => self.audit(now),
                }
            }
            // Plain content (updates, or a client's queries on the server side) answers
            // nothing; acks can be missed.
            ctor::MSGS_ACK => {}
            id if !service::is_service(id) => {}
            // Containers, copies, gzip_packed, notifications: anything may have been in
            // them, or a notification that a request of ours will not be answered.
            _ => self.audit(now),
        }
    }

    /// The answer to `req_msg_id` was dropped: the request fails (the peer will not send
    /// the answer again: the message was acknowledged). Our own service requests are
    /// forgotten and asked again by their timers.
    fn answer_dropped(&mut self, req_msg_id: u64, ev: &mut Vec<Event>) {
        let Some(m) = self.settle(req_msg_id) else {
            return;
        };
        if m.kind == Kind::User {
            ev.push(Event::Failed {
                msg_id: m.msg_id,
                error_code: -1,
                reason: FailReason::AnswerDropped,
            });
        }
    }

    /// A dropped message might have held answers we cannot name: ask the peer about
    /// every request of the driver's in flight (msgs_state_req). Its msgs_state_info
    /// then decides each (`on_state_info`): one the peer did not receive is re-sent,
    /// one it received fails (`AnswerDropped`): its answer, if it was made, came before
    /// the msgs_state_info on the same connection and was not read. One audit at a time;
    /// another may start once it is answered or `state_req_after_ms` passed.
    pub(super) fn audit(&mut self, now: i64) {
        if self
            .audit_asked_at
            .is_some_and(|t| now < t + self.opts.state_req_after_ms)
        {
            return;
        }
        let ids: Vec<u64> = self
            .inflight
            .pending()
            .filter(|m| m.kind == Kind::User)
            .map(|m| m.msg_id)
            .take(service::MAX_IDS)
            .collect();
        if ids.is_empty() {
            return;
        }
        self.audit_asked_at = Some(now);
        let body = service::msgs_state_req(&ids);
        self.push(body, false, Kind::Audit(ids), now);
    }
}

//! The state machine driven by a fake server written here: packets are built and
//! opened with the envelope directly (Sender::Server), so every field is under the
//! test's control.

use super::*;
use crate::crypto::envelope::{self, Sender};
use crate::mtp::events::{DropReason, Event};
use crate::mtp::gzip::gzip_packed;
use crate::mtp::msg_id::{msg_id_at, MsgIdGen};
use crate::mtp::service::{self, ctor, Service};
use crate::mtp::wire::{put_bytes, put_u32, put_u64};

const T0: i64 = 1_700_000_000_000;
const SID: u64 = 0x1122_3344_5566_7788;

fn key() -> AuthKey {
    AuthKey::new(std::array::from_fn(|i| (i * 7 + 3) as u8))
}

fn rng() -> impl FnMut(&mut [u8]) {
    let mut n = 1u32;
    move |buf: &mut [u8]| {
        for b in buf {
            n ^= n << 13;
            n ^= n >> 17;
            n ^= n << 5;
            *b = n as u8;
        }
    }
}

fn client() -> Session {
    let mut o = Options::client();
    o.session_id = SID;
    o.salt = 0xAAAA;
    o.time_offset_ms = Some(0);
    o.auto_future_salts = false;
    Session::new(key(), o)
}

/// One message as the fake server sees it.
#[derive(Debug, Clone)]
struct Got {
    msg_id: u64,
    seqno: u32,
    body: Vec<u8>,
}

/// A decrypted client packet: its header and the messages in it.
#[derive(Debug)]
struct Opened {
    salt: u64,
    outer: Got,
    container: bool,
    msgs: Vec<Got>,
}

struct Server {
    key: AuthKey,
    ids: MsgIdGen,
    rng: Box<dyn FnMut(&mut [u8])>,
    session_id: u64,
}

impl Server {
    fn new() -> Self {
        Server {
            key: key(),
            ids: MsgIdGen::new(0),
            rng: Box::new(rng()),
            session_id: SID,
        }
    }

    fn id(&mut self, now: i64) -> u64 {
        self.ids.next(now, 1)
    }

    fn open(&self, packet: &[u8], headroom: usize) -> Opened {
        let plain = envelope::decrypt(&self.key, Sender::Client, &packet[headroom..])
            .expect("client packet");
        let salt = u64::from_le_bytes(plain[0..8].try_into().unwrap());
        assert_eq!(
            u64::from_le_bytes(plain[8..16].try_into().unwrap()),
            self.session_id
        );
        let outer = Got {
            msg_id: u64::from_le_bytes(plain[16..24].try_into().unwrap()),
            seqno: u32::from_le_bytes(plain[24..28].try_into().unwrap()),
            body: plain[32..].to_vec(),
        };
        assert_eq!(outer.msg_id % 4, 0, "client ids are divisible by 4");
        match service::parse(&outer.body).unwrap() {
            Service::Container(items) => {
                assert_eq!(outer.seqno % 2, 0, "containers are not content-related");
                let msgs: Vec<Got> = items
                    .iter()
                    .map(|i| Got {
                        msg_id: i.msg_id,
                        seqno: i.seqno,
                        body: i.body.to_vec(),
                    })
                    .collect();
                for m in &msgs {
                    assert!(m.msg_id < outer.msg_id, "container id above its contents");
                    assert!(m.seqno <= outer.seqno);
                }
                Opened {
                    salt,
                    container: true,
                    msgs,
                    outer,
                }
            }
            _ => Opened {
                salt,
                container: false,
                msgs: vec![outer.clone()],
                outer,
            },
        }
    }

    fn seal_with(&mut self, session_id: u64, msg_id: u64, seqno: u32, body: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        put_u64(&mut plain, 0x5a17);
        put_u64(&mut plain, session_id);
        put_u64(&mut plain, msg_id);
        put_u32(&mut plain, seqno);
        put_u32(&mut plain, body.len() as u32);
        plain.extend_from_slice(body);
        envelope::encrypt(&self.key, Sender::Server, &plain, &mut *self.rng)
    }

    fn seal(&mut self, msg_id: u64, seqno: u32, body: &[u8]) -> Vec<u8> {
        self.seal_with(self.session_id, msg_id, seqno, body)
    }

    /// One content-related message in its own packet.
    fn send(&mut self, now: i64, body: &[u8]) -> Vec<u8> {
        let id = self.id(now);
        self.seal(id, 1, body)
    }

    fn send_service(&mut self, now: i64, body: &[u8]) -> Vec<u8> {
        let id = self.id(now);
        self.seal(id, 2, body)
    }

    /// Several messages (content-related, seqno odd) in one container.
    fn send_container(&mut self, now: i64, bodies: &[Vec<u8>]) -> (Vec<u64>, Vec<u8>) {
        let ids: Vec<u64> = bodies.iter().map(|_| self.id(now)).collect();
        let mut c = Vec::new();
        put_u32(&mut c, ctor::MSG_CONTAINER);
        put_u32(&mut c, bodies.len() as u32);
        for (id, b) in ids.iter().zip(bodies) {
            put_u64(&mut c, *id);
            put_u32(&mut c, 1);
            put_u32(&mut c, b.len() as u32);
            c.extend_from_slice(b);
        }
        let cid = self.id(now);
        (ids, self.seal(cid, 2, &c))
    }
}

fn rpc_result(req: u64, result: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, ctor::RPC_RESULT);
    put_u64(&mut b, req);
    b.extend_from_slice(result);
    b
}

fn object(tag: u32, words: usize) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, tag);
    for i in 0..words {
        put_u32(&mut b, i as u32);
    }
    b
}

fn bad_msg(bad: u64, seqno: u32, code: i32, salt: Option<u64>) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(
        &mut b,
        if salt.is_some() {
            ctor::BAD_SERVER_SALT
        } else {
            ctor::BAD_MSG_NOTIFICATION
        },
    );
    put_u64(&mut b, bad);
    put_u32(&mut b, seqno);
    put_u32(&mut b, code as u32);
    if let Some(s) = salt {
        put_u64(&mut b, s);
    }
    b
}

fn recv(c: &mut Session, mut packet: Vec<u8>, now: i64) -> Vec<Event> {
    c.receive(&mut packet, now, &mut rng())
}

fn send(c: &mut Session, now: i64) -> Transmit {
    c.transmit(now, &mut rng())
}

fn acks_in(o: &Opened) -> Vec<u64> {
    o.msgs
        .iter()
        .filter_map(|m| match service::parse(&m.body) {
            Ok(Service::MsgsAck(ids)) => Some(ids),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn request_and_answer_with_headroom() {
    let mut o = Options::client();
    o.session_id = SID;
    o.salt = 0xAAAA;
    o.time_offset_ms = Some(0);
    o.auto_future_salts = false;
    o.headroom = 4;
    o.tailroom = 4;
    let mut c = Session::new(key(), o);
    let mut s = Server::new();
    let id = c.enqueue(object(0x1234, 3), true, T0).unwrap();
    assert_eq!(c.deadline(T0), Some(T0));
    let t = send(&mut c, T0);
    assert_eq!(t.packets.len(), 1);
    assert_eq!(t.msg_ids, vec![id]);
    let p = &t.packets[0];
    assert_eq!(&p[..4], &[0; 4]);
    assert!(p.capacity() >= p.len() + 4, "tailroom reserved");
    let opened = s.open(p, 4);
    assert!(!opened.container);
    assert_eq!(opened.salt, 0xAAAA);
    assert_eq!((opened.outer.msg_id, opened.outer.seqno), (id, 1));
    assert_eq!(opened.outer.body, object(0x1234, 3));
    // Nothing due until the unacknowledged request is worth asking about.
    assert_eq!(t.deadline, Some(T0 + 20_000));
    let ev = recv(
        &mut c,
        s.send(T0 + 50, &rpc_result(id, &object(0x99, 1))),
        T0 + 50,
    );
    assert_eq!(
        ev,
        vec![Event::RpcResult {
            req_msg_id: id,
            body: object(0x99, 1)
        }]
    );
    // The answer is content-related: an ack is owed, due after the ack delay.
    assert_eq!(c.deadline(T0 + 50), Some(T0 + 1_050));
    assert!(send(&mut c, T0 + 60).packets.is_empty());
    let t = send(&mut c, T0 + 1_050);
    assert_eq!(t.packets.len(), 1);
    assert!(t.msg_ids.is_empty());
    let opened = s.open(&t.packets[0], 4);
    assert_eq!(acks_in(&opened).len(), 1);
    assert_eq!(opened.outer.seqno % 2, 0);
    assert_eq!(t.deadline, None);
}

#[test]
fn containers_both_ways_and_acks_ride_along() {
    let mut c = client();
    let mut s = Server::new();
    let ids: Vec<u64> = (0..3)
        .map(|i| c.enqueue(object(i, 2), true, T0).unwrap())
        .collect();
    let t = send(&mut c, T0);
    assert_eq!(t.packets.len(), 1);
    assert_eq!(t.msg_ids, ids);
    let opened = s.open(&t.packets[0], 0);
    assert!(opened.container);
    assert_eq!(
        opened.msgs.iter().map(|m| m.msg_id).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        opened.msgs.iter().map(|m| m.seqno).collect::<Vec<_>>(),
        vec![1, 3, 5]
    );
    assert_eq!(opened.outer.seqno, 6);
    // Answers in one container, with an update between them.
    let bodies = vec![
        rpc_result(ids[1], &object(0x51, 0)),
        object(0x7777, 2),
        rpc_result(ids[0], &object(0x50, 0)),
        rpc_result(ids[2], &object(0x52, 0)),
    ];
    let (server_ids, packet) = s.send_container(T0 + 10, &bodies);
    let ev = recv(&mut c, packet, T0 + 10);
    assert_eq!(ev.len(), 4, "{ev:?}");
    assert!(matches!(&ev[0], Event::RpcResult { req_msg_id, .. } if *req_msg_id == ids[1]));
    assert!(matches!(&ev[1], Event::Message { msg_id, seqno: 1, .. } if *msg_id == server_ids[1]));
    assert!(
        matches!(&ev[3], Event::RpcResult { req_msg_id, body } if *req_msg_id == ids[2] && *body == object(0x52, 0))
    );
    assert!(c.in_flight().is_empty());
    // The next request carries the four acks in the same container.
    let next = c.enqueue(object(9, 0), true, T0 + 20).unwrap();
    let opened = s.open(&send(&mut c, T0 + 20).packets[0], 0);
    assert!(opened.container);
    assert_eq!(opened.msgs[0].msg_id, next);
    assert_eq!(acks_in(&opened), server_ids);
}

#[test]
fn gzip_packed_results_and_updates_are_inflated() {
    let mut c = client();
    let mut s = Server::new();
    let id = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let big = object(0xabcd, 2000);
    let ev = recv(&mut c, s.send(T0, &rpc_result(id, &gzip_packed(&big))), T0);
    assert_eq!(
        ev,
        vec![Event::RpcResult {
            req_msg_id: id,
            body: big.clone()
        }]
    );
    let update = object(0xfeed, 500);
    let ev = recv(&mut c, s.send(T0, &gzip_packed(&update)), T0);
    assert!(matches!(&ev[0], Event::Message { body, .. } if *body == update));
    // An rpc_error inside gzip is still an error.
    let id = c.enqueue(object(2, 0), true, T0).unwrap();
    send(&mut c, T0);
    let mut err = Vec::new();
    put_u32(&mut err, ctor::RPC_ERROR);
    put_u32(&mut err, 420);
    put_bytes(&mut err, b"FLOOD_WAIT_3");
    let ev = recv(&mut c, s.send(T0, &rpc_result(id, &gzip_packed(&err))), T0);
    assert_eq!(
        ev,
        vec![Event::RpcError {
            req_msg_id: id,
            code: 420,
            message: "FLOOD_WAIT_3".into()
        }]
    );
    // A bomb past the limit is dropped, the request fails instead of hanging.
    let mut o = Options::client();
    o.session_id = SID;
    o.time_offset_ms = Some(0);
    o.auto_future_salts = false;
    o.max_gzip_len = 1000;
    let mut c = Session::new(key(), o);
    let id = c.enqueue(object(3, 0), true, T0).unwrap();
    send(&mut c, T0);
    let ev = recv(
        &mut c,
        s.send(T0, &rpc_result(id, &gzip_packed(&[0; 4000]))),
        T0,
    );
    assert!(matches!(ev[0], Event::Dropped(DropReason::Gzip { .. })));
    assert_eq!(
        ev[1],
        Event::Failed {
            msg_id: id,
            error_code: -1
        }
    );
}

#[test]
fn acks_are_batched_by_delay_and_threshold() {
    let mut c = client();
    let mut s = Server::new();
    let mut server_ids = Vec::new();
    for i in 0..15 {
        let id = s.id(T0 + i);
        server_ids.push(id);
        recv(&mut c, s.seal(id, 1, &object(0x55, 0)), T0 + i);
    }
    assert_eq!(c.pending_acks(), 15);
    assert_eq!(c.deadline(T0 + 20), Some(T0 + 1_000));
    assert!(send(&mut c, T0 + 20).packets.is_empty());
    // Service messages (even seqno) are not acknowledged.
    recv(&mut c, s.send_service(T0 + 30, &object(0x56, 0)), T0 + 30);
    assert_eq!(c.pending_acks(), 15);
    let id = s.id(T0 + 40);
    server_ids.push(id);
    recv(&mut c, s.seal(id, 1, &object(0x57, 0)), T0 + 40);
    assert_eq!(c.deadline(T0 + 40), Some(T0), "16 pending: due at once");
    let t = send(&mut c, T0 + 40);
    assert_eq!(t.packets.len(), 1);
    let opened = s.open(&t.packets[0], 0);
    assert!(!opened.container);
    assert_eq!(acks_in(&opened), server_ids);
    assert_eq!(c.pending_acks(), 0);
}

#[test]
fn bad_server_salt_adopts_the_salt_and_resends_with_a_new_id() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let b = c.enqueue(object(2, 0), true, T0).unwrap();
    let opened = s.open(&send(&mut c, T0).packets[0], 0);
    assert!(opened.container);
    // The server rejects the whole container.
    let ev = recv(
        &mut c,
        s.send_service(
            T0 + 5,
            &bad_msg(opened.outer.msg_id, opened.outer.seqno, 48, Some(0xBEEF)),
        ),
        T0 + 5,
    );
    assert_eq!(
        ev[0],
        Event::BadMsg {
            msg_id: opened.outer.msg_id,
            error_code: 48
        }
    );
    assert_eq!(ev[1], Event::SaltChanged { salt: 0xBEEF });
    let resent: Vec<(u64, u64)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Resent {
                old_msg_id,
                new_msg_id,
            } => Some((*old_msg_id, *new_msg_id)),
            _ => None,
        })
        .collect();
    assert_eq!(resent.len(), 2);
    assert_eq!((resent[0].0, resent[1].0), (a, b));
    assert!(resent.iter().all(|(o, n)| n > o && n % 4 == 0));
    assert_eq!(c.salt(), 0xBEEF);
    let t = send(&mut c, T0 + 5);
    assert_eq!(t.msg_ids, vec![resent[0].1, resent[1].1]);
    let again = s.open(&t.packets[0], 0);
    assert_eq!(again.salt, 0xBEEF);
    assert_eq!(
        again.msgs.iter().map(|m| m.msg_id).collect::<Vec<_>>(),
        t.msg_ids
    );
    // A late answer to the old id settles the request once, under its new id.
    let ev = recv(
        &mut c,
        s.send(T0 + 6, &rpc_result(a, &object(0x61, 0))),
        T0 + 6,
    );
    assert_eq!(
        ev,
        vec![Event::RpcResult {
            req_msg_id: resent[0].1,
            body: object(0x61, 0)
        }]
    );
    let ev = recv(
        &mut c,
        s.send(T0 + 7, &rpc_result(resent[0].1, &object(0x61, 0))),
        T0 + 7,
    );
    assert!(matches!(
        ev[0],
        Event::Dropped(DropReason::UnknownMessage { .. })
    ));
    // A salt notification about a message we never sent is not trusted.
    let ev = recv(
        &mut c,
        s.send_service(T0 + 8, &bad_msg(12345 * 4, 1, 48, Some(0xBAD))),
        T0 + 8,
    );
    assert!(matches!(
        ev[0],
        Event::Dropped(DropReason::UnknownMessage { .. })
    ));
    assert_eq!(c.salt(), 0xBEEF);
}

#[test]
fn bad_msg_16_and_17_fix_the_clock_and_resend() {
    for (code, skew) in [(16, 120_000i64), (17, -120_000)] {
        let mut o = Options::client();
        o.session_id = SID;
        o.auto_future_salts = false;
        let mut c = Session::new(key(), o);
        assert!(!c.time_synced());
        let mut s = Server::new();
        c.enqueue(object(1, 0), true, T0).unwrap();
        c.enqueue(object(2, 0), true, T0).unwrap();
        let first = s.open(&send(&mut c, T0).packets[0], 0);
        // The server's clock is `skew` ahead of ours; its notification is outside our
        // window but accepted because our clock is not yet trusted.
        let ev = recv(
            &mut c,
            s.send_service(
                T0 + skew,
                &bad_msg(first.outer.msg_id, first.outer.seqno, code, None),
            ),
            T0,
        );
        let fixed = ev.iter().find_map(|e| match e {
            Event::TimeFixed { offset_ms } => Some(*offset_ms),
            _ => None,
        });
        assert!((fixed.unwrap() - skew).abs() <= 1, "{code}: {ev:?}");
        assert!(c.time_synced());
        let resent: Vec<u64> = ev
            .iter()
            .filter_map(|e| match e {
                Event::Resent { new_msg_id, .. } => Some(*new_msg_id),
                _ => None,
            })
            .collect();
        assert_eq!(resent.len(), 2, "{ev:?}");
        for n in &resent {
            let t = msg_id_time_ms(*n);
            assert!(
                (t - (T0 + skew)).abs() < 1_000,
                "{code}: new id near server time"
            );
        }
        let t = send(&mut c, T0 + 1);
        assert_eq!(t.msg_ids, resent);
        // Now synced: a message 301 s old by the corrected clock is dropped.
        let stale = msg_id_at(T0 + skew - 301_000) | 1;
        let ev = recv(&mut c, s.seal(stale, 1, &object(5, 0)), T0 + 2);
        assert!(
            matches!(ev[0], Event::Dropped(DropReason::TimeWindow { .. })),
            "{ev:?}"
        );
    }
}

use crate::mtp::msg_id::msg_id_time_ms;

#[test]
fn every_check_drops_without_side_effects() {
    let mut c = client();
    let mut s = Server::new();
    let id = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let answer = s.send(T0, &rpc_result(id, &object(2, 0)));
    // Tampered anywhere: dropped.
    for i in [0usize, 8, 30, answer.len() - 1] {
        let mut bad = answer.clone();
        bad[i] ^= 0x10;
        let ev = recv(&mut c, bad, T0);
        assert!(matches!(ev[..], [Event::Dropped(_)]), "byte {i}: {ev:?}");
    }
    // Wrong session.
    let other = s.id(T0);
    let ev = recv(
        &mut c,
        s.seal_with(SID ^ 1, other, 1, &rpc_result(id, &object(2, 0))),
        T0,
    );
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::WrongSessionId { .. })]
    ));
    // A client-parity id from the "server".
    let ev = recv(&mut c, s.seal(msg_id_at(T0) + 4, 1, &object(3, 0)), T0);
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::BadMsgId { .. })]
    ));
    // Too far in the future / past.
    let ev = recv(
        &mut c,
        s.seal(msg_id_at(T0 + 31_000) | 1, 1, &object(3, 0)),
        T0,
    );
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::TimeWindow { .. })]
    ));
    let ev = recv(
        &mut c,
        s.seal(msg_id_at(T0 - 301_000) | 1, 1, &object(3, 0)),
        T0,
    );
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::TimeWindow { .. })]
    ));
    assert_eq!(c.pending_acks(), 0);
    assert_eq!(c.in_flight().len(), 1, "request still waiting");
    // The genuine packet works, and its replay is dropped but acknowledged again.
    let ev = recv(&mut c, answer.clone(), T0);
    assert!(matches!(ev[..], [Event::RpcResult { .. }]));
    send(&mut c, T0 + 5_000);
    assert_eq!(c.pending_acks(), 0);
    let ev = recv(&mut c, answer, T0);
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::Duplicate { .. })]
    ));
    assert_eq!(c.pending_acks(), 1);
    // Garbage of every short length: never a panic.
    for len in 0..100 {
        let ev = recv(&mut c, vec![7; len], T0);
        assert!(matches!(ev[..], [Event::Dropped(DropReason::Envelope(_))]));
    }
}

#[test]
fn duplicates_inside_containers_are_dropped_once_each() {
    let mut c = client();
    let mut s = Server::new();
    let a = s.id(T0);
    let b = s.id(T0);
    let mut body = Vec::new();
    put_u32(&mut body, ctor::MSG_CONTAINER);
    put_u32(&mut body, 3);
    for id in [a, b, a] {
        put_u64(&mut body, id);
        put_u32(&mut body, 1);
        put_u32(&mut body, 4);
        put_u32(&mut body, 0x42);
    }
    let cid = s.id(T0);
    let ev = recv(&mut c, s.seal(cid, 2, &body), T0);
    assert_eq!(ev.len(), 3);
    assert!(matches!(ev[2], Event::Dropped(DropReason::Duplicate { msg_id }) if msg_id == a));
    // The same inner ids re-sent by the server in a new container: dropped, re-acked.
    let cid2 = s.id(T0);
    let ev = recv(&mut c, s.seal(cid2, 2, &body), T0);
    assert!(ev
        .iter()
        .all(|e| matches!(e, Event::Dropped(DropReason::Duplicate { .. }))));
    assert_eq!(c.pending_acks(), 2);
}

#[test]
fn state_request_after_reconnect_resends_only_what_was_lost() {
    let mut c = client();
    let mut s = Server::new();
    let ids: Vec<u64> = (0..3)
        .map(|i| c.enqueue(object(i, 0), true, T0).unwrap())
        .collect();
    send(&mut c, T0); // lost with the connection
    assert_eq!(c.request_state(T0 + 100), 3);
    let t = send(&mut c, T0 + 100);
    let opened = s.open(&t.packets[0], 0);
    assert!(!opened.container);
    assert_eq!(
        opened.outer.seqno % 2,
        0,
        "msgs_state_req is not content-related"
    );
    let Service::MsgsStateReq(asked) = service::parse(&opened.outer.body).unwrap() else {
        panic!()
    };
    assert_eq!(asked, ids);
    // Received (and being processed), not received, not received (too high).
    let info = service::msgs_state_info(opened.outer.msg_id, &[4 + 32, 2, 3]);
    let ev = recv(&mut c, s.send_service(T0 + 150, &info), T0 + 150);
    assert!(matches!(&ev[0], Event::StateInfo { states, .. } if states.len() == 3));
    let resent: Vec<(u64, u64)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Resent {
                old_msg_id,
                new_msg_id,
            } => Some((*old_msg_id, *new_msg_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        resent.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![ids[1], ids[2]]
    );
    assert!(ev.contains(&Event::Acked {
        msg_ids: vec![ids[0]]
    }));
    let t = send(&mut c, T0 + 150);
    assert_eq!(t.msg_ids, vec![resent[0].1, resent[1].1]);
    // Each request is answered once.
    let mut answered = Vec::new();
    for req in [ids[0], resent[0].1, resent[1].1, ids[1]] {
        for e in recv(
            &mut c,
            s.send(T0 + 200, &rpc_result(req, &object(1, 0))),
            T0 + 200,
        ) {
            if let Event::RpcResult { req_msg_id, .. } = e {
                answered.push(req_msg_id);
            }
        }
    }
    assert_eq!(answered, vec![ids[0], resent[0].1, resent[1].1]);
    assert!(c.in_flight().is_empty());
}

#[test]
fn unacknowledged_requests_are_asked_about_on_a_timer_and_blind_resend_keeps_ids() {
    let mut c = client();
    let mut s = Server::new();
    let id = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    assert_eq!(c.deadline(T0), Some(T0 + 20_000));
    let t = send(&mut c, T0 + 20_000);
    let opened = s.open(&t.packets[0], 0);
    assert!(
        matches!(service::parse(&opened.outer.body).unwrap(), Service::MsgsStateReq(ref v) if *v == vec![id])
    );
    // Acknowledged: no more asking.
    let mut ack = Vec::new();
    put_u32(&mut ack, ctor::MSGS_ACK);
    put_u32(&mut ack, crate::mtp::wire::VECTOR);
    put_u32(&mut ack, 1);
    put_u64(&mut ack, id);
    let ev = recv(&mut c, s.send_service(T0 + 20_010, &ack), T0 + 20_010);
    assert_eq!(ev, vec![Event::Acked { msg_ids: vec![id] }]);
    assert_eq!(c.deadline(T0 + 20_010), None);
    // Blind resend: same id, inside a container.
    assert_eq!(c.resend_pending(), 1);
    let t = send(&mut c, T0 + 20_020);
    let opened = s.open(&t.packets[0], 0);
    assert!(opened.container);
    assert_eq!(opened.msgs[0].msg_id, id);
    assert_eq!(t.msg_ids, vec![id]);
}

#[test]
fn new_session_created_adopts_salt_and_resends_older_packets() {
    let mut c = client();
    let mut s = Server::new();
    let old = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let newer = c.enqueue(object(2, 0), true, T0 + 10).unwrap();
    send(&mut c, T0 + 10);
    let mut b = Vec::new();
    put_u32(&mut b, ctor::NEW_SESSION_CREATED);
    put_u64(&mut b, newer);
    put_u64(&mut b, 777);
    put_u64(&mut b, 0x5A17);
    let ev = recv(&mut c, s.send(T0 + 20, &b), T0 + 20);
    assert_eq!(
        ev[0],
        Event::SessionCreated {
            first_msg_id: newer,
            unique_id: 777,
            server_salt: 0x5A17
        }
    );
    assert_eq!(ev[1], Event::SaltChanged { salt: 0x5A17 });
    assert!(matches!(ev[2], Event::Resent { old_msg_id, .. } if old_msg_id == old));
    assert_eq!(ev.len(), 3);
    assert_eq!(c.salt(), 0x5A17);
    assert_eq!(c.pending_acks(), 1, "new_session_created is acknowledged");
}

#[test]
fn seqno_and_container_notifications() {
    // 32: counter moves ahead; 35: re-sent as content-related; 64: sent alone.
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(a, o.outer.seqno, 32, None)),
        T0,
    );
    let Some(Event::Resent { new_msg_id, .. }) = ev.get(1) else {
        panic!("{ev:?}")
    };
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    assert_eq!(o.outer.msg_id, *new_msg_id);
    assert!(o.outer.seqno >= 2 * 64 + 1);

    let n = c.enqueue(object(2, 0), false, T0).unwrap();
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    assert_eq!(o.outer.seqno % 2, 0);
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(n, o.outer.seqno, 35, None)),
        T0,
    );
    assert!(
        matches!(ev[1], Event::Resent { old_msg_id, .. } if old_msg_id == n),
        "{ev:?}"
    );
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    assert_eq!(o.outer.seqno % 2, 1, "now content-related");
    // The same complaint again: given up.
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(o.outer.msg_id, o.outer.seqno, 34, None)),
        T0,
    );
    assert!(
        matches!(ev[1], Event::Failed { error_code: 34, .. }),
        "{ev:?}"
    );

    let x = c.enqueue(object(3, 0), true, T0).unwrap();
    let y = c.enqueue(object(4, 0), true, T0).unwrap();
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    assert!(o.container);
    recv(
        &mut c,
        s.send_service(T0, &bad_msg(o.outer.msg_id, o.outer.seqno, 64, None)),
        T0,
    );
    let t = send(&mut c, T0);
    assert_eq!(t.packets.len(), 2, "each alone after an invalid container");
    assert_eq!(t.msg_ids.len(), 2);
    assert!(!t.msg_ids.contains(&x) && !t.msg_ids.contains(&y));
}

#[test]
fn seqno_too_high_starts_a_new_session() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let b = c.enqueue(object(2, 0), true, T0).unwrap();
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(o.msgs[0].msg_id, 1, 33, None)),
        T0,
    );
    let Some(Event::SessionReset { new_session_id, .. }) =
        ev.iter().find(|e| matches!(e, Event::SessionReset { .. }))
    else {
        panic!("{ev:?}")
    };
    assert_ne!(*new_session_id, SID);
    let olds: Vec<u64> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Resent { old_msg_id, .. } => Some(*old_msg_id),
            _ => None,
        })
        .collect();
    assert_eq!(olds, vec![a, b]);
    s.session_id = *new_session_id;
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    assert_eq!(
        o.msgs.iter().map(|m| m.seqno).collect::<Vec<_>>(),
        vec![1, 3]
    );
}

#[test]
fn future_salts_are_requested_stored_and_used() {
    let mut o = Options::client();
    o.session_id = SID;
    o.salt = 1;
    o.time_offset_ms = Some(0);
    let mut c = Session::new(key(), o);
    let mut s = Server::new();
    assert_eq!(c.deadline(T0), Some(T0));
    let t = send(&mut c, T0);
    let opened = s.open(&t.packets[0], 0);
    assert!(matches!(
        service::constructor(&opened.outer.body),
        Some(ctor::GET_FUTURE_SALTS)
    ));
    assert!(t.msg_ids.is_empty(), "internal requests are not reported");
    let now_s = (T0 / 1000) as u32;
    let mut b = Vec::new();
    put_u32(&mut b, ctor::FUTURE_SALTS);
    put_u64(&mut b, opened.outer.msg_id);
    put_u32(&mut b, now_s);
    put_u32(&mut b, 2);
    for (since, until, salt) in [
        (now_s - 100, now_s + 3500, 10u64),
        (now_s + 3500, now_s + 7100, 11),
    ] {
        put_u32(&mut b, since);
        put_u32(&mut b, until);
        put_u64(&mut b, salt);
    }
    let ev = recv(&mut c, s.send(T0, &b), T0);
    assert!(matches!(&ev[0], Event::FutureSalts { salts } if salts.len() == 2));
    assert_eq!(ev[1], Event::SaltChanged { salt: 10 });
    // Renewal is due an hour before the last salt ends.
    assert_eq!(c.deadline(T0), Some(T0 + 1_000), "only the ack is due now");
    send(&mut c, T0 + 1_000);
    assert_eq!(
        c.deadline(T0 + 1_000),
        Some((i64::from(now_s) + 3500) * 1000)
    );
    c.enqueue(object(5, 0), true, T0 + 3_600_000).unwrap();
    let t = send(&mut c, T0 + 3_600_000);
    let opened = s.open(&t.packets[0], 0);
    assert_eq!(opened.salt, 11, "switched by time");
}

#[test]
fn answers_the_servers_state_request_and_detailed_info() {
    let mut c = client();
    let mut s = Server::new();
    let got = s.id(T0);
    recv(&mut c, s.seal(got, 1, &object(1, 0)), T0);
    let never = s.id(T0);
    let future = s.id(T0) + 1000;
    let req = service::msgs_state_req(&[got, never - 8, future]);
    let ev = recv(&mut c, s.send_service(T0, &req), T0);
    assert!(ev.is_empty());
    let opened = s.open(&send(&mut c, T0).packets[0], 0);
    let info = opened
        .msgs
        .iter()
        .find_map(|m| match service::parse(&m.body) {
            Ok(Service::MsgsStateInfo { info, .. }) => Some(info.to_vec()),
            _ => None,
        })
        .unwrap();
    assert_eq!(info, vec![4, 2, 3]);
    // msg_new_detailed_info about an answer we never got: ask for it.
    let mut b = Vec::new();
    put_u32(&mut b, ctor::MSG_NEW_DETAILED_INFO);
    put_u64(&mut b, never);
    put_u32(&mut b, 100);
    put_u32(&mut b, 0);
    recv(&mut c, s.send_service(T0, &b), T0);
    let opened = s.open(&send(&mut c, T0).packets[0], 0);
    assert!(
        matches!(service::parse(&opened.outer.body).unwrap(), Service::MsgResendReq(ref v) if *v == vec![never])
    );
}

#[test]
fn splits_into_packets_past_the_container_limit() {
    let mut c = client();
    let s = Server::new();
    let ids: Vec<u64> = (0..3)
        .map(|i| c.enqueue(object(i, 100_000), true, T0).unwrap())
        .collect();
    let t = send(&mut c, T0);
    assert_eq!(t.packets.len(), 2);
    let a = s.open(&t.packets[0], 0);
    let b = s.open(&t.packets[1], 0);
    let all: Vec<u64> = a.msgs.iter().chain(&b.msgs).map(|m| m.msg_id).collect();
    assert_eq!(all, ids);
    assert!(t.packets.iter().all(|p| p.len() < 1_100_000));
    assert!(c.enqueue(vec![0; (1 << 20) + 4], true, T0).is_err());
    assert!(c.enqueue(vec![0; 6], true, T0).is_err());
}

#[test]
fn state_export_and_import_keep_ids_increasing() {
    let mut c = client();
    c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let st = c.state();
    assert_eq!((st.session_id, st.salt, st.seqno), (SID, 0xAAAA, 1));
    let mut d = Session::new(key(), Options::client());
    d.set_state(&st, T0);
    let id = d.enqueue(object(2, 0), true, T0 - 5_000).unwrap();
    assert!(id > st.last_msg_id);
    assert_eq!(d.state().seqno, 2);
}

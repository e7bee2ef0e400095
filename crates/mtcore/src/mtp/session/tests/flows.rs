//! Normal traffic and the checks on receipt.

use super::*;
use crate::mtp::events::{DropReason, Event, FailReason};
use crate::mtp::gzip::gzip_packed;
use crate::mtp::msg_id::msg_id_at;
use crate::mtp::service::ctor;
use crate::mtp::wire::{put_bytes, put_u32, put_u64};

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
    let mut c = client_with_gzip_budget(1000);
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
            error_code: -1,
            reason: FailReason::AnswerDropped,
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
    let opened = s.open(&send(&mut c, T0 + 2_000).packets[0], 0);
    assert_eq!(acks_in(&opened), vec![a, b], "each acknowledged once");
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

#[test]
fn an_idle_session_is_small_and_holds_no_buffers() {
    // Thousands of sessions per process: the struct itself, no heap until traffic.
    let size = std::mem::size_of::<Session>();
    eprintln!("size_of::<Session>() = {size}");
    assert!(size <= 1024, "{size}");
    let mut c = client();
    let mut s = Server::new();
    let id = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    recv(&mut c, s.send(T0, &rpc_result(id, &object(2, 0))), T0);
    send(&mut c, T0 + 1_000);
    assert_eq!(
        (c.queued_len(), c.pending_acks(), c.in_flight().len()),
        (0, 0, 0)
    );
}

//! Rejections, losses, salts and sessions.

use super::*;
use crate::mtp::events::{DropReason, Event};
use crate::mtp::msg_id::{msg_id_at, msg_id_time_ms};
use crate::mtp::service::{self, ctor, Service};
use crate::mtp::wire::{put_u32, put_u64};

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
    let resent = resent_pairs(&ev);
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
        let resent: Vec<u64> = resent_pairs(&ev).iter().map(|r| r.1).collect();
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
    let resent = resent_pairs(&ev);
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
    assert!(o.outer.seqno > 2 * 64);

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
    let olds: Vec<u64> = resent_pairs(&ev).iter().map(|r| r.0).collect();
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
fn a_clock_that_jumped_is_fixed_by_16_about_our_own_message_only() {
    // Synced, then the local clock jumps 10 minutes back: the server's messages look
    // 10 minutes in the future and are dropped, except the notification that fixes it.
    let mut c = client();
    let mut s = Server::new();
    let jumped = T0 - 600_000;
    let id = c.enqueue(object(1, 0), true, jumped).unwrap();
    let o = s.open(&send(&mut c, jumped).packets[0], 0);
    let ev = recv(&mut c, s.send(T0, &object(7, 0)), jumped);
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::TimeWindow { .. })]
    ));
    // A notification about a message we never sent does not pass.
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(id + 4000, 1, 16, None)),
        jumped,
    );
    assert!(matches!(
        ev[..],
        [Event::Dropped(DropReason::TimeWindow { .. })]
    ));
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(o.outer.msg_id, o.outer.seqno, 16, None)),
        jumped,
    );
    assert!(
        ev.iter().any(
            |e| matches!(e, Event::TimeFixed { offset_ms } if (offset_ms - 600_000).abs() < 10)
        ),
        "{ev:?}"
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Resent { old_msg_id, .. } if *old_msg_id == id)));
    // Now the server's traffic is inside the corrected window.
    let ev = recv(&mut c, s.send(T0 + 10, &object(8, 0)), jumped + 10);
    assert!(matches!(ev[..], [Event::Message { .. }]), "{ev:?}");
}

#[test]
fn future_salts_are_not_asked_twice_while_one_request_is_out() {
    let mut o = Options::client();
    o.session_id = SID;
    o.time_offset_ms = Some(0);
    let mut c = Session::new(key(), o);
    let mut s = Server::new();
    let first = s.open(&send(&mut c, T0).packets[0], 0);
    assert_eq!(
        service::constructor(&first.outer.body),
        Some(ctor::GET_FUTURE_SALTS)
    );
    // Minutes pass without an answer: asked about (state request), not requested again.
    for minute in 1..5 {
        let t = send(&mut c, T0 + minute * 60_000);
        for p in &t.packets {
            let o = s.open(p, 0);
            assert!(o
                .msgs
                .iter()
                .all(|m| service::constructor(&m.body) != Some(ctor::GET_FUTURE_SALTS)));
        }
    }
    let mut b = Vec::new();
    put_u32(&mut b, ctor::FUTURE_SALTS);
    put_u64(&mut b, first.outer.msg_id);
    put_u32(&mut b, (T0 / 1000) as u32);
    put_u32(&mut b, 0);
    recv(&mut c, s.send(T0 + 300_000, &b), T0 + 300_000);
    // Answered with no salts: asking again is allowed after the retry interval.
    let t = send(&mut c, T0 + 300_000);
    let asked = t.packets.iter().any(|p| {
        s.open(p, 0)
            .msgs
            .iter()
            .any(|m| service::constructor(&m.body) == Some(ctor::GET_FUTURE_SALTS))
    });
    assert!(asked);
}

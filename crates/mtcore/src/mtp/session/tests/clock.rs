//! A clock that is off either way once the session trusted it (issue #5): the
//! server's answers outside the window re-sync it when they name a recent message
//! of ours, while unrelated or replayed messages are still dropped.

use super::*;
use crate::mtp::events::DropReason;
use crate::mtp::msg_id::{msg_id_at, msg_id_time_ms};

fn fixed(ev: &[Event]) -> Option<i64> {
    ev.iter().find_map(|e| match e {
        Event::TimeFixed { offset_ms } => Some(*offset_ms),
        _ => None,
    })
}

#[test]
fn answers_from_a_server_clock_off_either_way_resync_the_session() {
    // Server clock minus ours: behind us (the server's messages look old), ahead.
    for skew in [-400_000i64, -60_000, 60_000, 400_000] {
        let mut c = client();
        assert!(c.time_synced());
        let mut s = Server::new();
        let id = c.enqueue(object(1, 0), true, T0).unwrap();
        s.open(&send(&mut c, T0).packets[0], 0);
        let in_window = (-300_000..=30_000).contains(&skew);
        // An unrelated message from the server's clock: dropped when outside the window.
        let ev = recv(&mut c, s.send(T0 + skew, &object(7, 0)), T0);
        if in_window {
            assert!(matches!(ev[..], [Event::Message { .. }]), "{skew}: {ev:?}");
        } else {
            assert!(
                matches!(ev[..], [Event::Dropped(DropReason::TimeWindow { .. })]),
                "{skew}: {ev:?}"
            );
        }
        // The answer to our request proves the server's clock.
        let answer = s.send(T0 + skew + 5, &rpc_result(id, &object(2, 0)));
        let ev = recv(&mut c, answer.clone(), T0 + 5);
        assert!(
            ev.iter()
                .any(|e| matches!(e, Event::RpcResult { req_msg_id, .. } if *req_msg_id == id)),
            "{skew}: {ev:?}"
        );
        match fixed(&ev) {
            Some(off) => {
                assert!(!in_window);
                assert!((off - skew).abs() <= 2, "{skew}: {off}");
            }
            None => assert!(in_window, "{skew}: {ev:?}"),
        }
        // A replay of it is a duplicate and moves nothing.
        let ev = recv(&mut c, answer, T0 + 6);
        assert!(
            matches!(ev[..], [Event::Dropped(DropReason::Duplicate { .. })]),
            "{skew}: {ev:?}"
        );
        // The session lives on: the server's traffic passes, our ids follow its clock.
        let ev = recv(&mut c, s.send(T0 + skew + 20, &object(8, 0)), T0 + 20);
        assert!(matches!(ev[..], [Event::Message { .. }]), "{skew}: {ev:?}");
        let next = c.enqueue(object(3, 0), true, T0 + 30).unwrap();
        if !in_window {
            assert!(
                (msg_id_time_ms(next) - (T0 + skew + 30)).abs() < 1_000,
                "{skew}"
            );
        }
        let o = s.open(&send(&mut c, T0 + 30).packets[0], 0);
        assert!(o.msgs.iter().any(|m| m.msg_id == next));
    }
}

#[test]
fn a_pong_or_an_ack_about_our_message_resyncs_too_but_not_one_about_an_old_id() {
    for body in ["pong", "ack"] {
        let mut c = client();
        let mut s = Server::new();
        let ping = c.enqueue_ping(9, None, T0);
        s.open(&send(&mut c, T0).packets[0], 0);
        let skew = 120_000;
        // About an id we never sent (or long ago): dropped.
        let stale = ping - (1 << 34);
        let make = |id: u64| match body {
            "pong" => {
                let mut b = Vec::new();
                put_u32(&mut b, ctor::PONG);
                put_u64(&mut b, id);
                put_u64(&mut b, 9);
                b
            }
            _ => service::msgs_ack(&[id]),
        };
        let ev = recv(&mut c, s.send_service(T0 + skew, &make(stale)), T0);
        assert!(
            matches!(ev[..], [Event::Dropped(DropReason::TimeWindow { .. })]),
            "{body}: {ev:?}"
        );
        assert_eq!(c.time_offset_ms(), 0);
        let ev = recv(&mut c, s.send_service(T0 + skew + 1, &make(ping)), T0 + 1);
        let off = fixed(&ev).unwrap_or_else(|| panic!("{body}: {ev:?}"));
        assert!((off - skew).abs() <= 2);
    }
}

#[test]
fn before_the_clock_is_trusted_nothing_is_dropped_for_its_time() {
    let mut o = Options::client();
    o.session_id = SID;
    o.auto_future_salts = false;
    let mut c = Session::new(key(), o);
    let mut s = Server::new();
    let ev = recv(&mut c, s.send(T0 + 400_000, &object(7, 0)), T0);
    assert!(matches!(ev[..], [Event::Message { .. }]), "{ev:?}");
    assert!(!c.time_synced());
    assert_eq!(fixed(&ev), None);
}

#[test]
fn queued_messages_are_restamped_once_per_clock_jump() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let b = c.enqueue(object(2, 0), true, T0).unwrap();
    let o = s.open(&send(&mut c, T0).packets[0], 0);
    // Two notifications 16 about the same jump (one per message); a message queued
    // after the first keeps the id the corrected clock gave it.
    let skew = 400_000;
    let ev = recv(
        &mut c,
        s.send_service(T0 + skew, &bad_msg(a, o.msgs[0].seqno, 16, None)),
        T0,
    );
    assert!(fixed(&ev).is_some());
    let queued = c.enqueue(object(3, 0), true, T0 + 1).unwrap();
    let ev = recv(
        &mut c,
        s.send_service(T0 + skew + 1, &bad_msg(b, o.msgs[1].seqno, 16, None)),
        T0 + 1,
    );
    let resent: Vec<u64> = resent_pairs(&ev).iter().map(|r| r.0).collect();
    assert_eq!(resent, vec![b], "{ev:?}");
    let t = send(&mut c, T0 + 2);
    assert!(t.msg_ids.contains(&queued));
    assert!(msg_id_at(T0 + skew) <= queued);
}

#[test]
fn after_17_new_ids_stay_above_every_id_the_server_took() {
    // A burst the server accepted and answered, then the local clock leaps 400 s ahead;
    // the server's 17 carries its time, a moment before the end of the burst.
    let mut c = client();
    let mut s = Server::new();
    let burst: Vec<u64> = (0..40)
        .map(|i| c.enqueue(object(i, 0), true, T0).unwrap())
        .collect();
    send(&mut c, T0);
    for &id in &burst {
        let ev = recv(&mut c, s.send(T0, &rpc_result(id, &object(9, 0))), T0);
        assert!(matches!(ev[..], [Event::RpcResult { .. }]), "{ev:?}");
    }
    c.set_time_offset_ms(400_000);
    let late: Vec<u64> = (0..3)
        .map(|i| c.enqueue(object(100 + i, 0), true, T0 + 1).unwrap())
        .collect();
    let o = s.open(&send(&mut c, T0 + 1).packets[0], 0);
    assert!(o.container);
    let ev = recv(
        &mut c,
        s.send_service(T0, &bad_msg(o.outer.msg_id, o.outer.seqno, 17, None)),
        T0 + 1,
    );
    let resent = resent_pairs(&ev);
    assert_eq!(resent.iter().map(|r| r.0).collect::<Vec<_>>(), late);
    let max_burst = *burst.iter().max().unwrap();
    for (_, new) in &resent {
        assert!(
            *new > max_burst,
            "a re-sent request took an id the server already has"
        );
        assert!((msg_id_time_ms(*new) - T0).abs() < 1_000);
    }
    let next = c.enqueue(object(200, 0), true, T0 + 2).unwrap();
    assert!(next > max_burst && resent.iter().all(|r| r.1 != next));
}

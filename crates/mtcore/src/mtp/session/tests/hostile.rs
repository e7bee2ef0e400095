//! A hostile server (issue #12): nesting no stack could follow, gzip bombs in
//! layers, answers that cannot be read, notifications naming ids we never sent,
//! endless re-send requests, a million future salts. Nothing crashes, nothing
//! grows past its budget, and no request is left waiting.

use super::*;
use crate::mtp::events::{DropReason, Event, FailReason};
use crate::mtp::gzip::{gzip_packed, GzipError};
use crate::mtp::salts::MAX_STORED;
use crate::mtp::session::walk::MAX_NESTING;
use crate::mtp::wire::{put_bytes, put_u32, put_u64};

/// `levels` msg_copy wrapped around `inner`, built outside in (no recursion, no
/// quadratic copying): the ids are `first_id`, `first_id + 4`, ...
fn nested_copies(levels: usize, first_id: u64, inner: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(levels * 20 + inner.len());
    for i in 0..levels {
        put_u32(&mut b, ctor::MSG_COPY);
        put_u64(&mut b, first_id + 4 * i as u64);
        put_u32(&mut b, 1);
        put_u32(&mut b, ((levels - i - 1) * 20 + inner.len()) as u32);
    }
    b.extend_from_slice(inner);
    b
}

fn gzip_layers(layers: usize, inner: &[u8]) -> Vec<u8> {
    (0..layers).fold(inner.to_vec(), |b, _| gzip_packed(&b))
}

fn container(items: &[(u64, &[u8])]) -> Vec<u8> {
    let mut c = Vec::new();
    put_u32(&mut c, ctor::MSG_CONTAINER);
    put_u32(&mut c, items.len() as u32);
    for (id, b) in items {
        put_u64(&mut c, *id);
        put_u32(&mut c, 1);
        put_u32(&mut c, b.len() as u32);
        c.extend_from_slice(b);
    }
    c
}

fn dropped(ev: &[Event]) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Dropped(r) => Some(r.code()),
            _ => None,
        })
        .collect()
}

fn failed(ev: &[Event]) -> Vec<(u64, FailReason)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Failed { msg_id, reason, .. } => Some((*msg_id, *reason)),
            _ => None,
        })
        .collect()
}

/// The msgs_state_req bodies in what `c` transmits now.
fn state_reqs(c: &mut Session, s: &Server, now: i64) -> Vec<Vec<u64>> {
    send(c, now)
        .packets
        .iter()
        .flat_map(|p| s.open(p, 0).msgs)
        .filter_map(|m| match service::parse(&m.body) {
            Ok(Service::MsgsStateReq(ids)) => Some(ids),
            _ => None,
        })
        .collect()
}

fn with_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // 256 KiB: far less than the recursion the old receive path needed for these.
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no stack overflow")
}

#[test]
fn msg_copy_nested_a_hundred_thousand_deep_is_dropped_without_recursion() {
    with_small_stack(|| {
        let mut c = client();
        let mut s = Server::new();
        let first = s.id(T0);
        let body = nested_copies(100_000, first, &object(0x55, 1));
        for _ in 0..100_000 {
            s.id(T0);
        }
        let ev = recv(&mut c, s.send(T0, &body), T0);
        assert_eq!(dropped(&ev), vec!["TOO_DEEP"]);
        assert!(matches!(
            ev.last(),
            Some(Event::Dropped(DropReason::TooDeep {
                limit: MAX_NESTING,
                ..
            }))
        ));
        // Up to the limit a copy is delivered.
        let first = s.id(T0);
        let ok = nested_copies(MAX_NESTING, first, &object(0x56, 1));
        for _ in 0..MAX_NESTING {
            s.id(T0);
        }
        let ev = recv(&mut c, s.send(T0, &ok), T0);
        assert!(
            matches!(&ev[..], [Event::Message { body, .. }] if *body == object(0x56, 1)),
            "{ev:?}"
        );
    });
}

#[test]
fn gzip_nested_past_the_limit_and_containers_in_copies_are_dropped() {
    with_small_stack(|| {
        let mut c = client();
        let mut s = Server::new();
        let ev = recv(
            &mut c,
            s.send(T0, &gzip_layers(MAX_NESTING + 1, &object(1, 1))),
            T0,
        );
        assert_eq!(dropped(&ev), vec!["TOO_DEEP"]);
        let ev = recv(
            &mut c,
            s.send(T0, &gzip_layers(MAX_NESTING, &object(1, 1))),
            T0,
        );
        assert!(matches!(&ev[..], [Event::Message { .. }]), "{ev:?}");
        // A container inside a msg_copy (or inside a container) is no container.
        let inner_id = s.id(T0);
        let item = s.id(T0);
        let copy = nested_copies(1, inner_id, &container(&[(item, &object(2, 0))]));
        let ev = recv(&mut c, s.send(T0, &copy), T0);
        assert_eq!(dropped(&ev), vec!["NESTED_CONTAINER"]);
    });
}

#[test]
fn gzip_layers_share_one_budget_per_packet() {
    let mut c = client_with_gzip_budget(1 << 20);
    let mut s = Server::new();
    // Three updates of 400 KiB each: each fits the limit, the third not what is left.
    let big = gzip_packed(&vec![0u8; 400 << 10]);
    let ids: Vec<u64> = (0..3).map(|_| s.id(T0)).collect();
    let items: Vec<(u64, &[u8])> = ids.iter().map(|&id| (id, &big[..])).collect();
    let cid = s.id(T0);
    let ev = recv(&mut c, s.seal(cid, 2, &container(&items)), T0);
    let delivered = ev
        .iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .count();
    assert_eq!(delivered, 2, "{:?}", dropped(&ev));
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Dropped(DropReason::Gzip {
            error: GzipError::TooLarge { limit },
            ..
        }) if *limit == (1 << 20) - (800 << 10)
    )));
    // Every layer counts: an outer layer of 600 KiB (a gzip_packed and what trails it)
    // whose inner one inflates to 600 KiB more.
    let mut middle = gzip_packed(&vec![7u8; 600 << 10]);
    middle.resize(600 << 10, 0);
    let layered = gzip_packed(&middle);
    let ev = recv(&mut c, s.send(T0, &layered), T0);
    assert_eq!(dropped(&ev), vec!["GZIP"]);
    // A fresh packet has the whole budget again; updates lost this way fail nothing.
    let ev = recv(&mut c, s.send(T0, &big), T0);
    assert!(matches!(&ev[..], [Event::Message { .. }]));
    assert!(
        state_reqs(&mut c, &s, T0).is_empty(),
        "an update is no answer"
    );
}

#[test]
fn an_unreadable_gzip_answer_fails_its_request() {
    let mut c = client_with_gzip_budget(1000);
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let b = c.enqueue(object(2, 0), true, T0).unwrap();
    send(&mut c, T0);
    // The whole rpc_result gzip_packed, past the budget: its head still names `a`.
    let ev = recv(
        &mut c,
        s.send(T0, &gzip_packed(&rpc_result(a, &[0; 4000]))),
        T0,
    );
    assert_eq!(dropped(&ev), vec!["GZIP"]);
    assert_eq!(failed(&ev), vec![(a, FailReason::AnswerDropped)]);
    // Corrupt past its head (its CRC): the same.
    let mut packed = gzip_packed(&rpc_result(b, &object(9, 100)));
    let Ok(Service::GzipPacked(data)) = service::parse(&packed) else {
        unreachable!()
    };
    let crc_at = data.as_ptr() as usize - packed.as_ptr() as usize + data.len() - 8;
    packed[crc_at] ^= 0x55;
    let ev = recv(&mut c, s.send(T0, &packed), T0);
    assert_eq!(dropped(&ev), vec!["GZIP"]);
    assert_eq!(failed(&ev), vec![(b, FailReason::AnswerDropped)]);
    assert!(c.in_flight().is_empty());
    assert!(state_reqs(&mut c, &s, T0).is_empty());
}

/// gzip_packed whose stream cannot even start: nothing tells what it answered.
fn garbage_gzip() -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, ctor::GZIP_PACKED);
    put_bytes(&mut b, b"this is no gzip stream at all...");
    b
}

#[test]
fn an_answer_nobody_can_name_has_the_server_asked_and_settles_every_request() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let b = c.enqueue(object(2, 0), true, T0).unwrap();
    send(&mut c, T0);
    let ev = recv(&mut c, s.send(T0 + 10, &garbage_gzip()), T0 + 10);
    assert_eq!(dropped(&ev), vec!["GZIP"]);
    assert!(failed(&ev).is_empty());
    // More garbage while the audit is out asks nothing more.
    let deep = nested_copies(MAX_NESTING + 1, s.id(T0), &object(3, 0));
    for _ in 0..=MAX_NESTING {
        s.id(T0);
    }
    recv(&mut c, s.send(T0 + 10, &deep), T0 + 10);
    let t = send(&mut c, T0 + 20);
    let audit: Vec<Got> = t
        .packets
        .iter()
        .flat_map(|p| s.open(p, 0).msgs)
        .filter(|m| matches!(service::parse(&m.body), Ok(Service::MsgsStateReq(_))))
        .collect();
    assert_eq!(audit.len(), 1);
    let Ok(Service::MsgsStateReq(ids)) = service::parse(&audit[0].body) else {
        unreachable!()
    };
    assert_eq!(ids, vec![a, b]);
    // The server has `a` (its answer was the garbage), not `b`: a fails, b goes again.
    let info = service::msgs_state_info(audit[0].msg_id, &[4, 2]);
    let ev = recv(&mut c, s.send_service(T0 + 30, &info), T0 + 30);
    assert_eq!(failed(&ev), vec![(a, FailReason::AnswerDropped)]);
    let resent = resent_pairs(&ev);
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].0, b);
    assert_eq!(c.in_flight(), vec![(resent[0].1, false)]);
}

#[test]
fn a_malformed_container_or_answer_is_audited_too() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    // A container with a byte too many: dropped whole.
    let item = s.id(T0);
    let mut bad = container(&[(item, &rpc_result(a, &object(5, 0)))]);
    bad.extend_from_slice(&[0; 4]);
    let ev = recv(&mut c, s.send_service(T0, &bad), T0);
    assert_eq!(dropped(&ev), vec!["MALFORMED"]);
    assert_eq!(state_reqs(&mut c, &s, T0), vec![vec![a]]);
    // An rpc_result too short to name its request.
    let mut c = client();
    c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let mut short = Vec::new();
    put_u32(&mut short, ctor::RPC_RESULT);
    put_u32(&mut short, 7);
    let ev = recv(&mut c, s.send(T0, &short), T0);
    assert_eq!(dropped(&ev), vec!["MALFORMED"]);
    assert_eq!(state_reqs(&mut c, &s, T0).len(), 1);
    // An answer inside a container under a bad inner id names its request: it fails.
    let mut c = client();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let cid = s.id(T0);
    let even = cid - 1;
    let ev = recv(
        &mut c,
        s.seal(cid, 2, &container(&[(even, &rpc_result(a, &object(5, 0)))])),
        T0,
    );
    assert_eq!(dropped(&ev), vec!["MSG_ID"]);
    assert_eq!(failed(&ev), vec![(a, FailReason::AnswerDropped)]);
}

#[test]
fn new_session_created_must_name_a_message_we_sent() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    for i in 0..1_000u64 {
        let body = service::new_session_created(a + 4 + 8 * i, 77, 0xAAAA);
        let ev = recv(&mut c, s.send(T0, &body), T0);
        assert_eq!(dropped(&ev), vec!["UNKNOWN_MESSAGE"], "{ev:?}");
        assert!(resent_pairs(&ev).is_empty());
    }
    assert_eq!(c.in_flight(), vec![(a, false)]);
    // Naming a later message of ours re-sends the earlier one, once per notification,
    // and at most MAX_RESENDS times in all.
    let mut cur = a;
    let mut fails = Vec::new();
    for round in 0..=u64::from(MAX_RESENDS) {
        let later = c.enqueue(object(2, 0), true, T0).unwrap();
        send(&mut c, T0);
        let body = service::new_session_created(later, round, 0xAAAA);
        let ev = recv(&mut c, s.send(T0, &body), T0);
        fails.extend(failed(&ev));
        if let Some(&(_, new)) = resent_pairs(&ev).iter().find(|(old, _)| *old == cur) {
            cur = new;
        }
        c.cancel(later);
        send(&mut c, T0);
    }
    assert_eq!(fails, vec![(cur, FailReason::ResentTooOften)]);
    assert!(c.in_flight().is_empty());
}

#[test]
fn msg_resend_req_without_end_fails_the_request() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    send(&mut c, T0);
    let mut fails = Vec::new();
    for _ in 0..30 {
        let ev = recv(
            &mut c,
            s.send_service(T0, &service::msg_resend_req(&[a])),
            T0,
        );
        fails.extend(failed(&ev));
        send(&mut c, T0);
    }
    assert_eq!(fails, vec![(a, FailReason::ResentTooOften)]);
}

#[test]
fn detailed_info_about_strangers_is_dropped_and_resend_requests_are_bounded() {
    let mut c = client();
    let mut s = Server::new();
    let mut body = Vec::new();
    put_u32(&mut body, ctor::MSG_DETAILED_INFO);
    put_u64(&mut body, 0x1234_5678);
    put_u64(&mut body, s.id(T0));
    put_u32(&mut body, 100);
    put_u32(&mut body, 0);
    let ev = recv(&mut c, s.send_service(T0, &body), T0);
    assert_eq!(dropped(&ev), vec!["UNKNOWN_MESSAGE"]);
    assert_eq!(c.queued_len(), 0);
    // A thousand announcements of answers: a bounded number of requests for them.
    for _ in 0..1_000 {
        let mut b = Vec::new();
        put_u32(&mut b, ctor::MSG_NEW_DETAILED_INFO);
        let answer = s.id(T0 + 5_000);
        put_u64(&mut b, answer);
        put_u32(&mut b, 100);
        put_u32(&mut b, 0);
        recv(&mut c, s.send_service(T0, &b), T0);
    }
    assert!(c.queued_len() <= 16, "{}", c.queued_len());
}

#[test]
fn a_million_future_salts_keep_the_soonest_few_dozen() {
    let mut c = client();
    let mut s = Server::new();
    let req = c.enqueue(service::get_future_salts(64), true, T0).unwrap();
    send(&mut c, T0);
    let now_s = (T0 / 1000) as i32;
    let n = 1_000_000u32;
    let mut b = Vec::with_capacity(20 + 16 * n as usize);
    put_u32(&mut b, ctor::FUTURE_SALTS);
    put_u64(&mut b, req);
    put_u32(&mut b, now_s as u32);
    put_u32(&mut b, n);
    for i in 0..n {
        // Shuffled starts, some already expired.
        let since = now_s - 7200 + ((i.wrapping_mul(2_654_435_761)) % 1_000_000) as i32 * 60;
        put_u32(&mut b, since as u32);
        put_u32(&mut b, (since + 3600) as u32);
        put_u64(&mut b, u64::from(i));
    }
    let ev = recv(&mut c, s.send(T0, &b), T0);
    let stored = c.future_salts();
    assert_eq!(stored.len(), MAX_STORED);
    assert!(stored
        .windows(2)
        .all(|w| w[0].valid_since <= w[1].valid_since));
    assert!(stored.iter().all(|f| i64::from(f.valid_until) > T0 / 1000));
    // The soonest valid: no salt left out starts before the last one kept.
    let last = stored.last().unwrap().valid_since;
    let valid_since: Vec<i32> = (0..n)
        .map(|i| now_s - 7200 + ((i.wrapping_mul(2_654_435_761)) % 1_000_000) as i32 * 60)
        .filter(|&since| since + 3600 > now_s)
        .collect();
    assert!(valid_since.iter().filter(|&&v| v < last).count() < MAX_STORED);
    assert!(valid_since.iter().filter(|&&v| v <= last).count() >= MAX_STORED);
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::FutureSalts { salts } if salts.len() == MAX_STORED)));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::RpcResult { req_msg_id, .. } if *req_msg_id == req)));
}

/// Heap bytes allocated by this thread, live and at their peak: how much a receive
/// costs, measured (each test runs on its own thread). Test-only unsafe: a global
/// allocator must implement the unsafe `GlobalAlloc`; it forwards to `System`.
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        // `try_with`: nothing to count once the thread's locals are gone.
        let _ = LIVE.try_with(|l| {
            l.set(l.get() + n);
            let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
        });
    }

    pub struct Counting;

    // SAFETY: every call is forwarded to `System` unchanged; only counters are kept.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract, forwarded.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract, forwarded.
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as isize));
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller's contract, forwarded.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                add(new_size as isize);
                add(-(layout.size() as isize));
            }
            p
        }
    }

    /// How far this thread's heap rose above where it was while `f` ran.
    pub fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let out = f();
        (out, (PEAK.with(Cell::get) - base).max(0) as usize)
    }
}

#[allow(unsafe_code)]
#[global_allocator]
static COUNTING: counting::Counting = counting::Counting;

#[test]
fn thirty_gzip_layers_of_16_mib_cost_the_budget_not_the_depth() {
    // Each layer inflates to just under 16 MiB: the next gzip_packed, then zeros. Held
    // layer upon layer (the old receive path), 30 of them took 480 MiB and more.
    let mut body = object(0x77, 1);
    for _ in 0..30 {
        body.resize((16 << 20) - 4096, 0);
        body = gzip_packed(&body);
    }
    assert!(body.len() < 1 << 20, "{} bytes on the wire", body.len());
    let mut c = client();
    let mut s = Server::new();
    let packet = s.send(T0, &body);
    let (ev, grew) = counting::peak_growth(|| recv(&mut c, packet, T0));
    assert_eq!(dropped(&ev), vec!["GZIP"]);
    let budget = c.options().max_gzip_len;
    assert!(
        grew <= budget + (1 << 20),
        "receiving grew the heap by {grew} bytes (budget {budget})"
    );
}

//! The server side with `server_checks`: packets from a hand-made client (every
//! header field under the test's control), and a real client session recovering
//! from what the server refuses.

use super::*;
use crate::mtp::events::{DropReason, Event};
use crate::mtp::msg_id::msg_id_at;
use crate::mtp::salts::FutureSalt;
use crate::mtp::service::{self, ctor, Service};
use crate::mtp::wire::{put_u32, put_u64};

const SALT: u64 = 0x5a17_5a17;

fn server() -> Session {
    let mut o = Options::server();
    o.server_checks = true;
    o.salt = SALT;
    Session::new(key(), o)
}

/// A client packet with every header field given.
fn from_client(salt: u64, msg_id: u64, seqno: u32, body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    put_u64(&mut plain, salt);
    put_u64(&mut plain, SID);
    put_u64(&mut plain, msg_id);
    put_u32(&mut plain, seqno);
    put_u32(&mut plain, body.len() as u32);
    plain.extend_from_slice(body);
    envelope::encrypt(&key(), Sender::Client, &plain, &mut rng())
}

fn container(items: &[(u64, u32, Vec<u8>)]) -> Vec<u8> {
    let mut c = Vec::new();
    put_u32(&mut c, ctor::MSG_CONTAINER);
    put_u32(&mut c, items.len() as u32);
    for (id, seqno, body) in items {
        put_u64(&mut c, *id);
        put_u32(&mut c, *seqno);
        put_u32(&mut c, body.len() as u32);
        c.extend_from_slice(body);
    }
    c
}

/// Everything the server sends, decrypted and unpacked (as the client would see it).
fn server_out(s: &mut Session, now: i64) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for p in send(s, now).packets {
        let plain = envelope::decrypt(&key(), Sender::Server, &p).unwrap();
        assert_eq!(u64::from_le_bytes(plain[8..16].try_into().unwrap()), SID);
        let id = u64::from_le_bytes(plain[16..24].try_into().unwrap());
        let body = plain[32..].to_vec();
        match service::parse(&body).unwrap() {
            Service::Container(items) => {
                out.extend(items.iter().map(|i| (i.msg_id, i.body.to_vec())));
            }
            _ => out.push((id, body)),
        }
    }
    out
}

fn notices(out: &[(u64, Vec<u8>)]) -> Vec<(u64, i32, Option<u64>)> {
    out.iter()
        .filter_map(|(_, b)| match service::parse(b) {
            Ok(Service::BadMsg {
                bad_msg_id,
                error_code,
                new_server_salt,
                ..
            }) => Some((bad_msg_id, error_code, new_server_salt)),
            _ => None,
        })
        .collect()
}

fn rejected(ev: &[Event]) -> Vec<(u64, i32)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Rejected { msg_id, error_code } => Some((*msg_id, *error_code)),
            _ => None,
        })
        .collect()
}

fn delivered(ev: &[Event]) -> usize {
    ev.iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .count()
}

#[test]
fn a_new_session_is_announced_once_before_the_answers() {
    let mut s = server();
    let id = msg_id_at(T0);
    let ev = recv(&mut s, from_client(SALT, id, 1, &object(7, 1)), T0);
    assert!(
        matches!(ev[0], Event::SessionCreated { first_msg_id, server_salt: SALT, .. } if first_msg_id == id)
    );
    assert_eq!(delivered(&ev), 1);
    assert_eq!(s.session_id(), SID, "the client's session_id is adopted");
    let ev = recv(&mut s, from_client(SALT, id + 4, 3, &object(7, 2)), T0);
    assert_eq!(delivered(&ev), 1);
    assert!(!ev.iter().any(|e| matches!(e, Event::SessionCreated { .. })));
    let out = server_out(&mut s, T0);
    let created: Vec<_> = out
        .iter()
        .filter_map(|(sid, b)| match service::parse(b) {
            Ok(Service::NewSessionCreated {
                first_msg_id,
                server_salt,
                ..
            }) => Some((*sid, first_msg_id, server_salt)),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].1, created[0].2), (id, SALT));
    assert_eq!(created[0].0 % 4, 3, "not a response: 3 mod 4");
    // Both content messages are acknowledged.
    let acked: Vec<u64> = out
        .iter()
        .filter_map(|(_, b)| match service::parse(b) {
            Ok(Service::MsgsAck(ids)) => Some(ids),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(acked, vec![id, id + 4]);
}

#[test]
fn a_wrong_salt_gets_bad_server_salt_and_nothing_else_happens() {
    let mut s = server();
    let id = msg_id_at(T0);
    let ev = recv(&mut s, from_client(0xbad, id, 1, &object(7, 1)), T0);
    assert_eq!(rejected(&ev), vec![(id, 48)]);
    assert_eq!(delivered(&ev), 0);
    let out = server_out(&mut s, T0);
    assert_eq!(notices(&out), vec![(id, 48, Some(SALT))]);
    assert_eq!(
        out.len(),
        1,
        "no ack, no new_session_created for a refused message"
    );
    // Re-sent with the right salt under a new id: accepted.
    let ev = recv(&mut s, from_client(SALT, id + 4, 3, &object(7, 1)), T0 + 1);
    assert!(rejected(&ev).is_empty());
    assert_eq!(delivered(&ev), 1);
    // Future salts are accepted inside their windows only.
    let now_s = T0 / 1000;
    s.set_future_salts(
        vec![
            FutureSalt {
                valid_since: (now_s - 10) as i32,
                valid_until: (now_s + 1800) as i32,
                salt: 11,
            },
            FutureSalt {
                valid_since: (now_s + 1800) as i32,
                valid_until: (now_s + 3600) as i32,
                salt: 12,
            },
        ],
        T0,
    );
    let ev = recv(&mut s, from_client(11, id + 8, 5, &object(7, 1)), T0 + 2);
    assert_eq!(delivered(&ev), 1);
    let ev = recv(&mut s, from_client(12, id + 12, 7, &object(7, 1)), T0 + 3);
    assert_eq!(rejected(&ev), vec![(id + 12, 48)]);
    let out = server_out(&mut s, T0 + 3);
    assert!(notices(&out).contains(&(id + 12, 48, Some(11))));
}

#[test]
fn msg_id_checks_answer_16_17_18_19_20() {
    let mut s = server();
    let cases = [
        (msg_id_at(T0 - 301_000), 16),
        (msg_id_at(T0 + 31_000), 17),
        (msg_id_at(T0) | 2, 18),
    ];
    for (id, code) in cases {
        let ev = recv(&mut s, from_client(SALT, id, 1, &object(7, 1)), T0);
        assert_eq!(rejected(&ev), vec![(id, code)], "code {code}");
        assert_eq!(delivered(&ev), 0);
    }
    // Inside the window on both sides: fine (the server's clock may be skewed too).
    s.set_time_offset_ms(-200_000);
    let id = msg_id_at(T0 - 250_000);
    let ev = recv(&mut s, from_client(SALT, id, 1, &object(7, 1)), T0);
    assert_eq!(delivered(&ev), 1);
    // The same id again is dropped and acknowledged again, not executed twice.
    let ev = recv(&mut s, from_client(SALT, id, 1, &object(7, 1)), T0);
    assert_eq!(delivered(&ev), 0);
    assert!(rejected(&ev).is_empty());
    // A container reusing a received id: 19.
    let c = container(&[(id - 4, 1, object(7, 3))]);
    let ev = recv(&mut s, from_client(SALT, id, 2, &c), T0);
    assert_eq!(rejected(&ev), vec![(id, 19)]);
    // Many more ids than N = 256 within the window: the first is still known (a
    // duplicate, not 20), so msgs_state_info can still say "received" about it.
    let mut next = id + 4;
    let mut seqno = 3;
    for _ in 0..4 * crate::mtp::received::WINDOW {
        recv(&mut s, from_client(SALT, next, seqno, &object(7, 1)), T0);
        next += 4;
        seqno += 2;
    }
    let ev = recv(&mut s, from_client(SALT, id, 1, &object(7, 1)), T0);
    assert!(rejected(&ev).is_empty());
    assert_eq!(delivered(&ev), 0);
    // The server forgets ids 300 s older than the newest; below them: 20. (Only ids
    // in the last 30 s of its past window can be that old: the rest get 16.)
    let mut s = server();
    s.set_time_offset_ms(-200_000);
    let old = msg_id_at(T0 - 490_000);
    assert_eq!(
        delivered(&recv(&mut s, from_client(SALT, old, 1, &object(7, 1)), T0)),
        1
    );
    let mut next = msg_id_at(T0 - 175_000);
    let mut seqno = 3;
    for _ in 0..crate::mtp::received::WINDOW {
        recv(&mut s, from_client(SALT, next, seqno, &object(7, 1)), T0);
        next += 4;
        seqno += 2;
    }
    let below = old - 4;
    let ev = recv(&mut s, from_client(SALT, below, 1, &object(7, 1)), T0);
    assert_eq!(rejected(&ev), vec![(below, 20)]);
}

#[test]
fn seqno_checks_answer_32_33_34_35() {
    let mut s = server();
    let id = msg_id_at(T0);
    recv(&mut s, from_client(SALT, id + 40, 11, &object(7, 1)), T0);
    let cases: [(u64, u32, Vec<u8>, i32); 4] = [
        (id + 80, 10, service::msgs_ack(&[1]), 32),
        (id, 13, object(7, 1), 33),
        (id + 44, 13, service::msgs_ack(&[1]), 34),
        (id + 48, 12, object(7, 1), 35),
    ];
    for (mid, seqno, body, code) in cases {
        let ev = recv(&mut s, from_client(SALT, mid, seqno, &body), T0);
        assert_eq!(rejected(&ev), vec![(mid, code)], "code {code}");
        assert_eq!(delivered(&ev), 0);
    }
    // Equal even seqnos are fine (acks between content messages).
    for (mid, seqno) in [(id + 52, 12), (id + 56, 12)] {
        let ev = recv(
            &mut s,
            from_client(SALT, mid, seqno, &service::msgs_ack(&[1])),
            T0,
        );
        assert!(rejected(&ev).is_empty());
    }
    let out = server_out(&mut s, T0);
    let codes: Vec<i32> = notices(&out).iter().map(|n| n.1).collect();
    assert_eq!(codes, vec![32, 33, 34, 35]);
}

#[test]
fn containers_are_checked_and_their_messages_one_by_one() {
    let mut s = server();
    let id = msg_id_at(T0);
    // An inner id above the container's: 64, nothing inside runs.
    let bad = container(&[(id + 8, 1, object(7, 1))]);
    let ev = recv(&mut s, from_client(SALT, id + 4, 2, &bad), T0);
    assert_eq!(rejected(&ev), vec![(id + 4, 64)]);
    assert_eq!(delivered(&ev), 0);
    // A content-related seqno on a container: 34.
    let odd = container(&[(id, 1, object(7, 1))]);
    let ev = recv(&mut s, from_client(SALT, id + 4, 3, &odd), T0);
    assert_eq!(rejected(&ev), vec![(id + 4, 34)]);
    // A good container with one bad inner message: the others run.
    let mixed = container(&[
        (id + 12, 1, object(7, 1)),
        (id + 16, 2, object(7, 2)),
        (id + 20, 3, object(7, 3)),
        (id + 26, 5, object(7, 4)),
    ]);
    let ev = recv(&mut s, from_client(SALT, id + 28, 6, &mixed), T0);
    assert_eq!(rejected(&ev), vec![(id + 16, 35), (id + 26, 18)]);
    assert_eq!(delivered(&ev), 2);
    assert!(matches!(ev[0], Event::SessionCreated { first_msg_id, .. } if first_msg_id == id + 12));
}

#[test]
fn a_client_session_recovers_from_every_refusal() {
    // A real client whose salt and clock are wrong, talking to the strict server.
    let mut c = client();
    c.set_time_offset_ms(-400_000);
    let mut s = server();
    let req = c.enqueue(object(0x77, 1), true, T0).unwrap();
    let mut answered = false;
    for round in 0..6 {
        let now = T0 + round * 10;
        for p in send(&mut c, now).packets {
            for e in recv(&mut s, p, now) {
                if let Event::Message { msg_id, body, .. } = e {
                    if body == object(0x77, 1) {
                        s.enqueue(rpc_result(msg_id, &object(0x78, 0)), true, now)
                            .unwrap();
                    }
                }
            }
        }
        for p in send(&mut s, now).packets {
            for e in recv(&mut c, p, now) {
                if let Event::RpcResult { body, .. } = e {
                    assert_eq!(body, object(0x78, 0));
                    answered = true;
                }
            }
        }
        if answered {
            break;
        }
    }
    assert!(answered, "answered after 16 and 48");
    assert_eq!(c.salt(), SALT);
    assert!(c.time_offset_ms().abs() < 1000);
    assert!(c.in_flight().iter().all(|(id, _)| *id != req));
}

#[test]
fn arbitrary_client_messages_never_panic_the_server() {
    // Deterministic pseudo-random headers and bodies (including containers built from
    // random items), sealed correctly so every check and parser sees them.
    let mut r = Rng(0x5eed);
    let mut s = server();
    let base = msg_id_at(T0);
    for i in 0..3000u64 {
        let mut word = [0u8; 16];
        r.fill(&mut word);
        let pick = u64::from_le_bytes(word[..8].try_into().unwrap());
        let msg_id = match pick % 4 {
            0 => base + 4 * i,
            1 => base + (pick >> 8) % 4096,
            2 => msg_id_at(T0 + ((pick >> 16) % 900_000) as i64 - 450_000),
            _ => pick,
        };
        let seqno = u32::from_le_bytes(word[8..12].try_into().unwrap()) % 64;
        let salt = if word[12] % 5 == 0 { 0xbad } else { SALT };
        let mut body = vec![0u8; 4 * (1 + usize::from(word[13]) % 24)];
        r.fill(&mut body);
        if word[14] % 3 == 0 {
            body[..4].copy_from_slice(&ctor::MSG_CONTAINER.to_le_bytes());
        } else if word[14] % 3 == 1 {
            let inner = [(msg_id.wrapping_sub(4), seqno, body.clone())];
            body = container(&inner);
        }
        let _ = recv(&mut s, from_client(salt, msg_id, seqno, &body), T0);
        if i % 50 == 0 {
            let _ = send(&mut s, T0);
        }
    }
    // Still serving: a fresh, well-formed message is delivered.
    let id = msg_id_at(T0 + 1000) + 4 * 5000;
    let ev = recv(
        &mut s,
        from_client(SALT, id, 100_001, &object(7, 1)),
        T0 + 1000,
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Message { .. }) || matches!(e, Event::Rejected { .. })));
}

#[test]
fn a_client_cannot_exhaust_the_server_side_with_nesting() {
    // Issue #12: 30,000 msg_copy from a client killed TestDc (the same receive path).
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let mut s = server();
            let levels = 100_000usize;
            let inner = object(7, 1);
            let first = msg_id_at(T0) - 4 * levels as u64 - 4;
            let mut body = Vec::with_capacity(levels * 20 + inner.len());
            for i in 0..levels {
                put_u32(&mut body, ctor::MSG_COPY);
                put_u64(&mut body, first + 4 * i as u64);
                put_u32(&mut body, 1);
                put_u32(&mut body, ((levels - i - 1) * 20 + inner.len()) as u32);
            }
            body.extend_from_slice(&inner);
            let ev = recv(&mut s, from_client(SALT, msg_id_at(T0), 1, &body), T0);
            assert!(
                ev.iter()
                    .any(|e| matches!(e, Event::Dropped(DropReason::TooDeep { .. }))),
                "{ev:?}"
            );
            assert_eq!(delivered(&ev), 0);
            // gzip_packed layers from a client share one budget as well.
            let mut bomb = object(8, 1);
            for _ in 0..10 {
                bomb.resize((16 << 20) - 4096, 0);
                bomb = crate::mtp::gzip::gzip_packed(&bomb);
            }
            let ev = recv(&mut s, from_client(SALT, msg_id_at(T0) + 4, 3, &bomb), T0);
            assert!(
                ev.iter()
                    .any(|e| matches!(e, Event::Dropped(DropReason::Gzip { .. }))),
                "{ev:?}"
            );
            // Still serving.
            let ev = recv(
                &mut s,
                from_client(SALT, msg_id_at(T0) + 8, 5, &object(9, 1)),
                T0,
            );
            assert_eq!(delivered(&ev), 1, "{ev:?}");
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}

#[test]
fn seqno_of_names_a_message_while_queued_and_unacknowledged_then_none() {
    let mut s = server();
    let first = s.enqueue(object(0x78, 1), true, T0).unwrap();
    let ack_only = s.enqueue(object(0x79, 2), false, T0).unwrap();
    let second = s.enqueue(object(0x7a, 3), true, T0).unwrap();
    // Content-related messages take odd seqnos in order; the other one the even seqno between.
    assert_eq!(s.seqno_of(first), Some(1));
    assert_eq!(s.seqno_of(ack_only), Some(2));
    assert_eq!(s.seqno_of(second), Some(3));
    send(&mut s, T0);
    // Sent and not acknowledged: still known, same seqnos.
    assert_eq!(s.seqno_of(first), Some(1));
    assert_eq!(s.seqno_of(second), Some(3));
    assert!(s.cancel(first));
    assert_eq!(s.seqno_of(first), None);
    assert_eq!(s.seqno_of(second), Some(3));
    assert_eq!(s.seqno_of(0x1234), None);
}

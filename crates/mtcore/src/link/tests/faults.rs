//! Transport error codes, garbage and corruption, broken links and reconnects.

use std::collections::HashMap;

use super::*;

/// A client that has sent one request, and the server that read it (so the
/// server's codec knows the transport and can frame).
fn connected(config: &ClientConfig, rng: &mut TestRng) -> (Link, Link) {
    let mut client = client_link(config, rng);
    let mut server = server_link(config);
    let t = client
        .transmit(T0, vec![request(1)], &mut rng.source())
        .unwrap();
    let events = deliver(&mut server, t.frames.bytes(), T0, rng);
    assert_eq!(serve(&mut server, events, T0), vec![1]);
    (client, server)
}

#[test]
fn transport_error_codes_become_typed_events() {
    let mut rng = TestRng(21);
    for config in configs() {
        let (mut client, mut server) = connected(&config, &mut rng);
        let mut wire = Vec::new();
        for code in [-404i32, -429, -444, -1] {
            let frame = server
                .codec
                .as_mut()
                .unwrap()
                .encode(&code.to_le_bytes(), false, &mut rng.source())
                .unwrap();
            wire.extend_from_slice(&frame);
        }
        // An answer after them still arrives: a code is not a broken stream.
        let t = server.transmit(T0, vec![], &mut rng.source()).unwrap();
        wire.extend_from_slice(t.frames.bytes());
        let events = deliver(&mut client, &wire, T0, &mut rng);
        assert_eq!(
            events[..4],
            [
                LinkEvent::TransportError(TransportCode::AuthKeyNotFound),
                LinkEvent::TransportError(TransportCode::Flood),
                LinkEvent::TransportError(TransportCode::InvalidDc),
                LinkEvent::TransportError(TransportCode::Other(-1)),
            ],
            "{config:?}"
        );
        assert!(
            matches!(&events[4], LinkEvent::Session(Event::RpcResult { body, .. }) if tag_of(body) == 1),
            "{config:?}: {:?}",
            &events[4..]
        );
        assert_eq!(client.broken(), None);
    }
    for code in [-404, -429, -444, -7] {
        assert_eq!(TransportCode::from_code(code).code(), code);
    }
}

#[test]
fn quick_ack_answers_become_events() {
    let mut rng = TestRng(23);
    for config in configs() {
        if config.kind == Kind::Full {
            continue;
        }
        let (mut client, mut server) = connected(&config, &mut rng);
        let answer = server
            .codec
            .as_mut()
            .unwrap()
            .quick_ack_answer(0x1234_5678)
            .unwrap();
        let events = deliver(&mut client, &answer, T0, &mut rng);
        assert_eq!(
            events,
            [LinkEvent::QuickAck { token: 0x9234_5678 }],
            "{config:?}"
        );
    }
}

/// Garbage after a valid start: only typed events come out, never a panic, and
/// once the stream is declared broken it stays so until `reset_transport`.
#[test]
fn garbage_gives_a_fatal_event_never_a_panic() {
    let mut rng = TestRng(0x6a7b);
    let mut fatal = 0;
    for round in 0..60 {
        for config in configs() {
            let (mut client, mut server) = connected(&config, &mut rng);
            let len = rng.below(if round % 10 == 0 { 40_000 } else { 700 });
            let garbage = rng.bytes(len);
            for (link, name) in [(&mut client, "client"), (&mut server, "server")] {
                let events = deliver(link, &garbage, T0, &mut rng);
                for e in &events {
                    match e {
                        LinkEvent::Session(Event::Dropped(_))
                        | LinkEvent::QuickAck { .. }
                        | LinkEvent::TransportError(_) => {}
                        LinkEvent::Fatal(err) => {
                            assert!(!err.to_string().is_empty());
                        }
                        other => panic!("{config:?} {name}: garbage gave {other:?}"),
                    }
                }
                let queued = link.session().queued_len();
                let Some(LinkEvent::Fatal(err)) = events.last().cloned() else {
                    assert_eq!(link.broken(), None);
                    continue;
                };
                fatal += 1;
                assert_eq!(link.broken(), Some(err));
                let again = link.receive(&[1, 2, 3], T0, &mut rng.source());
                assert_eq!(again.events, [LinkEvent::Fatal(err)]);
                assert_eq!(
                    link.transmit(T0, vec![request(2)], &mut rng.source())
                        .unwrap_err(),
                    LinkError::Broken(err)
                );
                assert_eq!(link.session().queued_len(), queued);
            }
        }
    }
    assert!(
        fatal > 100,
        "garbage should mostly break the stream ({fatal})"
    );
}

/// One byte of an answer flipped: the session drops it (msg_key), or the
/// transport breaks (length, CRC). Never a wrong answer.
#[test]
fn a_flipped_byte_never_gives_a_wrong_answer() {
    let mut rng = TestRng(0xf11b);
    for config in configs() {
        for _ in 0..40 {
            let (mut client, mut server) = connected(&config, &mut rng);
            let t = server.transmit(T0, vec![], &mut rng.source()).unwrap();
            let mut wire = t.frames.bytes().to_vec();
            let at = rng.below(wire.len());
            wire[at] ^= 1 << rng.below(8);
            for e in deliver(&mut client, &wire, T0, &mut rng) {
                match e {
                    LinkEvent::Session(Event::Dropped(_)) | LinkEvent::Fatal(_) => {}
                    // Padding of the padded transport is not authenticated.
                    LinkEvent::Session(Event::RpcResult { body, .. })
                        if config.kind == Kind::PaddedIntermediate =>
                    {
                        assert_eq!(tag_of(&body), 1)
                    }
                    other => panic!("{config:?}: flipped byte {at} gave {other:?}"),
                }
            }
        }
    }
}

/// The connection drops with requests on the wire: the client reconnects with a
/// new codec, asks the server about what is in flight, and re-sends only what the
/// server did not get. Every request runs once and is answered once.
#[test]
fn reconnect_keeps_the_session_and_resends_only_what_was_lost() {
    let mut rng = TestRng(0x2ec0);
    for config in configs() {
        let (mut client, mut server) = connected(&config, &mut rng);
        let session_id = client.session().session_id();
        let mut now = T0 + 100;
        // Request 1 was read, but its answer is lost with the connection; so are
        // requests 2 and 3 on their way out.
        let answer_lost = server.transmit(now, vec![], &mut rng.source()).unwrap();
        assert!(!answer_lost.frames.is_empty());
        let lost = client
            .transmit(now, vec![request(2), request(3)], &mut rng.source())
            .unwrap();
        assert_eq!(lost.msg_ids.len(), 2);
        let in_flight = client.session().in_flight().len();
        assert_eq!(in_flight, 3);

        // Reconnect: new codecs on both ends, same sessions.
        now += 1_000;
        let fresh = Codec::client(&config, &mut rng.source()).unwrap();
        client.reset_transport(fresh);
        server.reset_transport(Codec::server(&server_config(&config)).unwrap());
        assert_eq!(client.session().session_id(), session_id);
        assert_eq!(client.session().in_flight().len(), 3);
        assert_eq!(client.session_mut().request_state(now), 3);
        server.session_mut().resend_pending();

        // Ask; the server answers the state request and re-sends its answer to 1.
        let ask = client.transmit(now, vec![], &mut rng.source()).unwrap();
        assert!(
            ask.msg_ids.is_empty(),
            "a state request is not a request of the driver"
        );
        let events = deliver(&mut server, ask.frames.bytes(), now, &mut rng);
        assert!(serve(&mut server, events, now).is_empty());
        let reply = server.transmit(now, vec![], &mut rng.source()).unwrap();
        let mut open: HashMap<u64, u32> = HashMap::new();
        let first = client.session().in_flight().into_iter().map(|(id, _)| id);
        let first: Vec<u64> = first.filter(|id| !lost.msg_ids.contains(id)).collect();
        assert_eq!(first.len(), 1);
        open.insert(first[0], 1);
        open.extend(lost.msg_ids.iter().copied().zip([2, 3]));
        let mut answered = Vec::new();
        let mut resent = 0;
        let mut track = |events: Vec<LinkEvent>, open: &mut HashMap<u64, u32>| {
            for e in session_events(events) {
                match e {
                    Event::Resent {
                        old_msg_id,
                        new_msg_id,
                    } => {
                        let tag = open.remove(&old_msg_id).unwrap();
                        assert_ne!(tag, 1, "the server had request 1");
                        open.insert(new_msg_id, tag);
                        resent += 1;
                    }
                    Event::RpcResult { req_msg_id, body } => {
                        let tag = open.remove(&req_msg_id).expect("answered once");
                        assert_eq!(tag_of(&body), tag);
                        answered.push(tag);
                    }
                    Event::StateInfo { .. } | Event::Acked { .. } => {}
                    other => panic!("{config:?}: unexpected {other:?}"),
                }
            }
        };
        track(
            deliver(&mut client, reply.frames.bytes(), now, &mut rng),
            &mut open,
        );

        // Only 2 and 3 go again, under new ids, and the server runs them once.
        let again = client.transmit(now, vec![], &mut rng.source()).unwrap();
        // Re-sends are named by `Resent` events; msg_ids lists only this call's bodies.
        assert!(again.msg_ids.is_empty(), "{config:?}");
        let events = deliver(&mut server, again.frames.bytes(), now, &mut rng);
        assert_eq!(serve(&mut server, events, now), vec![2, 3], "{config:?}");
        let t = server.transmit(now, vec![], &mut rng.source()).unwrap();
        track(
            deliver(&mut client, t.frames.bytes(), now, &mut rng),
            &mut open,
        );
        answered.sort_unstable();
        assert_eq!(answered, [1, 2, 3], "{config:?}");
        assert_eq!(resent, 2, "{config:?}");
        assert!(open.is_empty());
        assert_eq!(client.session().session_id(), session_id);
        assert_eq!(server.session().session_id(), session_id);
    }
}

#[test]
fn a_broken_link_recovers_after_reset_transport() {
    let mut rng = TestRng(0xb20c);
    for config in configs() {
        let (mut client, mut server) = connected(&config, &mut rng);
        // A length past every limit (obfuscated: whatever these decrypt to).
        let garbage = [0x7f, 0xff, 0xff, 0x7f].repeat(16);
        let events = client.receive(&garbage, T0, &mut rng.source()).events;
        if config.obfuscated {
            client.reset_transport(Codec::client(&config, &mut rng.source()).unwrap());
        } else {
            assert!(
                matches!(
                    events[..],
                    [LinkEvent::Fatal(TransportError::FrameTooLong { .. })]
                ),
                "{config:?}: {events:?}"
            );
            assert!(client.broken().is_some());
            let old = client.reset_transport(Codec::client(&config, &mut rng.source()).unwrap());
            assert!(old.unwrap().buffered() <= garbage.len());
        }
        assert_eq!(client.broken(), None);
        server.reset_transport(Codec::server(&server_config(&config)).unwrap());
        let t = client
            .transmit(T0, vec![request(5)], &mut rng.source())
            .unwrap();
        let events = deliver(&mut server, t.frames.bytes(), T0, &mut rng);
        assert_eq!(serve(&mut server, events, T0), vec![5], "{config:?}");
        // Request 1 (unanswered) and request 5 are in flight.
        assert_eq!(client.session().in_flight().len(), 2);
    }
}

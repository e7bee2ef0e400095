//! What one `receive` may hand out (`MAX_EVENTS`), and the link without a
//! transport (whole packets in and out).

use super::*;
use crate::crypto::envelope::{self, Sender};
use crate::mtp::msg_id::msg_id_at;

/// A server packet carrying `count` content messages (tags 0..count) in one
/// msg_container, as no honest server sends: sealed by hand.
fn container_packet(count: u32, session_id: u64, rng: &mut TestRng) -> Vec<u8> {
    // A second before T0: older than the ids the server link stamps at T0.
    let first = msg_id_at(T0 - 1_000) | 1;
    let mut body = Vec::new();
    put_u32(&mut body, ctor::MSG_CONTAINER);
    put_u32(&mut body, count);
    for tag in 0..count {
        put_u64(&mut body, first + 4 * u64::from(tag));
        put_u32(&mut body, 1);
        put_u32(&mut body, 8);
        put_u32(&mut body, 0x1122_3344);
        put_u32(&mut body, tag);
    }
    let mut plain = Vec::new();
    put_u64(&mut plain, SALT);
    put_u64(&mut plain, session_id);
    put_u64(&mut plain, first + 4 * u64::from(count));
    put_u32(&mut plain, 2);
    put_u32(&mut plain, body.len() as u32);
    plain.extend_from_slice(&body);
    envelope::encrypt(&key(), Sender::Server, &plain, &mut rng.source())
}

/// Tags of the content messages among `events`; panics on anything else but acks.
fn tags(events: &[LinkEvent]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Session(Event::Message { body, .. }) => Some(tag_of(body)),
            LinkEvent::Session(Event::Acked { .. }) => None,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn a_packet_of_many_messages_comes_out_in_bounded_calls() {
    let mut rng = TestRng(41);
    for config in [
        ClientConfig::new(Kind::Intermediate),
        ClientConfig::obfuscated(Kind::PaddedIntermediate),
    ] {
        let mut client = client_link(&config, &mut rng);
        let mut server = server_link(&config);
        let t = client
            .transmit(T0, vec![request(1)], &mut rng.source())
            .unwrap();
        let sent = t.msg_ids[0];
        let events = deliver(&mut server, t.frames.bytes(), T0, &mut rng);
        assert_eq!(serve(&mut server, events, T0), vec![1]);
        // One packet of 2,500 messages, then the answer in a frame of its own,
        // both in one chunk.
        let n = 2 * MAX_EVENTS as u32 + 452;
        let packet = container_packet(n, client.session().session_id(), &mut rng);
        let codec = server.codec.as_mut().unwrap();
        let mut wire = codec.encode(&packet, false, &mut rng.source()).unwrap();
        let answer = server.transmit(T0, vec![], &mut rng.source()).unwrap();
        wire.extend_from_slice(answer.frames.bytes());

        let first = client.receive(&wire, T0, &mut rng.source());
        assert_eq!(first.events.len(), MAX_EVENTS, "{config:?}");
        assert_eq!(client.waiting(), n as usize - MAX_EVENTS);
        assert!(
            client.codec().unwrap().buffered() >= answer.frames.len(),
            "the frame after that packet waits undecoded"
        );
        let second = client.receive(&[], T0, &mut rng.source());
        assert_eq!(second.events.len(), MAX_EVENTS);
        assert_eq!(client.waiting(), n as usize - 2 * MAX_EVENTS);
        let third = client.receive(&[], T0, &mut rng.source());
        assert_eq!(client.waiting(), 0);
        assert_eq!(client.codec().unwrap().buffered(), 0);
        let mut all = first.events;
        all.extend(second.events);
        let answered = third.events.last().cloned();
        all.extend(third.events);
        assert_eq!(tags(&all[..n as usize]), (0..n).collect::<Vec<_>>());
        assert!(
            matches!(
                answered,
                Some(LinkEvent::Session(Event::RpcResult { req_msg_id, .. })) if req_msg_id == sent
            ),
            "the answer after the big packet comes last: {answered:?}"
        );
        assert!(client.receive(&[], T0, &mut rng.source()).events.is_empty());
    }
}

#[test]
fn a_broken_stream_is_reported_after_the_events_before_it() {
    let mut rng = TestRng(43);
    let config = ClientConfig::new(Kind::Intermediate);
    let mut client = client_link(&config, &mut rng);
    let mut server = server_link(&config);
    let t = client
        .transmit(T0, vec![request(1)], &mut rng.source())
        .unwrap();
    deliver(&mut server, t.frames.bytes(), T0, &mut rng);
    let n = MAX_EVENTS as u32 + 10;
    let packet = container_packet(n, client.session().session_id(), &mut rng);
    let codec = server.codec.as_mut().unwrap();
    let mut wire = codec.encode(&packet, false, &mut rng.source()).unwrap();
    // A length no frame may have.
    wire.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(
        client.receive(&wire, T0, &mut rng.source()).events.len(),
        MAX_EVENTS
    );
    let rest = client.receive(&[], T0, &mut rng.source()).events;
    assert_eq!(rest.len(), 11);
    assert!(matches!(rest[10], LinkEvent::Fatal(_)), "{:?}", rest[10]);
    // Broken: every later call says so again, and only that.
    let again = client.receive(&[], T0, &mut rng.source()).events;
    assert!(matches!(again[..], [LinkEvent::Fatal(_)]), "{again:?}");
}

fn packet_link(server: bool, headroom: usize) -> Link {
    let mut o = if server {
        Options::server()
    } else {
        let mut o = Options::client();
        o.session_id = 0x5e55_0000_0000_0002;
        o.time_offset_ms = Some(0);
        o.auto_future_salts = false;
        o
    };
    o.salt = SALT;
    o.headroom = headroom;
    Link::without_transport(key(), o)
}

#[test]
fn without_a_transport_packets_go_out_and_in_whole() {
    let mut rng = TestRng(45);
    let mut client = packet_link(false, 4);
    let mut server = packet_link(true, 0);
    assert!(client.codec().is_none());
    let queued = client.session_mut().enqueue(request(1), true, T0).unwrap();
    let t = client
        .transmit(T0, vec![request(2), request(3)], &mut rng.source())
        .unwrap();
    assert!(t.frames.is_empty());
    assert_eq!(t.packets.len(), 1, "one container");
    assert_eq!(t.msg_ids.len(), 2, "the ids of this call's bodies");
    assert_eq!(t.carried[0], queued);
    assert_eq!(t.carried[1..], t.msg_ids[..]);
    let mut packet = t.packets[0].clone();
    assert_eq!(packet[..4], [0; 4], "the headroom is left free");
    let got = server.receive_in_place(&mut packet[4..], T0, &mut rng.source());
    assert_eq!(serve(&mut server, got.events, T0), vec![1, 2, 3]);
    let back = server.transmit(T0, vec![], &mut rng.source()).unwrap();
    assert_eq!(back.packets.len(), 1);
    // `receive` copies; `receive_in_place` decrypts where the packet lies.
    let events = client
        .receive(&back.packets[0], T0, &mut rng.source())
        .events;
    let answered: Vec<u64> = session_events(events)
        .into_iter()
        .filter_map(|e| match e {
            Event::RpcResult { req_msg_id, .. } => Some(req_msg_id),
            _ => None,
        })
        .collect();
    assert_eq!(answered, t.carried);
    assert!(client.session().in_flight().is_empty());
    // An empty packet is no packet: nothing waits, nothing happens.
    assert!(client.receive(&[], T0, &mut rng.source()).events.is_empty());
}

#[test]
fn without_a_transport_a_packet_of_many_messages_comes_out_in_bounded_calls() {
    let mut rng = TestRng(47);
    let mut client = packet_link(false, 0);
    let n = MAX_EVENTS as u32 + 300;
    let mut packet = container_packet(n, client.session().session_id(), &mut rng);
    let first = client.receive_in_place(&mut packet, T0, &mut rng.source());
    assert_eq!(first.events.len(), MAX_EVENTS);
    assert_eq!(client.waiting(), 300);
    let rest = client.receive_in_place(&mut [], T0, &mut rng.source());
    assert_eq!(client.waiting(), 0);
    let mut all = first.events;
    all.extend(rest.events);
    assert_eq!(tags(&all), (0..n).collect::<Vec<_>>());
}

#[test]
fn what_waited_is_freed_once_handed_out() {
    let mut rng = TestRng(49);
    let mut client = packet_link(false, 0);
    let mut packet = container_packet(
        3 * MAX_EVENTS as u32,
        client.session().session_id(),
        &mut rng,
    );
    client.receive_in_place(&mut packet, T0, &mut rng.source());
    assert!(client.waiting.capacity() >= 2 * MAX_EVENTS);
    while client.waiting() > 0 {
        client.receive(&[], T0, &mut rng.source());
    }
    assert_eq!(
        client.waiting.capacity(),
        0,
        "no big queue kept after the burst"
    );
}

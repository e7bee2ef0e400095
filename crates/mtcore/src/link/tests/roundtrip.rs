//! Normal traffic: requests and answers, containers, several packets per
//! transmit, frames that a plain codec and the bare envelope read back.

use std::collections::HashMap;

use super::*;
use crate::crypto::envelope::{self, Sender};
use crate::mtp::service::{self, Service};
use crate::transport::OwnedFrame;

/// Whole packets in `bytes`, read by a fresh codec of the server's kind.
fn packets_of(config: &ClientConfig, bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut codec = Codec::server(&server_config(config)).unwrap();
    codec
        .decode(bytes)
        .unwrap()
        .into_iter()
        .map(|f| match f {
            OwnedFrame::Packet { data, .. } => data,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// The plaintext of a client packet (the padded transport's padding trimmed).
fn open(packet: &[u8]) -> Vec<u8> {
    let len = packet.len() - (packet.len() - 24) % 16;
    envelope::decrypt(&key(), Sender::Client, &packet[..len]).expect("a client packet")
}

#[test]
fn requests_and_answers_round_trip_through_arbitrary_chunks() {
    for (n, config) in configs().iter().enumerate() {
        let mut rng = TestRng(0x1000 + n as u64);
        let mut client = client_link(config, &mut rng);
        let mut server = server_link(config);
        let mut now = T0;
        let mut open: HashMap<u64, u32> = HashMap::new();
        let mut next_tag = 0;
        for round in 0..40 {
            // Several transmits reach the server as one stream, cut anywhere.
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let count = if round == 0 { 1 } else { rng.below(5) };
                let tags: Vec<u32> = (0..count)
                    .map(|_| {
                        next_tag += 1;
                        next_tag
                    })
                    .collect();
                let bodies = tags.iter().map(|&t| request(t)).collect();
                let t = client.transmit(now, bodies, &mut rng.source()).unwrap();
                assert_eq!(t.msg_ids.len(), count, "{config:?}");
                open.extend(t.msg_ids.iter().copied().zip(tags.iter().copied()));
                sent.extend(tags);
                wire.extend_from_slice(t.frames.bytes());
            }
            let events = deliver(&mut server, &wire, now, &mut rng);
            assert_eq!(serve(&mut server, events, now), sent, "{config:?}");

            let t = server.transmit(now, vec![], &mut rng.source()).unwrap();
            for e in session_events(deliver(&mut client, t.frames.bytes(), now, &mut rng)) {
                match e {
                    Event::RpcResult { req_msg_id, body } => {
                        let tag = open.remove(&req_msg_id).expect("an open request");
                        assert_eq!(tag_of(&body), tag);
                    }
                    Event::Acked { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            now += 300;
        }
        assert!(open.is_empty(), "{config:?}: {} unanswered", open.len());
        // Both sides agree on the session.
        assert_eq!(client.session().session_id(), server.session().session_id());
    }
}

#[test]
fn the_first_frame_carries_the_preamble() {
    let mut rng = TestRng(7);
    for config in configs() {
        let mut client = client_link(&config, &mut rng);
        let first = client
            .transmit(T0, vec![request(1)], &mut rng.source())
            .unwrap();
        let second = client
            .transmit(T0, vec![request(2)], &mut rng.source())
            .unwrap();
        let mut both = first.frames.bytes().to_vec();
        both.extend_from_slice(second.frames.bytes());
        assert_eq!(packets_of(&config, &both).len(), 2, "{config:?}");
        let tag: &[u8] = match (config.obfuscated, config.kind) {
            (true, _) => continue,
            (false, Kind::Abridged) => &[0xef],
            (false, Kind::Intermediate) => &[0xee; 4],
            (false, Kind::PaddedIntermediate) => &[0xdd; 4],
            (false, Kind::Full) => &[],
        };
        assert!(first.frames.bytes().starts_with(tag), "{config:?}");
    }
}

#[test]
fn several_bodies_travel_in_one_container() {
    let mut rng = TestRng(11);
    for config in configs() {
        let mut client = client_link(&config, &mut rng);
        let bodies: Vec<Vec<u8>> = (1..=3).map(request).collect();
        let t = client
            .transmit(T0, bodies.clone(), &mut rng.source())
            .unwrap();
        let packets = packets_of(&config, t.frames.bytes());
        assert_eq!(packets.len(), 1, "{config:?}");
        let plain = open(&packets[0]);
        let Ok(Service::Container(items)) = service::parse(&plain[32..]) else {
            panic!("{config:?}: not a container");
        };
        let ids: Vec<u64> = items.iter().map(|i| i.msg_id).collect();
        assert_eq!(ids, t.msg_ids);
        for (item, body) in items.iter().zip(&bodies) {
            assert_eq!(item.body, &body[..]);
        }
    }
}

#[test]
fn packets_past_the_container_limit_are_framed_back_to_back() {
    let mut rng = TestRng(13);
    for config in configs() {
        let mut o = Options::client();
        o.session_id = 0x77;
        o.salt = SALT;
        o.time_offset_ms = Some(0);
        o.limits.max_messages = 2;
        let codec = Codec::client(&config, &mut rng.source()).unwrap();
        let mut client = Link::new(key(), o, codec);
        let mut server = server_link(&config);
        let bodies: Vec<Vec<u8>> = (1..=5).map(request).collect();
        let t = client.transmit(T0, bodies, &mut rng.source()).unwrap();
        assert_eq!(packets_of(&config, t.frames.bytes()).len(), 3, "{config:?}");
        let events = deliver(&mut server, t.frames.bytes(), T0, &mut rng);
        assert_eq!(serve(&mut server, events, T0), vec![1, 2, 3, 4, 5]);
    }
}

#[test]
fn bad_bodies_change_nothing() {
    let mut rng = TestRng(17);
    let config = ClientConfig::obfuscated(Kind::Intermediate);
    let mut client = client_link(&config, &mut rng);
    let err = client
        .transmit(T0, vec![request(1), vec![1, 2, 3]], &mut rng.source())
        .unwrap_err();
    assert!(matches!(err, LinkError::Body(_)), "{err:?}");
    assert_eq!(client.session().queued_len(), 0);
    let err = client
        .transmit_slices(T0, &[&request(1)[..], &[0u8; 6][..]], &mut rng.source())
        .unwrap_err();
    assert!(matches!(err, LinkError::Body(_)), "{err:?}");
    // Nothing was sent: the preamble still goes with the first real frame.
    let mut server = server_link(&config);
    let t = client
        .transmit_slices(T0, &[request(9)], &mut rng.source())
        .unwrap();
    let events = deliver(&mut server, t.frames.bytes(), T0, &mut rng);
    assert_eq!(serve(&mut server, events, T0), vec![9]);
}

#[test]
fn a_server_cannot_send_before_the_preamble() {
    let config = ClientConfig::new(Kind::Intermediate);
    let mut server = server_link(&config);
    server.session_mut().enqueue(request(1), true, T0).unwrap();
    let err = server
        .transmit(T0, vec![], &mut TestRng(1).source())
        .unwrap_err();
    assert_eq!(err, LinkError::Transport(TransportError::NotReady));
    assert_eq!(server.session().queued_len(), 1, "nothing was packed");
}

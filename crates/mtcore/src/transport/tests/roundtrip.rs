//! Client encode -> server decode and back, for every configuration, with
//! random packet sizes and random chunk splits.

use super::*;

const KINDS: [Kind; 4] = [
    Kind::Abridged,
    Kind::Intermediate,
    Kind::PaddedIntermediate,
    Kind::Full,
];

/// Every client configuration, each with the server configuration that accepts it.
fn configurations() -> Vec<(ClientConfig, ServerConfig)> {
    let secret = ProxySecret::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let dd = ProxySecret::from_hex("dd00112233445566778899aabbccddeeff").unwrap();
    let mut out = Vec::new();
    for kind in KINDS {
        out.push((ClientConfig::new(kind), ServerConfig::default()));
        // A server pinned to this one transport.
        let pinned = ServerConfig {
            kind: Some(kind),
            accept_obfuscated: kind != Kind::Full,
            ..ServerConfig::default()
        };
        out.push((ClientConfig::new(kind), pinned));
        if kind == Kind::Full {
            continue;
        }
        let obfuscated = ClientConfig {
            dc_id: Some(-2),
            ..ClientConfig::obfuscated(kind)
        };
        out.push((obfuscated, ServerConfig::default()));
        let proxied = ClientConfig {
            secret: Some(secret.clone()),
            dc_id: Some(10002),
            ..ClientConfig::new(kind)
        };
        let proxy = ServerConfig {
            secret: Some(secret.clone()),
            accept_plain: false,
            ..ServerConfig::default()
        };
        out.push((proxied, proxy));
    }
    let padded_only = ClientConfig {
        secret: Some(dd.clone()),
        ..ClientConfig::new(Kind::PaddedIntermediate)
    };
    let server = ServerConfig {
        secret: Some(dd),
        ..ServerConfig::default()
    };
    out.push((padded_only, server));
    out
}

/// A packet like MTProto's: whole words, the first word non-negative (so it
/// is never read as a transport error code).
fn packet(rng: &mut TestRng) -> Vec<u8> {
    let words = match rng.below(8) {
        0 => 1 + rng.below(4),
        1..=4 => 1 + rng.below(200),
        5 | 6 => 1 + rng.below(4000),
        _ => 1 + rng.below(40_000),
    };
    let mut p = rng.bytes(words * 4);
    p[3] &= 0x7f;
    p
}

/// What the receiver should see for `sent`: padded frames may keep up to 12
/// padding bytes after the packet.
fn check_packet(kind: Kind, sent: &[u8], got: &[u8]) {
    if kind == Kind::PaddedIntermediate {
        assert!(got.len() >= sent.len() && got.len() - sent.len() <= 12);
        assert_eq!(&got[..sent.len()], sent);
        assert_eq!(got.len() % 4, 0);
    } else {
        assert_eq!(got, sent);
    }
}

/// What one side sent, in order.
enum Sent {
    Packet(Vec<u8>, bool),
    QuickAck(u32),
    Error(i32),
}

fn check_stream(kind: Kind, sent: &[Sent], got: &[OwnedFrame]) {
    assert_eq!(sent.len(), got.len());
    for (s, g) in sent.iter().zip(got) {
        match (s, g) {
            (Sent::Packet(p, qa), OwnedFrame::Packet { data, quick_ack }) => {
                check_packet(kind, p, data);
                assert_eq!(qa, quick_ack);
            }
            (Sent::QuickAck(t), OwnedFrame::QuickAck { token }) => {
                assert_eq!(t | 0x8000_0000, *token)
            }
            (Sent::Error(c), OwnedFrame::TransportError { code }) => assert_eq!(c, code),
            _ => panic!("frame mismatch: got {g:?}"),
        }
    }
}

/// Encodes a packet with one of the three encode forms, picked at random.
fn encode_any(codec: &mut Codec, rng: &mut TestRng, p: &[u8], quick_ack: bool) -> Vec<u8> {
    let mut r = TestRng::new(rng.next_u64());
    match rng.below(3) {
        0 => codec.encode(p, quick_ack, &mut r).unwrap(),
        1 => {
            let room = codec.header_room();
            let mut buf = Vec::with_capacity(room + p.len() + codec.trailer_room());
            buf.resize(room, 0);
            buf.extend_from_slice(p);
            let cap = buf.capacity();
            let start = codec.encode_vec(&mut buf, room, quick_ack, &mut r).unwrap();
            assert_eq!(buf.capacity(), cap, "no reallocation");
            buf.split_off(start)
        }
        _ => {
            let mut buf = vec![0u8; MAX_HEADER_ROOM + p.len() + MAX_TRAILER_ROOM];
            let at = MAX_HEADER_ROOM;
            buf[at..at + p.len()].copy_from_slice(p);
            let range = codec
                .encode_in_place(&mut buf, at..at + p.len(), quick_ack, &mut r)
                .unwrap();
            buf[range].to_vec()
        }
    }
}

#[test]
fn every_configuration_both_ways() {
    let mut rng = TestRng::new(0x5eed);
    for (round, (client_config, server_config)) in configurations().into_iter().enumerate() {
        let kind = client_config.kind;
        let mut client = Codec::client(&client_config, &mut rng).unwrap();
        let mut server = Codec::server(&server_config).unwrap();
        let quick_acks = kind != Kind::Full;
        for exchange in 0..3 {
            // Client to server.
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for _ in 0..1 + rng.below(12) {
                let p = packet(&mut rng);
                let qa = quick_acks && rng.below(3) == 0;
                wire.extend(encode_any(&mut client, &mut rng, &p, qa));
                sent.push(Sent::Packet(p, qa));
            }
            let (got, err) = feed(&mut server, &mut rng, &wire);
            assert_eq!(err, None, "round {round} exchange {exchange}");
            assert_eq!(server.kind(), Some(kind));
            assert_eq!(server.is_obfuscated(), client.is_obfuscated());
            if let Some(dc) = client_config.dc_id {
                assert_eq!(server.dc_id(), Some(dc));
            }
            check_stream(kind, &sent, &got);
            assert_eq!(server.buffered(), 0);

            // Server to client, with quick-ack answers and an error code mixed in.
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for _ in 0..1 + rng.below(12) {
                match rng.below(6) {
                    0 if quick_acks => {
                        let token = rng.next_u64() as u32;
                        wire.extend(server.quick_ack_answer(token).unwrap());
                        sent.push(Sent::QuickAck(token));
                    }
                    1 => {
                        let code = -(rng.below(1000) as i32) - 1;
                        wire.extend(encode_any(
                            &mut server,
                            &mut rng,
                            &code.to_le_bytes(),
                            false,
                        ));
                        sent.push(Sent::Error(code));
                    }
                    _ => {
                        let p = packet(&mut rng);
                        wire.extend(encode_any(&mut server, &mut rng, &p, false));
                        sent.push(Sent::Packet(p, false));
                    }
                }
            }
            let (got, err) = feed(&mut client, &mut rng, &wire);
            assert_eq!(err, None, "round {round} exchange {exchange}");
            check_stream(kind, &sent, &got);
        }
    }
}

#[test]
fn preamble_taken_early_is_not_repeated() {
    let mut rng = TestRng::new(3);
    for kind in KINDS {
        let mut client = Codec::client(&ClientConfig::new(kind), &mut rng).unwrap();
        let mut wire = client.take_preamble().to_vec();
        assert!(client.take_preamble().is_empty());
        let header = client.header_len(8);
        let frame = client.encode(&[0; 8], false, &mut rng).unwrap();
        assert_eq!(&frame[header..header + 8], &[0; 8]);
        wire.extend(frame);
        let mut server = Codec::server(&ServerConfig::default()).unwrap();
        let frames = server.decode(&wire).unwrap();
        assert_eq!(frames.len(), 1, "{kind:?}");
    }
}

#[test]
fn unobfuscated_preambles_and_exact_header_len() {
    let mut rng = TestRng::new(4);
    for (kind, preamble) in [
        (Kind::Abridged, &[0xef][..]),
        (Kind::Intermediate, &[0xee; 4][..]),
        (Kind::PaddedIntermediate, &[0xdd; 4][..]),
        (Kind::Full, &[][..]),
    ] {
        let mut client = Codec::client(&ClientConfig::new(kind), &mut rng).unwrap();
        let h = client.header_len(8);
        let frame = client.encode(&[1; 8], false, &mut rng).unwrap();
        assert_eq!(&frame[..preamble.len()], preamble);
        assert_eq!(&frame[h..h + 8], &[1; 8]);
        assert!(client.header_len(8) < h || preamble.is_empty());
    }
}

#[test]
fn large_frame_in_many_small_chunks() {
    let mut rng = TestRng::new(5);
    for kind in KINDS {
        let mut client = Codec::client(&ClientConfig::new(kind), &mut rng).unwrap();
        let mut server = Codec::server(&ServerConfig::default()).unwrap();
        let p = rng.bytes(4 << 20);
        let wire = client.encode(&p, false, &mut rng).unwrap();
        let mut got = None;
        for chunk in wire.chunks(1000) {
            server.push(chunk).unwrap();
            if let Some(Frame::Packet { data, .. }) = server.next_frame().unwrap() {
                got = Some(data.to_vec());
            }
        }
        check_packet(kind, &p, &got.expect("frame decoded"));
    }
}

#[test]
fn limits_are_enforced_both_ways() {
    let mut rng = TestRng::new(6);
    for kind in KINDS {
        let config = ClientConfig {
            max_packet_len: 64,
            ..ClientConfig::new(kind)
        };
        let mut client = Codec::client(&config, &mut rng).unwrap();
        assert_eq!(
            client.encode(&[0; 68], false, &mut rng),
            Err(TransportError::FrameTooLong { len: 68, max: 64 })
        );
        let mut big = Codec::client(&ClientConfig::new(kind), &mut rng).unwrap();
        let wire = big.encode(&[0; 128], false, &mut rng).unwrap();
        let mut server = Codec::server(&ServerConfig {
            max_packet_len: 64,
            ..ServerConfig::default()
        })
        .unwrap();
        let err = server.decode(&wire).unwrap_err();
        assert!(
            matches!(err, TransportError::FrameTooLong { .. }),
            "{kind:?}"
        );
    }
}

#[test]
fn quick_ack_restrictions() {
    let mut rng = TestRng::new(7);
    let mut full = Codec::client(&ClientConfig::new(Kind::Full), &mut rng).unwrap();
    assert_eq!(
        full.encode(&[0; 8], true, &mut rng),
        Err(TransportError::QuickAckUnsupported)
    );
    let mut client = Codec::client(&ClientConfig::new(Kind::Abridged), &mut rng).unwrap();
    assert_eq!(
        client.quick_ack_answer(1),
        Err(TransportError::QuickAckUnsupported)
    );
    let mut server = Codec::server(&ServerConfig::default()).unwrap();
    assert_eq!(server.quick_ack_answer(1), Err(TransportError::NotReady));
    assert_eq!(
        server.encode(&[0; 8], false, &mut rng),
        Err(TransportError::NotReady)
    );
    server.push(&[0xef]).unwrap();
    assert_eq!(
        server.encode(&[0; 8], true, &mut rng),
        Err(TransportError::QuickAckUnsupported)
    );
    assert_eq!(
        server.quick_ack_answer(0x1234),
        Ok(vec![0x80, 0, 0x12, 0x34])
    );
}

#[test]
fn in_place_reports_missing_room() {
    let mut rng = TestRng::new(8);
    let mut client = Codec::client(&ClientConfig::new(Kind::Full), &mut rng).unwrap();
    let mut buf = [0u8; 20];
    assert_eq!(
        client.encode_in_place(&mut buf, 4..12, false, &mut rng),
        Err(TransportError::BufferTooSmall {
            needed_before: 8,
            needed_after: 4
        })
    );
    assert_eq!(
        client.encode_in_place(&mut buf, 8..20, false, &mut rng),
        Err(TransportError::BufferTooSmall {
            needed_before: 8,
            needed_after: 4
        })
    );
    // Nothing was consumed: the next frame still has seqno 0.
    let range = client
        .encode_in_place(&mut buf, 8..16, false, &mut rng)
        .unwrap();
    assert_eq!(range, 0..20);
    assert_eq!(&buf[4..8], &[0; 4]);
}

//! Garbage and mutated input: typed errors only, never a panic, never a
//! wrong packet.

use super::*;

fn decoders(rng: &mut TestRng) -> Vec<Codec> {
    let secret = ProxySecret::from_bytes(&[7; 16]).unwrap();
    let mut out = vec![
        Codec::server(&ServerConfig::default()).unwrap(),
        Codec::server(&ServerConfig {
            secret: Some(secret),
            accept_plain: false,
            ..ServerConfig::default()
        })
        .unwrap(),
    ];
    for kind in [
        Kind::Abridged,
        Kind::Intermediate,
        Kind::PaddedIntermediate,
        Kind::Full,
    ] {
        out.push(Codec::client(&ClientConfig::new(kind), rng).unwrap());
        out.push(
            Codec::server(&ServerConfig {
                kind: Some(kind),
                accept_obfuscated: false,
                ..ServerConfig::default()
            })
            .unwrap(),
        );
        if kind != Kind::Full {
            out.push(Codec::client(&ClientConfig::obfuscated(kind), rng).unwrap());
        }
    }
    out
}

#[test]
fn random_bytes_give_typed_errors_only() {
    let mut rng = TestRng::new(0xbad);
    for round in 0..200 {
        let len = rng.below(if round % 10 == 0 { 70_000 } else { 600 });
        let data = rng.bytes(len);
        for mut codec in decoders(&mut rng) {
            let (frames, err) = feed(&mut codec, &mut rng, &data);
            for f in &frames {
                if let OwnedFrame::Packet { data: p, .. } = f {
                    assert!(!p.is_empty() && p.len() <= data.len());
                }
            }
            if let Some(e) = err {
                // The error is sticky and displays without panicking.
                assert_eq!(codec.push(&[1, 2, 3]), Err(e));
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn flipped_byte_in_full_frame_is_caught() {
    let mut rng = TestRng::new(0xf11);
    let mut client = Codec::client(&ClientConfig::new(Kind::Full), &mut rng).unwrap();
    // The second frame is mutated: in the first, a changed seqno would
    // already fail the server's sniffing of the connection preamble.
    let first = client.encode(&rng.bytes(16), false, &mut rng).unwrap();
    let frame = client.encode(&rng.bytes(64), false, &mut rng).unwrap();
    for pos in 0..frame.len() {
        for bit in 0..8 {
            let mut bad = frame.clone();
            bad[pos] ^= 1 << bit;
            let mut server = Codec::server(&ServerConfig {
                kind: Some(Kind::Full),
                accept_obfuscated: false,
                ..ServerConfig::default()
            })
            .unwrap();
            assert_eq!(server.decode(&first).unwrap().len(), 1);
            let result = server.decode(&bad);
            match (pos, result) {
                // Seqno, payload and CRC are covered by the CRC.
                (4.., Err(TransportError::BadCrc { expected, got })) => assert_ne!(expected, got),
                // A changed length asks for more bytes, or is refused.
                (0..4, Ok(frames)) => assert!(frames.is_empty(), "pos {pos}"),
                (
                    0..4,
                    Err(TransportError::BadLength { .. })
                    | Err(TransportError::FrameTooLong { .. })
                    | Err(TransportError::BadCrc { .. }),
                ) => {}
                (_, other) => panic!("pos {pos} bit {bit}: {other:?}"),
            }
        }
    }
}

#[test]
fn replayed_full_frame_is_a_bad_seq() {
    let mut rng = TestRng::new(0x5e9);
    let mut client = Codec::client(&ClientConfig::new(Kind::Full), &mut rng).unwrap();
    let first = client.encode(&[1; 8], false, &mut rng).unwrap();
    let mut server = Codec::server(&ServerConfig::default()).unwrap();
    assert_eq!(server.decode(&first).unwrap().len(), 1);
    assert_eq!(
        server.decode(&first),
        Err(TransportError::BadSeq {
            expected: 1,
            got: 0
        })
    );
}

#[test]
fn transport_error_codes_are_events() {
    let mut rng = TestRng::new(0xe77);
    for kind in [
        Kind::Abridged,
        Kind::Intermediate,
        Kind::PaddedIntermediate,
        Kind::Full,
    ] {
        let mut client = Codec::client(&ClientConfig::new(kind), &mut rng).unwrap();
        let mut server = Codec::server(&ServerConfig::default()).unwrap();
        server
            .decode(&client.encode(&[0; 8], false, &mut rng).unwrap())
            .unwrap();
        let mut wire = Vec::new();
        for code in [-404i32, -429, -444] {
            wire.extend(server.encode(&code.to_le_bytes(), false, &mut rng).unwrap());
        }
        // A non-negative 4-byte packet stays a packet.
        wire.extend(server.encode(&[1, 0, 0, 0], false, &mut rng).unwrap());
        let frames = client.decode(&wire).unwrap();
        assert_eq!(frames.len(), 4);
        for (f, code) in frames.iter().zip([-404, -429, -444]) {
            assert_eq!(*f, OwnedFrame::TransportError { code });
        }
        assert!(matches!(&frames[3], OwnedFrame::Packet { data, .. } if data[..4] == [1, 0, 0, 0]));
    }
}

#[test]
fn known_wire_bytes_of_error_codes() {
    // -404 over intermediate, as a server sends it: length 4, then 6c fe ff ff.
    let mut client =
        Codec::client(&ClientConfig::new(Kind::Intermediate), &mut TestRng::new(0)).unwrap();
    let frames = client
        .decode(&[4, 0, 0, 0, 0x6c, 0xfe, 0xff, 0xff])
        .unwrap();
    assert_eq!(frames, [OwnedFrame::TransportError { code: -404 }]);
    // Over abridged: one word.
    let mut client =
        Codec::client(&ClientConfig::new(Kind::Abridged), &mut TestRng::new(0)).unwrap();
    let frames = client.decode(&[1, 0x53, 0xfe, 0xff, 0xff]).unwrap();
    assert_eq!(frames, [OwnedFrame::TransportError { code: -429 }]);
}

#[test]
fn server_preamble_errors() {
    let plain_only = ServerConfig {
        accept_obfuscated: false,
        ..ServerConfig::default()
    };
    let mut server = Codec::server(&plain_only).unwrap();
    assert_eq!(
        server.push(&[40, 0, 0, 0, 9, 9, 9, 9]),
        Err(TransportError::BadPreamble)
    );
    let mut server = Codec::server(&ServerConfig::default()).unwrap();
    assert_eq!(
        server.push(b"GET / HTTP/1.1\r\n"),
        Err(TransportError::UnsupportedProtocol)
    );
    let pinned = ServerConfig {
        kind: Some(Kind::Intermediate),
        ..ServerConfig::default()
    };
    let mut server = Codec::server(&pinned).unwrap();
    assert_eq!(server.push(&[0xef, 1]), Err(TransportError::BadPreamble));
    let obfuscated_only = ServerConfig {
        accept_plain: false,
        ..ServerConfig::default()
    };
    let mut server = Codec::server(&obfuscated_only).unwrap();
    assert_eq!(server.push(&[0xef]), Err(TransportError::BadPreamble));
    let full_obfuscated = ServerConfig {
        kind: Some(Kind::Full),
        accept_plain: false,
        ..ServerConfig::default()
    };
    assert_eq!(
        Codec::server(&full_obfuscated).unwrap_err(),
        TransportError::ObfuscatedFullUnsupported
    );
}

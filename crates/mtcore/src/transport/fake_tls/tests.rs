//! Fake TLS: both handshake halves against each other, tampering, replays,
//! the record layer, and whole codecs over it.

use super::answer::{check_answer, server_answer};
use super::hello::{accept_hello, client_hello, hello_len, HelloPolicy, HELLO_LEN};
use super::records::{self, RecordReader, MAX_OUT_RECORD};
use super::*;
use crate::transport::tests::{random_chunks, TestRng};
use crate::transport::{
    ClientConfig, Codec, Kind, OwnedFrame, ProxySecret, ServerConfig, TransportError,
};

const KEY: [u8; 16] = [0x5a; 16];
const NOW: u32 = 1_750_000_000;

fn accept(
    hello: &[u8],
    key: &[u8; 16],
    now: u32,
    replay: &mut ReplayCache,
) -> Result<hello::AcceptedHello, TransportError> {
    accept_hello(
        hello,
        key,
        b"example.com",
        now,
        &HelloPolicy::default(),
        replay,
    )
}

#[test]
fn hello_looks_like_a_browser_and_is_accepted_once() {
    let mut rng = TestRng::new(1);
    let (hello, random) = client_hello(&KEY, b"example.com", NOW, &mut rng);
    assert_eq!(hello.len(), HELLO_LEN);
    // Record 512 bytes, ClientHello of 508, legacy version TLS 1.2: what
    // MTProxy servers look for first.
    assert_eq!(hello[..11], [0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3]);
    assert_eq!(hello[RANDOM_AT..RANDOM_AT + 32], random);
    assert_eq!(hello_len(&hello[..3]).unwrap(), None);
    assert_eq!(hello_len(&hello).unwrap(), Some(HELLO_LEN));
    let domain_at = hello.windows(11).position(|w| w == b"example.com");
    assert!(domain_at.is_some());

    let mut replay = ReplayCache::new(16);
    let ok = accept(&hello, &KEY, NOW + 5, &mut replay).unwrap();
    assert_eq!(ok.time, NOW);
    assert_eq!(ok.random, random);
    assert_eq!(ok.len, HELLO_LEN);
    assert_eq!(ok.session_id.len(), 32);
    assert_eq!(
        accept(&hello, &KEY, NOW + 5, &mut replay),
        Err(TransportError::ReplayedTlsHello)
    );
}

#[test]
fn hello_checks_fail_with_their_own_errors() {
    let mut rng = TestRng::new(2);
    let (hello, _) = client_hello(&KEY, b"example.com", NOW, &mut rng);
    let mut replay = ReplayCache::new(16);
    assert_eq!(
        accept(&hello, &[0x5b; 16], NOW, &mut replay),
        Err(TransportError::BadTlsDigest)
    );
    assert_eq!(
        accept(&hello, &KEY, NOW + 20 * 60 + 1, &mut replay),
        Err(TransportError::StaleTlsHello { skew: 20 * 60 + 1 })
    );
    assert_eq!(
        accept(&hello, &KEY, NOW - 10 * 60 - 1, &mut replay),
        Err(TransportError::StaleTlsHello { skew: -10 * 60 - 1 })
    );
    let other = accept_hello(
        &hello,
        &KEY,
        b"example.org",
        NOW,
        &HelloPolicy::default(),
        &mut replay,
    );
    assert!(matches!(other, Err(TransportError::BadClientHello { .. })));
    // None of the failures was remembered: the genuine hello still passes.
    assert!(replay.is_empty());
    assert!(accept(&hello, &KEY, NOW, &mut replay).is_ok());
}

#[test]
fn every_tampered_hello_byte_is_refused() {
    let mut rng = TestRng::new(3);
    let (hello, _) = client_hello(&KEY, b"example.com", NOW, &mut rng);
    for i in 0..hello.len() {
        let mut bad = hello.clone();
        bad[i] ^= 1 << (i % 8);
        let mut replay = ReplayCache::new(4);
        let got = accept(&bad, &KEY, NOW, &mut replay);
        // The timestamp is only XORed in: a flipped bit there reads as
        // another time, which the window may still allow.
        if (RANDOM_AT + 28..RANDOM_AT + 32).contains(&i) {
            assert!(got.map_or(true, |ok| ok.time != NOW));
            continue;
        }
        assert!(got.is_err(), "byte {i} flipped and still accepted");
        // A flip in the timestamp bytes of the random is read as another time
        // only if the digest matched, which it cannot.
        if (RANDOM_AT..RANDOM_AT + 28).contains(&i) {
            assert_eq!(got, Err(TransportError::BadTlsDigest));
        }
    }
}

#[test]
fn truncated_or_garbage_hellos_give_typed_errors() {
    let mut rng = TestRng::new(4);
    let (hello, _) = client_hello(&KEY, b"example.com", NOW, &mut rng);
    for cut in 0..hello.len() {
        let mut replay = ReplayCache::new(4);
        assert!(accept(&hello[..cut], &KEY, NOW, &mut replay).is_err());
    }
    for _ in 0..500 {
        let len = rng.below(700);
        let mut junk = rng.bytes(len);
        if rng.below(2) == 0 && junk.len() > 5 {
            junk[..3].copy_from_slice(&[0x16, 3, 1]);
        }
        let mut replay = ReplayCache::new(4);
        assert!(accept(&junk, &KEY, NOW, &mut replay).is_err());
    }
}

#[test]
fn long_domains_still_give_a_valid_hello() {
    let mut rng = TestRng::new(5);
    for len in [1usize, 40, 200, 253] {
        let domain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let (hello, _) = client_hello(&KEY, &domain, NOW, &mut rng);
        assert!(hello.len() >= HELLO_LEN);
        let mut replay = ReplayCache::new(4);
        accept_hello(
            &hello,
            &KEY,
            &domain,
            NOW,
            &HelloPolicy::default(),
            &mut replay,
        )
        .unwrap();
    }
}

#[test]
fn answer_round_trip_tamper_and_truncation() {
    let mut rng = TestRng::new(6);
    let client_random = [7u8; 32];
    let answer = server_answer(&KEY, &client_random, &[9; 32], &mut rng);
    assert_eq!(answer[..3], [0x16, 3, 3]);
    for cut in 0..answer.len() {
        assert_eq!(check_answer(&answer[..cut], &KEY, &client_random), Ok(None));
    }
    assert_eq!(
        check_answer(&answer, &KEY, &client_random),
        Ok(Some(answer.len()))
    );
    let mut more = answer.clone();
    more.extend_from_slice(&[0x17, 3, 3, 0, 1, 0xff]);
    assert_eq!(
        check_answer(&more, &KEY, &client_random),
        Ok(Some(answer.len()))
    );
    assert_eq!(
        check_answer(&answer, &[1; 16], &client_random),
        Err(TransportError::BadTlsDigest)
    );
    assert_eq!(
        check_answer(&answer, &KEY, &[8; 32]),
        Err(TransportError::BadTlsDigest)
    );
    for _ in 0..200 {
        let i = rng.below(answer.len());
        let mut bad = answer.clone();
        bad[i] ^= 0x40;
        assert!(
            !matches!(check_answer(&bad, &KEY, &client_random), Ok(Some(_))),
            "byte {i} flipped and still accepted"
        );
    }
}

fn unwrap_all(rng: &mut TestRng, wire: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut reader = RecordReader::default();
    let mut out = Vec::new();
    for chunk in random_chunks(rng, wire) {
        reader.feed(chunk, |p| out.extend_from_slice(p))?;
    }
    Ok(out)
}

#[test]
fn records_round_trip_any_length_any_chunking() {
    let mut rng = TestRng::new(7);
    for round in 0..200 {
        let len = match round % 4 {
            0 => rng.below(64),
            1 => MAX_OUT_RECORD - 2 + rng.below(4),
            2 => rng.below(3 * MAX_OUT_RECORD),
            _ => rng.below(2000),
        };
        let data = rng.bytes(len);
        let wire = records::wrap(&data, round % 2 == 0);
        assert_eq!(
            wire.len(),
            data.len() + records::extra_before(round % 2 == 0) + records::extra_after(len)
        );
        // Every record within the limit.
        let mut at = if round % 2 == 0 { 6 } else { 0 };
        while at < wire.len() {
            let l = usize::from(u16::from_be_bytes([wire[at + 3], wire[at + 4]]));
            assert!(l <= MAX_OUT_RECORD);
            at += 5 + l;
        }
        assert_eq!(unwrap_all(&mut rng, &wire).unwrap(), data);
    }
}

#[test]
fn bad_records_give_typed_errors() {
    let mut rng = TestRng::new(8);
    let mut reader = RecordReader::default();
    assert_eq!(
        reader.feed(&[ALERT, 3, 3, 0, 2, 2, 40], |_| {}),
        Err(TransportError::BadTlsRecord {
            content_type: ALERT
        })
    );
    let mut reader = RecordReader::default();
    assert_eq!(
        reader.feed(&[APPLICATION_DATA, 3, 3, 0xff, 0xff], |_| {}),
        Err(TransportError::TlsRecordTooLong {
            len: 0xffff,
            max: records::MAX_IN_RECORD
        })
    );
    // ChangeCipherSpec after data is not TLS.
    let mut wire = records::wrap(b"abc", true);
    wire.extend_from_slice(&CCS_RECORD);
    assert_eq!(
        unwrap_all(&mut rng, &wire),
        Err(TransportError::BadTlsRecord {
            content_type: CHANGE_CIPHER_SPEC
        })
    );
    for _ in 0..300 {
        let len = rng.below(400);
        let junk = rng.bytes(len);
        let _ = unwrap_all(&mut rng, &junk);
    }
}

fn ee_secret() -> ProxySecret {
    let mut raw = vec![0xee];
    raw.extend_from_slice(&KEY);
    raw.extend_from_slice(b"example.com");
    ProxySecret::from_bytes(&raw).unwrap()
}

/// A client and a server codec over an `ee` secret, handshake done.
fn ee_pair(rng: &mut TestRng) -> (Codec, Codec) {
    let mut config = ClientConfig::new(Kind::PaddedIntermediate);
    config.secret = Some(ee_secret());
    config.dc_id = Some(2);
    let client = Codec::client(&config, rng).unwrap();
    assert!(client.is_fake_tls());
    let server = Codec::server(&ServerConfig {
        secret: Some(ee_secret()),
        accept_plain: false,
        ..ServerConfig::default()
    })
    .unwrap();
    (client, server)
}

fn frames(codec: &mut Codec, rng: &mut TestRng, wire: &[u8]) -> Vec<OwnedFrame> {
    let (frames, err) = crate::transport::tests::feed(codec, rng, wire);
    assert_eq!(err, None);
    frames
}

#[test]
fn codecs_carry_packets_both_ways_in_records() {
    let mut rng = TestRng::new(9);
    for _ in 0..20 {
        let (mut client, mut server) = ee_pair(&mut rng);
        assert_eq!(client.take_preamble(), &[] as &[u8]);
        let packets: Vec<Vec<u8>> = (0..5)
            .map(|i| {
                let len = if i == 2 {
                    40_000 + 4 * rng.below(1000)
                } else {
                    4 * (6 + rng.below(300))
                };
                rng.bytes(len)
            })
            .collect();
        let mut wire = Vec::new();
        for p in &packets {
            wire.extend(client.encode(p, false, &mut rng).unwrap());
        }
        // ChangeCipherSpec, then application data.
        assert_eq!(wire[..6], CCS_RECORD);
        assert_eq!(wire[6..9], [APPLICATION_DATA, 3, 3]);
        let got = frames(&mut server, &mut rng, &wire);
        assert_eq!(server.kind(), Some(Kind::PaddedIntermediate));
        assert_eq!(server.dc_id(), Some(2));
        assert_eq!(got.len(), packets.len());
        for (f, p) in got.iter().zip(&packets) {
            let OwnedFrame::Packet { data, .. } = f else {
                panic!("{f:?}")
            };
            assert_eq!(&data[..p.len()], &p[..]);
        }
        let answer = rng.bytes(4 * 50);
        let mut back = server.encode(&answer, false, &mut rng).unwrap();
        assert_eq!(back[..3], [APPLICATION_DATA, 3, 3]);
        back.extend(server.quick_ack_answer(0x0102_0304).unwrap());
        let got = frames(&mut client, &mut rng, &back);
        assert_eq!(got.len(), 2);
        assert!(
            matches!(&got[0], OwnedFrame::Packet { data, .. } if data[..answer.len()] == answer[..])
        );
        assert_eq!(got[1], OwnedFrame::QuickAck { token: 0x8102_0304 });
    }
}

#[test]
fn encode_in_place_wants_room_for_every_record_header() {
    let mut rng = TestRng::new(10);
    let (mut client, _) = ee_pair(&mut rng);
    let len = 3 * MAX_OUT_RECORD;
    let before = client.header_len(len);
    let after = client.trailer_len(len);
    let mut buf = vec![0u8; before + len + after - 1];
    assert!(matches!(
        client.encode_in_place(&mut buf, before..before + len, false, &mut rng),
        Err(TransportError::BufferTooSmall { .. })
    ));
    let mut buf = vec![0u8; before + len + after];
    let frame = client
        .encode_in_place(&mut buf, before..before + len, false, &mut rng)
        .unwrap();
    assert_eq!(frame.start, 0);
}

#[test]
fn a_wrong_key_inside_records_is_a_bad_tag() {
    let mut rng = TestRng::new(11);
    let (mut client, _) = ee_pair(&mut rng);
    let mut raw = vec![0xee];
    raw.extend_from_slice(&[1; 16]);
    raw.extend_from_slice(b"example.com");
    let mut server = Codec::server(&ServerConfig {
        secret: Some(ProxySecret::from_bytes(&raw).unwrap()),
        accept_plain: false,
        ..ServerConfig::default()
    })
    .unwrap();
    let wire = client.encode(&[0; 64], false, &mut rng).unwrap();
    let (_, err) = crate::transport::tests::feed(&mut server, &mut rng, &wire);
    assert!(matches!(
        err,
        Some(TransportError::BadProtocolTag { .. } | TransportError::SecretRequiresPadded)
    ));
}

//! Arbitrary packets through every configuration: what a client frames, a
//! server reads back unchanged, and the other way round.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::transport::{ClientConfig, Codec, Frame, Kind, OwnedFrame, ServerConfig};

mod common;

fn same(kind: Kind, sent: &[u8], got: &OwnedFrame) -> bool {
    let OwnedFrame::Packet { data, .. } = got else {
        return false;
    };
    match kind {
        // Up to 12 padding bytes may trail a padded packet.
        Kind::PaddedIntermediate => data.starts_with(sent) && data.len() - sent.len() <= 12,
        _ => data == sent,
    }
}

fuzz_target!(|data: &[u8]| {
    let [control, seed, rest @ ..] = data else {
        return;
    };
    let kind = common::KINDS[(control % 4) as usize];
    let obfuscated = control & 4 != 0 && kind != Kind::Full;
    let config = ClientConfig {
        obfuscated,
        ..ClientConfig::new(kind)
    };
    let mut rng = common::Lcg(u32::from(*seed));
    let mut client = Codec::client(&config, &mut rng).unwrap();
    let mut server = Codec::server(&ServerConfig::default()).unwrap();
    // Packets: whole words, first word non-negative (else it may read as a
    // transport error code).
    let packets: Vec<Vec<u8>> = rest
        .chunks(64)
        .map(|c| {
            let mut p = c[..c.len() / 4 * 4].to_vec();
            if p.len() >= 4 {
                p[3] &= 0x7f;
            }
            p
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut wire = Vec::new();
    for p in &packets {
        wire.extend(client.encode(p, false, &mut rng).unwrap());
    }
    let frames = server.decode(&wire).unwrap();
    assert_eq!(frames.len(), packets.len());
    for (p, f) in packets.iter().zip(&frames) {
        assert!(same(kind, p, f));
    }
    let mut wire = Vec::new();
    for p in &packets {
        let mut buf = vec![0; server.header_room()];
        buf.extend_from_slice(p);
        let start = server
            .encode_vec(&mut buf, server.header_room(), false, &mut rng)
            .unwrap();
        wire.extend_from_slice(&buf[start..]);
    }
    let mut got = 0;
    client.push(&wire).unwrap();
    while let Some(frame) = client.next_frame().unwrap() {
        let Frame::Packet { data, .. } = frame else {
            panic!("not a packet");
        };
        let owned = OwnedFrame::Packet {
            data: data.to_vec(),
            quick_ack: false,
        };
        assert!(same(kind, &packets[got], &owned));
        got += 1;
    }
    assert_eq!(got, packets.len());
});

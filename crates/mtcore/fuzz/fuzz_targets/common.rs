//! Shared driver of the transport fuzz targets: push the input in chunks of
//! varying size, drain every frame, and check the codec's invariants. A
//! panic, a hang or a runaway allocation is a finding.
#![allow(dead_code)]

use mtcore::transport::{
    ClientConfig, Codec, Frame, Kind, ProxySecret, RandomSource, ServerConfig,
};

pub const KINDS: [Kind; 4] = [
    Kind::Abridged,
    Kind::Intermediate,
    Kind::PaddedIntermediate,
    Kind::Full,
];

/// A deterministic random source (an LCG) so findings replay.
pub struct Lcg(pub u32);

impl Lcg {
    pub fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        self.0 >> 8
    }
}

impl RandomSource for Lcg {
    fn fill_random(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next() as u8;
        }
    }
}

/// A packet limit picked by the input: small ones reach FrameTooLong.
pub fn limit(selector: u8) -> usize {
    match selector % 4 {
        0 => 64,
        1 => 4096,
        _ => mtcore::transport::DEFAULT_MAX_PACKET_LEN,
    }
}

pub fn secret(selector: u8) -> Option<ProxySecret> {
    match selector % 3 {
        0 => None,
        1 => Some(ProxySecret::from_bytes(&[0x42; 16]).unwrap()),
        _ => {
            let mut dd = [0x42; 17];
            dd[0] = 0xdd;
            Some(ProxySecret::from_bytes(&dd).unwrap())
        }
    }
}

/// Pushes `data` in chunks sized by `seed`, draining frames after each.
pub fn drive(codec: &mut Codec, seed: u8, data: &[u8]) {
    let mut sizes = Lcg(u32::from(seed) | 1);
    let mut rest = data;
    let mut pushed = 0usize;
    while !rest.is_empty() {
        let r = sizes.next() as usize;
        let n = match r % 4 {
            0 => 1,
            1 => r % 8,
            2 => r % 300,
            _ => rest.len(),
        }
        .min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        pushed += n;
        if let Err(e) = codec.push(chunk) {
            assert_eq!(codec.push(&[]), Err(e), "errors are sticky");
            return;
        }
        loop {
            let peek = codec.peek_len();
            let failed = match codec.next_frame() {
                Ok(None) => {
                    assert_eq!(peek, None);
                    break;
                }
                Ok(Some(Frame::Packet { data, .. })) => {
                    assert!(!data.is_empty() && data.len() <= pushed);
                    assert_eq!(peek, Some(data.len()));
                    None
                }
                Ok(Some(Frame::QuickAck { token })) => {
                    assert!(token & 0x8000_0000 != 0);
                    assert_eq!(peek, Some(0));
                    None
                }
                Ok(Some(Frame::TransportError { code })) => {
                    assert!(code < 0 && peek.is_some());
                    None
                }
                Err(e) => Some(e),
            };
            if let Some(e) = failed {
                // Only the full transport's CRC and seqno fail after a peek.
                assert!(peek.is_none() || codec.kind() == Some(Kind::Full));
                assert_eq!(codec.next_frame().err(), Some(e), "errors are sticky");
                return;
            }
        }
        assert!(codec.buffered() <= pushed);
    }
}

/// Decoders of one transport: a client, and a server pinned to it (with or
/// without its preamble in front of the input).
pub fn fuzz_kind(kind: Kind, data: &[u8]) {
    let [control, seed, rest @ ..] = data else {
        return;
    };
    let max_packet_len = limit(control >> 2);
    if control & 1 == 0 {
        let config = ClientConfig {
            max_packet_len,
            ..ClientConfig::new(kind)
        };
        let mut codec = Codec::client(&config, &mut Lcg(1)).unwrap();
        drive(&mut codec, *seed, rest);
    } else {
        let config = ServerConfig {
            kind: Some(kind),
            accept_obfuscated: false,
            max_packet_len,
            ..ServerConfig::default()
        };
        let mut codec = Codec::server(&config).unwrap();
        if control & 2 != 0 {
            // Get past the preamble so that framing is reached more often.
            let mut client = Codec::client(&ClientConfig::new(kind), &mut Lcg(1)).unwrap();
            codec.push(client.take_preamble()).unwrap();
        }
        drive(&mut codec, *seed, rest);
    }
}

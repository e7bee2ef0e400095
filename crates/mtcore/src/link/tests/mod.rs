//! A client link against a server-side link (mtp server mode, `Codec::server`)
//! over every transport, plain and obfuscated2, with the bytes in between cut
//! into arbitrary chunks. Helpers here; cases in `roundtrip` (traffic) and
//! `faults` (transport errors, garbage, reconnects).

mod bounded;
mod faults;
mod roundtrip;

use super::*;
use crate::mtp::service::ctor;
use crate::mtp::wire::{put_u32, put_u64};
use crate::mtp::Event;
use crate::transport::{ClientConfig, Kind, ProxySecret, ServerConfig};

pub const T0: i64 = 1_700_000_000_000;
pub const SALT: u64 = 0x5a17_5a17_5a17_5a17;
/// First word of the test requests (not a service constructor).
pub const REQUEST: u32 = 0x0bad_f00d;

/// SplitMix64: deterministic, so a failure replays.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }

    /// A randomness source for the link, seeded from this one.
    pub fn source(&mut self) -> impl FnMut(&mut [u8]) {
        let mut r = TestRng(self.next_u64());
        move |b: &mut [u8]| r.fill(b)
    }

    /// Splits `data` into random chunks: empty, single bytes, short, long.
    pub fn chunks<'a>(&mut self, data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = match self.below(4) {
                0 => self.below(2),
                1 => self.below(16),
                2 => self.below(300),
                _ => self.below(rest.len() + 1),
            }
            .min(rest.len());
            let (a, b) = rest.split_at(n);
            out.push(a);
            rest = b;
        }
        out
    }
}

pub fn key() -> AuthKey {
    AuthKey::new(std::array::from_fn(|i| (i * 13 + 5) as u8))
}

/// Every client transport: the four plain ones, obfuscated2 over the three that
/// have a protocol tag, and an MTProxy secret.
pub fn configs() -> Vec<ClientConfig> {
    let mut out = Vec::new();
    for kind in [
        Kind::Abridged,
        Kind::Intermediate,
        Kind::PaddedIntermediate,
        Kind::Full,
    ] {
        out.push(ClientConfig::new(kind));
        if kind != Kind::Full {
            out.push(ClientConfig::obfuscated(kind));
        }
    }
    let mut proxied = ClientConfig::obfuscated(Kind::PaddedIntermediate);
    proxied.secret = Some(ProxySecret::from_bytes(&[0x3c; 16]).unwrap());
    proxied.dc_id = Some(2);
    out.push(proxied);
    out
}

/// The server side that accepts `config`'s client.
pub fn server_config(config: &ClientConfig) -> ServerConfig {
    ServerConfig {
        secret: config.secret.clone(),
        accept_plain: config.secret.is_none(),
        ..ServerConfig::default()
    }
}

pub fn client_link(config: &ClientConfig, rng: &mut TestRng) -> Link {
    let mut o = Options::client();
    o.session_id = 0x5e55_0000_0000_0001;
    o.salt = SALT;
    o.time_offset_ms = Some(0);
    o.auto_future_salts = false;
    let codec = Codec::client(config, &mut rng.source()).unwrap();
    Link::new(key(), o, codec)
}

pub fn server_link(config: &ClientConfig) -> Link {
    let mut o = Options::server();
    o.salt = SALT;
    Link::new(key(), o, Codec::server(&server_config(config)).unwrap())
}

pub fn request(tag: u32) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, REQUEST);
    put_u32(&mut b, tag);
    // Some requests are long enough for abridged's 4-byte header and a few
    // container items; the tag decides.
    b.resize(8 + (tag as usize % 5) * 4 * 37, 0x5c);
    b
}

pub fn answer(req_msg_id: u64, tag: u32) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, ctor::RPC_RESULT);
    put_u64(&mut b, req_msg_id);
    put_u32(&mut b, 0x0a75_3e12);
    put_u32(&mut b, tag);
    b
}

pub fn tag_of(body: &[u8]) -> u32 {
    u32::from_le_bytes(body[4..8].try_into().unwrap())
}

/// Feeds `bytes` to `to` in random chunks and collects the events.
pub fn deliver(to: &mut Link, bytes: &[u8], now: i64, rng: &mut TestRng) -> Vec<LinkEvent> {
    let mut events = Vec::new();
    let mut source = rng.source();
    for chunk in rng.chunks(bytes) {
        events.extend(to.receive(chunk, now, &mut source).events);
    }
    events
}

/// The session events only; panics on any transport event.
pub fn session_events(events: Vec<LinkEvent>) -> Vec<Event> {
    events
        .into_iter()
        .map(|e| match e {
            LinkEvent::Session(e) => e,
            other => panic!("unexpected transport event {other:?}"),
        })
        .collect()
}

/// Server side: answers every request in `events`; returns the tags seen.
pub fn serve(server: &mut Link, events: Vec<LinkEvent>, now: i64) -> Vec<u32> {
    let mut tags = Vec::new();
    for e in session_events(events) {
        if let Event::Message { msg_id, body, .. } = e {
            if body[..4] == REQUEST.to_le_bytes() {
                let tag = tag_of(&body);
                tags.push(tag);
                server
                    .session_mut()
                    .enqueue(answer(msg_id, tag), true, now)
                    .unwrap();
            }
        }
    }
    tags
}

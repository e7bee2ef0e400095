//! Property test: a client session and a server-side session over a network that
//! drops, duplicates, reorders and delays packets, with reconnects. Whatever the
//! interleaving, every request is answered to the client exactly once, with its
//! own answer, and none is lost.

use std::collections::HashMap;

use super::{Options, Session};
use crate::crypto::envelope::AuthKey;
use crate::mtp::events::Event;
use crate::mtp::service::ctor;
use crate::mtp::wire::{put_u32, put_u64};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

fn request(tag: u32) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, 0x0bad_f00d);
    put_u32(&mut b, tag);
    b
}

fn answer(req_msg_id: u64, tag: u32) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, ctor::RPC_RESULT);
    put_u64(&mut b, req_msg_id);
    put_u32(&mut b, 0x0a75_3e12);
    put_u32(&mut b, tag);
    b
}

struct World {
    rng: Rng,
    now: i64,
    client: Session,
    server: Session,
    to_server: Vec<Vec<u8>>,
    to_client: Vec<Vec<u8>>,
    /// Current msg_id -> tag of the client's open requests.
    open: HashMap<u64, u32>,
    answered: HashMap<u32, u32>,
    executed: HashMap<u32, u32>,
    next_tag: u32,
    /// Clocks jump too (client and server offsets), and the server checks every message.
    jumpy: bool,
}

impl World {
    /// With a strict server (`server_checks`), and a client whose clock jumps 400 s
    /// either way or 60 s back now and then. The network is then a TCP connection (see
    /// `step`). Not covered: a clock 30..300 s ahead whose ids the server partly took
    /// before refusing the rest (17 then rewinds below ids it has: 33, a new session).
    fn jumpy(seed: u64) -> Self {
        let mut w = World::new(seed);
        let key = w.client.auth_key().clone();
        let mut s = Options::server();
        s.server_checks = true;
        w.server = Session::new(key, s);
        w.jumpy = true;
        w
    }

    fn new(seed: u64) -> Self {
        let key = AuthKey::new(std::array::from_fn(|i| (i as u8).wrapping_mul(11)));
        let now = 1_700_000_000_000;
        let mut c = Options::client();
        c.session_id = 0x5e55_1014 ^ seed;
        c.time_offset_ms = Some(0);
        c.auto_future_salts = false;
        let s = Options::server();
        World {
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            now,
            client: Session::new(key.clone(), c),
            server: Session::new(key, s),
            to_server: Vec::new(),
            to_client: Vec::new(),
            open: HashMap::new(),
            answered: HashMap::new(),
            executed: HashMap::new(),
            next_tag: 0,
            jumpy: false,
        }
    }

    fn random(&mut self) -> impl FnMut(&mut [u8]) {
        let mut r = Rng(self.rng.next() | 1);
        move |b: &mut [u8]| r.fill(b)
    }

    fn client_events(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Resent {
                    old_msg_id,
                    new_msg_id,
                } => {
                    let tag = self
                        .open
                        .remove(&old_msg_id)
                        .expect("re-sent a known request");
                    self.open.insert(new_msg_id, tag);
                }
                Event::RpcResult { req_msg_id, body } => {
                    let tag = self
                        .open
                        .remove(&req_msg_id)
                        .expect("an answer settles an open request once");
                    let got = u32::from_le_bytes(body[4..8].try_into().unwrap());
                    assert_eq!(got, tag, "the answer belongs to its own request");
                    *self.answered.entry(tag).or_default() += 1;
                }
                Event::Failed { .. } | Event::RpcError { .. } => panic!("unexpected {e:?}"),
                _ => {}
            }
        }
    }

    fn server_events(&mut self, events: Vec<Event>) {
        for e in events {
            if let Event::Message { msg_id, body, .. } = e {
                if body[..4] == 0x0bad_f00du32.to_le_bytes() {
                    let tag = u32::from_le_bytes(body[4..8].try_into().unwrap());
                    *self.executed.entry(tag).or_default() += 1;
                    self.server
                        .enqueue(answer(msg_id, tag), true, self.now)
                        .unwrap();
                }
            }
        }
    }

    fn flush(&mut self) {
        let mut r = self.random();
        let t = self.client.transmit(self.now, &mut r);
        self.to_server.extend(t.packets);
        let t = self.server.transmit(self.now, &mut r);
        self.to_client.extend(t.packets);
    }

    /// Delivers one packet from a queue, maybe out of order, maybe dropped or doubled.
    fn deliver(&mut self, to_server: bool, lossy: bool) {
        let queue = if to_server {
            &mut self.to_server
        } else {
            &mut self.to_client
        };
        if queue.is_empty() {
            return;
        }
        let at = if lossy {
            self.rng.below(queue.len() as u64) as usize
        } else {
            0
        };
        let packet = queue.remove(at);
        if lossy && self.rng.chance(15) {
            return;
        }
        let copies = if lossy && self.rng.chance(10) { 2 } else { 1 };
        for _ in 0..copies {
            let mut p = packet.clone();
            let mut r = self.random();
            if to_server {
                let ev = self.server.receive(&mut p, self.now, &mut r);
                self.server_events(ev);
            } else {
                let ev = self.client.receive(&mut p, self.now, &mut r);
                self.client_events(ev);
            }
        }
    }

    fn step(&mut self) {
        match self.rng.below(10) {
            0..=2 => {
                let tag = self.next_tag;
                self.next_tag += 1;
                let id = self.client.enqueue(request(tag), true, self.now).unwrap();
                self.open.insert(id, tag);
            }
            3 | 4 => self.flush(),
            // A strict world is a TCP connection: in order, nothing lost or doubled but
            // what is on the wire when the connection drops.
            5 | 6 => self.deliver(true, !self.jumpy),
            7 | 8 => self.deliver(false, !self.jumpy),
            _ if self.jumpy && self.rng.chance(8) => {
                // The local clock jumps: the client's idea of the server's time moves
                // (ahead by 400 s: 17, ids restart; back: ids go on, answers re-sync).
                let jump = [-400_000, -60_000, 400_000][self.rng.below(3) as usize];
                let off = self.client.time_offset_ms();
                self.client.set_time_offset_ms(off + jump);
            }
            _ => {
                if self.rng.chance(10) {
                    // Reconnect: what was on the wire is gone (a strict world loses some
                    // tail of it); the client asks, the server re-sends what the client
                    // has not acknowledged.
                    if self.jumpy {
                        let keep = self.rng.below(self.to_server.len() as u64 + 1) as usize;
                        self.to_server.truncate(keep);
                        while !self.to_server.is_empty() {
                            self.deliver(true, false);
                        }
                        let keep = self.rng.below(self.to_client.len() as u64 + 1) as usize;
                        self.to_client.truncate(keep);
                        while !self.to_client.is_empty() {
                            self.deliver(false, false);
                        }
                    }
                    self.to_server.clear();
                    self.to_client.clear();
                    if self.rng.chance(50) {
                        self.client.request_state(self.now);
                    } else {
                        self.client.resend_pending();
                    }
                    self.server.resend_pending();
                }
            }
        }
        self.now += self.rng.below(1_500) as i64;
    }

    /// A quiet, lossless network until everything settles.
    fn settle(&mut self) {
        for _ in 0..400 {
            if self.open.is_empty() {
                return;
            }
            self.now += 5_000;
            self.flush();
            while !self.to_server.is_empty() || !self.to_client.is_empty() {
                self.deliver(true, false);
                self.deliver(false, false);
                self.flush();
            }
        }
    }
}

#[test]
fn no_request_is_lost_or_answered_twice() {
    let mut executed_twice = 0;
    for seed in 1..=120u64 {
        let mut w = World::new(seed);
        for _ in 0..400 {
            w.step();
        }
        w.settle();
        assert!(
            w.open.is_empty(),
            "seed {seed}: {} requests never answered",
            w.open.len()
        );
        assert_eq!(w.answered.len() as u32, w.next_tag, "seed {seed}");
        assert!(w.answered.values().all(|&n| n == 1), "seed {seed}");
        executed_twice += w.executed.values().filter(|&&n| n > 1).count();
    }
    // Informational: how often the server ran a request twice (state 1..3 re-sends
    // after its answer was lost). Not a failure: the client still saw one answer.
    eprintln!("requests executed twice by the server: {executed_twice}");
}

#[test]
fn no_request_runs_twice_under_a_strict_server_and_jumping_clocks() {
    // Issue #5: with every check of a Telegram server (16/17 and the rest answered) and
    // clocks jumping both ways, a request is answered once and also run once: nothing
    // is re-sent under a new id unless the server refused it or said it never got it.
    for seed in 1..=120u64 {
        let mut w = World::jumpy(seed);
        for _ in 0..400 {
            w.step();
        }
        w.settle();
        assert!(
            w.open.is_empty(),
            "seed {seed}: {} requests never answered",
            w.open.len()
        );
        assert_eq!(w.answered.len() as u32, w.next_tag, "seed {seed}");
        assert!(w.answered.values().all(|&n| n == 1), "seed {seed}");
        let twice: Vec<u32> = w
            .executed
            .iter()
            .filter(|(_, &n)| n > 1)
            .map(|(&t, _)| t)
            .collect();
        assert!(twice.is_empty(), "seed {seed}: run twice: {twice:?}");
    }
}

/// Authenticated but arbitrary plaintext (a buggy or hostile peer holding the key):
/// service constructors with random tails, truncations, nested containers, bad gzip.
/// The session must never panic and must keep working afterwards.
#[test]
fn arbitrary_authenticated_bodies_never_panic() {
    use crate::crypto::envelope::{self, Sender};
    use crate::mtp::msg_id::MsgIdGen;
    let ctors = [
        ctor::RPC_RESULT,
        ctor::RPC_ERROR,
        ctor::MSGS_ACK,
        ctor::BAD_MSG_NOTIFICATION,
        ctor::BAD_SERVER_SALT,
        ctor::NEW_SESSION_CREATED,
        ctor::PONG,
        ctor::FUTURE_SALTS,
        ctor::MSGS_STATE_REQ,
        ctor::MSGS_STATE_INFO,
        ctor::MSGS_ALL_INFO,
        ctor::MSG_DETAILED_INFO,
        ctor::MSG_NEW_DETAILED_INFO,
        ctor::MSG_RESEND_REQ,
        ctor::DESTROY_SESSION_OK,
        ctor::GZIP_PACKED,
        ctor::MSG_CONTAINER,
        ctor::MSG_COPY,
        crate::mtp::wire::VECTOR,
        0x1234_5678,
    ];
    let mut w = World::new(7);
    let key = w.client.auth_key().clone();
    let sid = w.client.session_id();
    let mut ids = MsgIdGen::new(0);
    let mut sent = Vec::new();
    let mut kinds: HashMap<String, u32> = HashMap::new();
    for round in 0..3000 {
        // Keep some requests in flight so that notifications can name them.
        if round % 10 == 0 {
            sent.push(w.client.enqueue(request(round), true, w.now).unwrap());
            let mut r = w.random();
            w.client.transmit(w.now, &mut r);
        }
        let mut body = Vec::new();
        put_u32(&mut body, ctors[w.rng.below(ctors.len() as u64) as usize]);
        let words = w.rng.below(12);
        for _ in 0..words {
            // Mix plausible values (our ids, small counts, the vector id) with noise.
            match w.rng.below(4) {
                0 if !sent.is_empty() => {
                    put_u64(&mut body, sent[w.rng.below(sent.len() as u64) as usize])
                }
                1 => put_u32(&mut body, w.rng.below(4) as u32),
                2 => put_u32(&mut body, crate::mtp::wire::VECTOR),
                _ => put_u32(&mut body, w.rng.next() as u32),
            }
        }
        let msg_id = ids.next(w.now, 1);
        let mut plain = Vec::new();
        put_u64(&mut plain, 0);
        put_u64(&mut plain, sid);
        put_u64(&mut plain, msg_id);
        put_u32(&mut plain, w.rng.below(4) as u32);
        put_u32(&mut plain, body.len() as u32);
        plain.extend_from_slice(&body);
        let mut r = w.random();
        let mut packet = envelope::encrypt(&key, Sender::Server, &plain, &mut r);
        for e in w.client.receive(&mut packet, w.now, &mut r) {
            let name = format!("{e:?}");
            let kind = name.split([' ', '(', '{']).next().unwrap_or("").to_string();
            *kinds.entry(kind).or_insert(0u32) += 1;
        }
        w.now += 10;
    }
    // The inputs reach deep: not everything is rejected at the door.
    for k in [
        "Dropped",
        "BadMsg",
        "Resent",
        "Acked",
        "Message",
        "SessionCreated",
    ] {
        assert!(kinds.contains_key(k), "no {k} among {kinds:?}");
    }
    // Still a working session: a request goes out and its answer comes back.
    w.client.set_session_id(sid);
    let mut w2 = World::new(8);
    std::mem::swap(&mut w2.client, &mut w.client);
    w2.open.clear();
    w2.now = w.now;
    let id = w2.client.enqueue(request(1), true, w2.now).unwrap();
    w2.open.insert(id, 1);
    w2.settle();
    assert!(w2.open.is_empty());
}

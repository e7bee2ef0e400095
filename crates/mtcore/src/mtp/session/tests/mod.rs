//! The state machine driven by a fake server written here: packets are built and
//! opened with the envelope directly (Sender::Server), so every field is under the
//! test's control. Helpers here; the cases in `flows` (normal traffic and checks)
//! and `recovery` (rejections, losses, salts, sessions).

mod bind;
mod clock;
mod flows;
mod recovery;
mod server;

use super::*;
use crate::crypto::envelope::{self, Sender};
use crate::mtp::events::Event;
use crate::mtp::msg_id::MsgIdGen;
use crate::mtp::service::{self, ctor, Service};
use crate::mtp::wire::{put_u32, put_u64};

pub const T0: i64 = 1_700_000_000_000;
pub const SID: u64 = 0x1122_3344_5566_7788;

pub fn key() -> AuthKey {
    AuthKey::new(std::array::from_fn(|i| (i * 7 + 3) as u8))
}

/// A deterministic xorshift source standing in for OS randomness.
pub struct Rng(pub u32);

impl Rng {
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            *b = self.0 as u8;
        }
    }
}

pub fn rng() -> impl FnMut(&mut [u8]) {
    let mut r = Rng(1);
    move |buf: &mut [u8]| r.fill(buf)
}

pub fn client() -> Session {
    let mut o = Options::client();
    o.session_id = SID;
    o.salt = 0xAAAA;
    o.time_offset_ms = Some(0);
    o.auto_future_salts = false;
    Session::new(key(), o)
}

/// One message as the fake server sees it.
#[derive(Debug, Clone)]
pub struct Got {
    pub msg_id: u64,
    pub seqno: u32,
    pub body: Vec<u8>,
}

/// A decrypted client packet: its header and the messages in it.
#[derive(Debug)]
pub struct Opened {
    pub salt: u64,
    pub outer: Got,
    pub container: bool,
    pub msgs: Vec<Got>,
}

pub struct Server {
    key: AuthKey,
    pub ids: MsgIdGen,
    rng: Rng,
    pub session_id: u64,
}

impl Server {
    pub fn new() -> Self {
        Server {
            key: key(),
            ids: MsgIdGen::new(0),
            rng: Rng(1),
            session_id: SID,
        }
    }

    pub fn id(&mut self, now: i64) -> u64 {
        self.ids.next(now, 1)
    }

    pub fn open(&self, packet: &[u8], headroom: usize) -> Opened {
        let plain = envelope::decrypt(&self.key, Sender::Client, &packet[headroom..])
            .expect("client packet");
        let salt = u64::from_le_bytes(plain[0..8].try_into().unwrap());
        assert_eq!(
            u64::from_le_bytes(plain[8..16].try_into().unwrap()),
            self.session_id
        );
        let outer = Got {
            msg_id: u64::from_le_bytes(plain[16..24].try_into().unwrap()),
            seqno: u32::from_le_bytes(plain[24..28].try_into().unwrap()),
            body: plain[32..].to_vec(),
        };
        assert_eq!(outer.msg_id % 4, 0, "client ids are divisible by 4");
        match service::parse(&outer.body).unwrap() {
            Service::Container(items) => {
                assert_eq!(outer.seqno % 2, 0, "containers are not content-related");
                let msgs: Vec<Got> = items
                    .iter()
                    .map(|i| Got {
                        msg_id: i.msg_id,
                        seqno: i.seqno,
                        body: i.body.to_vec(),
                    })
                    .collect();
                for m in &msgs {
                    assert!(m.msg_id < outer.msg_id, "container id above its contents");
                    assert!(m.seqno <= outer.seqno);
                }
                Opened {
                    salt,
                    container: true,
                    msgs,
                    outer,
                }
            }
            _ => Opened {
                salt,
                container: false,
                msgs: vec![outer.clone()],
                outer,
            },
        }
    }

    pub fn seal_with(&mut self, session_id: u64, msg_id: u64, seqno: u32, body: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        put_u64(&mut plain, 0x5a17);
        put_u64(&mut plain, session_id);
        put_u64(&mut plain, msg_id);
        put_u32(&mut plain, seqno);
        put_u32(&mut plain, body.len() as u32);
        plain.extend_from_slice(body);
        envelope::encrypt(&self.key, Sender::Server, &plain, &mut |b| self.rng.fill(b))
    }

    pub fn seal(&mut self, msg_id: u64, seqno: u32, body: &[u8]) -> Vec<u8> {
        self.seal_with(self.session_id, msg_id, seqno, body)
    }

    /// One content-related message in its own packet.
    pub fn send(&mut self, now: i64, body: &[u8]) -> Vec<u8> {
        let id = self.id(now);
        self.seal(id, 1, body)
    }

    pub fn send_service(&mut self, now: i64, body: &[u8]) -> Vec<u8> {
        let id = self.id(now);
        self.seal(id, 2, body)
    }

    /// Several messages (content-related, seqno odd) in one container.
    pub fn send_container(&mut self, now: i64, bodies: &[Vec<u8>]) -> (Vec<u64>, Vec<u8>) {
        let ids: Vec<u64> = bodies.iter().map(|_| self.id(now)).collect();
        let mut c = Vec::new();
        put_u32(&mut c, ctor::MSG_CONTAINER);
        put_u32(&mut c, bodies.len() as u32);
        for (id, b) in ids.iter().zip(bodies) {
            put_u64(&mut c, *id);
            put_u32(&mut c, 1);
            put_u32(&mut c, b.len() as u32);
            c.extend_from_slice(b);
        }
        let cid = self.id(now);
        (ids, self.seal(cid, 2, &c))
    }
}

pub fn rpc_result(req: u64, result: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, ctor::RPC_RESULT);
    put_u64(&mut b, req);
    b.extend_from_slice(result);
    b
}

pub fn object(tag: u32, words: usize) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, tag);
    for i in 0..words {
        put_u32(&mut b, i as u32);
    }
    b
}

pub fn bad_msg(bad: u64, seqno: u32, code: i32, salt: Option<u64>) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(
        &mut b,
        if salt.is_some() {
            ctor::BAD_SERVER_SALT
        } else {
            ctor::BAD_MSG_NOTIFICATION
        },
    );
    put_u64(&mut b, bad);
    put_u32(&mut b, seqno);
    put_u32(&mut b, code as u32);
    if let Some(s) = salt {
        put_u64(&mut b, s);
    }
    b
}

pub fn recv(c: &mut Session, mut packet: Vec<u8>, now: i64) -> Vec<Event> {
    c.receive(&mut packet, now, &mut rng())
}

pub fn send(c: &mut Session, now: i64) -> Transmit {
    c.transmit(now, &mut rng())
}

/// The (old, new) msg_id of every `Resent` event, in order.
pub fn resent_pairs(ev: &[Event]) -> Vec<(u64, u64)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Resent {
                old_msg_id,
                new_msg_id,
            } => Some((*old_msg_id, *new_msg_id)),
            _ => None,
        })
        .collect()
}

pub fn acks_in(o: &Opened) -> Vec<u64> {
    o.msgs
        .iter()
        .filter_map(|m| match service::parse(&m.body) {
            Ok(Service::MsgsAck(ids)) => Some(ids),
            _ => None,
        })
        .flatten()
        .collect()
}

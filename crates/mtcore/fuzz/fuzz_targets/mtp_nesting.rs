//! Nested structures from a hostile server (issue #12): the input is a program
//! that wraps one message (an update, or the answer to a request in flight) in
//! msg_copy, gzip_packed (some padded into bombs), msg_container and rpc_result,
//! layer upon layer, thousands deep if it likes. The packet goes to a client
//! session (and to a server-side one). Checked:
//! - no panic and no stack overflow (nothing recurses on the input);
//! - past `MAX_NESTING` wrappers the message is not delivered and a drop says so;
//! - the heap grows by no more than the inflate budget allows while receiving;
//! - the request in flight is settled (answered or failed) or asked about with
//!   msgs_state_req: it never waits for an answer that was thrown away.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use mtcore::crypto::envelope::{self, AuthKey, Sender};
use std::io::Write;

use flate2::write::GzEncoder;
use mtcore::mtp::service::{self, ctor, Service};
use mtcore::mtp::session::{Options, Session};
use mtcore::mtp::{DropReason, Event};

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let now = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const NOW_MS: i64 = 1_764_000_000_000;
const SESSION_ID: u64 = 0x1122_3344_5566_7788;
/// The inflate budget per packet in this target: small, so that bombs reach it fast.
const BUDGET: usize = 256 << 10;
/// The nesting limit of `mtp::session` (walk.rs).
const MAX_NESTING: usize = 8;
/// The update wrapped when the input does not wrap an answer.
const UPDATE: [u8; 8] = [0x78, 0x56, 0x34, 0x12, 1, 2, 3, 4];

fn random(buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(73).wrapping_add(11);
    }
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// Server msg_ids (odd, in the time window), handed out in increasing order: a
/// wrapper built after its contents gets a higher id, as a container must.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 += 4;
        self.0
    }
}

/// gzip_packed around `object`, compressed fast (the fuzzer builds many layers).
fn gzip_packed(object: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(object).expect("writing to a Vec");
    let packed = enc.finish().expect("writing to a Vec");
    let mut out = Vec::with_capacity(packed.len() + 8);
    put_u32(&mut out, ctor::GZIP_PACKED);
    if packed.len() < 254 {
        out.push(packed.len() as u8);
    } else {
        out.push(254);
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes()[..3]);
    }
    out.extend_from_slice(&packed);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// A body built outward: wrappers that only put bytes in front (msg_copy, a
/// container whose last item is the body) are kept as prefixes, so that a chain
/// thousands deep costs its size, not its size times its depth.
struct Body {
    /// Innermost first.
    chunks: Vec<Vec<u8>>,
    len: usize,
}

impl Body {
    fn new(leaf: Vec<u8>) -> Self {
        Body {
            len: leaf.len(),
            chunks: vec![leaf],
        }
    }

    fn prefix(&mut self, p: Vec<u8>) {
        self.len += p.len();
        self.chunks.push(p);
    }

    fn take(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for c in self.chunks.drain(..).rev() {
            out.extend_from_slice(&c);
        }
        self.len = 0;
        out
    }

    fn set(&mut self, b: Vec<u8>) {
        self.len = b.len();
        self.chunks = vec![b];
    }
}

/// The header of a bare `message` of `len` bytes.
fn message_header(out: &mut Vec<u8>, id: u64, len: usize) {
    put_u64(out, id);
    put_u32(out, 1);
    put_u32(out, len as u32);
}

/// Builds the nested body; returns it and how many wrappers it has.
fn build(program: &[u8], ids: &mut Ids, leaf: Vec<u8>) -> (Vec<u8>, usize) {
    let mut body = Body::new(leaf);
    let mut depth = 0usize;
    for op in program.chunks(2) {
        let (kind, arg) = (op[0], op.get(1).copied().unwrap_or(0));
        // Repeats: up to 4096 for msg_copy and containers, 32 for gzip_packed (each
        // layer compresses the whole body again).
        let most = if matches!(kind % 5, 1 | 2) { 32 } else { 4096 };
        let times = match kind >> 4 {
            0 => 1,
            n => (usize::from(n) * usize::from(arg)).min(most),
        };
        for _ in 0..times.max(1) {
            if body.len > 1 << 20 {
                break;
            }
            match kind % 5 {
                0 => {
                    let mut p = Vec::with_capacity(20);
                    put_u32(&mut p, ctor::MSG_COPY);
                    message_header(&mut p, ids.next(), body.len);
                    body.prefix(p);
                }
                1 => {
                    let b = gzip_packed(&body.take());
                    body.set(b);
                }
                2 => {
                    // A bomb layer: the body, then up to 255 KiB of zeros, packed.
                    let mut b = body.take();
                    b.resize(b.len() + usize::from(arg) * 1024, 0);
                    body.set(gzip_packed(&b));
                }
                3 => {
                    let mut p = Vec::new();
                    put_u32(&mut p, ctor::MSG_CONTAINER);
                    let fillers = usize::from(arg % 4);
                    put_u32(&mut p, 1 + fillers as u32);
                    for _ in 0..fillers {
                        message_header(&mut p, ids.next(), 4);
                        p.extend_from_slice(&[0x55, 0, 0, 0]);
                    }
                    message_header(&mut p, ids.next(), body.len);
                    body.prefix(p);
                }
                _ => {
                    // Garbage in place of a layer: a truncated copy of it.
                    let mut b = body.take();
                    let keep = b.len() * usize::from(arg) / 256;
                    b.truncate(keep.max(4) & !3);
                    body.set(b);
                    continue;
                }
            }
            depth += 1;
        }
    }
    (body.take(), depth)
}

fn seal(key: &AuthKey, msg_id: u64, seqno: u32, body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::with_capacity(32 + body.len());
    put_u64(&mut plain, 7);
    put_u64(&mut plain, SESSION_ID);
    put_u64(&mut plain, msg_id);
    put_u32(&mut plain, seqno);
    put_u32(&mut plain, body.len() as u32);
    plain.extend_from_slice(body);
    envelope::encrypt(key, Sender::Server, &plain, &mut random)
}

/// Whether the client's next packets carry msgs_state_req naming `id`.
fn asks_about(session: &mut Session, key: &AuthKey, id: u64) -> bool {
    let t = session.transmit(NOW_MS, &mut random);
    t.packets.iter().any(|p| {
        let plain = envelope::decrypt(key, Sender::Client, p).expect("our own packet");
        let body = &plain[32..];
        let names = |b: &[u8]| matches!(service::parse(b), Ok(Service::MsgsStateReq(ids)) if ids.contains(&id));
        match service::parse(body) {
            Ok(Service::Container(items)) => items.iter().any(|i| names(i.body)),
            _ => names(body),
        }
    })
}

/// The events in short (bodies left out).
fn summary(events: &[Event]) -> String {
    let names: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Dropped(r) => format!("Dropped({})", r.code()),
            Event::Message { msg_id, .. } => format!("Message({msg_id:x})"),
            Event::RpcResult { req_msg_id, .. } => format!("RpcResult({req_msg_id:x})"),
            other => format!("{other:?}"),
        })
        .collect();
    names.join(", ")
}

fuzz_target!(|data: &[u8]| {
    let [mode, program @ ..] = data else {
        return;
    };
    let program = &program[..program.len().min(64)];
    let key = AuthKey::new(std::array::from_fn(|i| (i as u8).wrapping_mul(31)));
    let mut opts = Options::client();
    opts.session_id = SESSION_ID;
    opts.salt = 7;
    opts.time_offset_ms = Some(0);
    opts.auto_future_salts = false;
    opts.max_gzip_len = BUDGET;
    let mut client = Session::new(key.clone(), opts);
    let request = client
        .enqueue(vec![0xde, 0xad, 0xbe, 0xef], true, NOW_MS)
        .expect("a small body enqueues");
    client.transmit(NOW_MS, &mut random);

    let mut ids = Ids(((NOW_MS as u64 / 1000) << 32) | 1);
    let answer = mode & 1 == 1;
    let leaf = if answer {
        let mut b = Vec::new();
        put_u32(&mut b, ctor::RPC_RESULT);
        put_u64(&mut b, request);
        put_u32(&mut b, 0x1234_5678);
        b
    } else {
        UPDATE.to_vec()
    };
    let (body, depth) = build(program, &mut ids, leaf);
    let mut packet = seal(&key, ids.next(), 1, &body);

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let events = client.receive(&mut packet, NOW_MS, &mut random);
    let grew = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    // The inflated buffers (at most BUDGET together, each allocation at most twice
    // what it holds), copies of what is delivered, the events: bounded by the budget
    // and the packet, never by the nesting.
    let bound = 6 * BUDGET + 8 * packet.len() + (1 << 20);
    assert!(
        grew <= bound,
        "receive grew the heap by {grew} bytes (bound {bound})"
    );

    // The wrapped message itself (containers' fillers are delivered on their own).
    let delivered = events.iter().any(|e| match e {
        Event::Message { body, .. } => body[..] == UPDATE,
        Event::RpcResult { req_msg_id, .. } | Event::RpcError { req_msg_id, .. } => {
            *req_msg_id == request
        }
        _ => false,
    });
    if depth > MAX_NESTING {
        assert!(
            !delivered,
            "a message {depth} wrappers deep was delivered: {}",
            summary(&events)
        );
        assert!(
            events.iter().any(|e| matches!(e, Event::Dropped(_))),
            "nothing said why a message {depth} deep was dropped"
        );
    }
    for e in &events {
        if let Event::Dropped(DropReason::TooDeep { limit, .. }) = e {
            assert_eq!(*limit, MAX_NESTING);
        }
    }

    // No request waits for an answer that was thrown away.
    let settled = events.iter().any(|e| match e {
        Event::RpcResult { req_msg_id, .. } | Event::RpcError { req_msg_id, .. } => {
            *req_msg_id == request
        }
        Event::Failed { msg_id, .. } => *msg_id == request,
        _ => false,
    });
    let in_flight = client.in_flight().iter().any(|(id, _)| *id == request);
    assert_eq!(settled, !in_flight, "{}", summary(&events));
    if answer && in_flight {
        assert!(
            asks_about(&mut client, &key, request),
            "the answer was dropped and nobody asked about it: {}",
            summary(&events)
        );
    }

    // The server side (an embedded test DC) walks the same way: the same packet
    // shapes from a client cannot hurt it either.
    let mut server = Session::new(key.clone(), {
        let mut o = Options::server();
        o.max_gzip_len = BUDGET;
        o
    });
    let client_id = ((NOW_MS as u64 / 1000) << 32) | 4;
    let mut plain = Vec::new();
    put_u64(&mut plain, 7);
    put_u64(&mut plain, SESSION_ID);
    put_u64(&mut plain, client_id);
    put_u32(&mut plain, 1);
    put_u32(&mut plain, body.len() as u32);
    plain.extend_from_slice(&body);
    let mut packet = envelope::encrypt(&key, Sender::Client, &plain, &mut random);
    let _ = server.receive(&mut packet, NOW_MS, &mut random);
});

//! A client session receiving arbitrary bodies inside correctly encrypted
//! server messages (so the service-message parsers, containers and gzip see
//! the fuzzer's bytes), and arbitrary undecryptable packets. No panic, and the
//! session keeps working: a request queued afterwards still transmits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::crypto::envelope::{self, AuthKey, Sender};
use mtcore::mtp::session::{Options, Session};

const NOW_MS: i64 = 1_764_000_000_000;
const SESSION_ID: u64 = 0x1122_3344_5566_7788;

fn random(buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(73).wrapping_add(11);
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, lo, rest @ ..] = data else {
        return;
    };
    let key = AuthKey::new(std::array::from_fn(|i| (i as u8).wrapping_mul(31)));
    let mut opts = Options::client();
    opts.session_id = SESSION_ID;
    opts.salt = 7;
    opts.time_offset_ms = Some(0);
    let mut session = Session::new(key.clone(), opts);
    for chunk in rest.chunks(1 + usize::from(*mode >> 2) * 64).take(16) {
        let mut packet = if mode & 1 == 0 {
            chunk.to_vec()
        } else {
            // A server message: odd msg_id in the time window, the fuzzer's body.
            let msg_id = ((NOW_MS as u64 / 1000) << 32) | (u64::from(*lo) << 2) | 1;
            let body_len = chunk.len() & !3;
            let mut plain = Vec::with_capacity(32 + body_len);
            plain.extend_from_slice(&7u64.to_le_bytes());
            plain.extend_from_slice(&SESSION_ID.to_le_bytes());
            plain.extend_from_slice(&msg_id.to_le_bytes());
            plain.extend_from_slice(&u32::from(*mode & 2 != 0).to_le_bytes());
            plain.extend_from_slice(&(body_len as u32).to_le_bytes());
            plain.extend_from_slice(&chunk[..body_len]);
            envelope::encrypt(&key, Sender::Server, &plain, &mut random)
        };
        let _ = session.receive(&mut packet, NOW_MS, &mut random);
    }
    session
        .enqueue(vec![0xde, 0xad, 0xbe, 0xef], true, NOW_MS)
        .expect("a small body enqueues");
    assert!(!session.transmit(NOW_MS, &mut random).packets.is_empty());
});

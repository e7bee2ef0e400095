//! Throughput of the symmetric crypto: `cargo bench -p mtcore --bench crypto`.
//!
//! A plain timing loop (no criterion) so the bench builds without extra crates;
//! the JS-side comparison against peers lives in bench/crypto.bench.ts.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mtcore::crypto::envelope::{self, AuthKey, Sender};
use mtcore::crypto::ige;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Calls `f` for about `budget` and returns nanoseconds per call.
fn ns_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < budget / 4 {
        f();
    }
    let mut calls = 0u64;
    let mut batch = 16u64;
    let start = Instant::now();
    loop {
        for _ in 0..batch {
            f();
        }
        calls += batch;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return elapsed.as_nanos() as f64 / calls as f64;
        }
        batch = (batch * 2).min(1 << 16);
    }
}

fn line(name: &str, bytes: usize, ns: f64) {
    let mbs = bytes as f64 * 1e3 / ns;
    println!("{name:<34} {ns:>10.1} ns/call {mbs:>9.1} MB/s");
}

/// Time of one key expansion, with a different key each call.
fn key_schedule<T>(name: &str, budget: Duration, new: impl Fn(&[u8; 32]) -> T) {
    let mut k = [3u8; 32];
    let ns = ns_per_call(budget, || {
        k[0] = k[0].wrapping_add(1);
        black_box(new(black_box(&k)));
    });
    line(name, 0, ns);
}

fn main() {
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let budget = Duration::from_millis(300);
    // A new key each call, as MTProto has: a constant one could be hoisted out of the loop.
    let mut key = [7u8; 32];
    let iv = [9u8; 32];
    for size in [64usize, 128, 1024, 16384, 524288] {
        let mut data = vec![0x5au8; size];
        let name = format!("ige encrypt {size}");
        if want(&name) {
            let ns = ns_per_call(budget, || {
                key[0] = key[0].wrapping_add(1);
                ige::encrypt_in_place(black_box(&mut data), black_box(&key), &iv).unwrap()
            });
            line(&name, size, ns);
        }
        let name = format!("ige decrypt {size}");
        if want(&name) {
            let ns = ns_per_call(budget, || {
                key[0] = key[0].wrapping_add(1);
                ige::decrypt_in_place(black_box(&mut data), black_box(&key), &iv).unwrap()
            });
            line(&name, size, ns);
        }
        // The `aes`-crate form that runs where AES-NI is absent (ige.rs picks per call).
        let blocks = data.as_chunks_mut::<16>().0;
        let name = format!("ige encrypt {size} (portable)");
        if want(&name) {
            let ns = ns_per_call(budget, || {
                key[0] = key[0].wrapping_add(1);
                ige::portable::encrypt(black_box(&mut *blocks), black_box(&key), &iv)
            });
            line(&name, size, ns);
        }
        let name = format!("ige decrypt {size} (portable)");
        if want(&name) {
            let ns = ns_per_call(budget, || {
                key[0] = key[0].wrapping_add(1);
                ige::portable::decrypt(black_box(&mut *blocks), black_box(&key), &iv)
            });
            line(&name, size, ns);
        }
    }
    // AES-256-CTR (obfuscated2, CDN files): the `ctr` crate runs eight blocks at a time.
    for size in [64usize, 1024, 16384] {
        let mut data = vec![0x5au8; size];
        let name = format!("aes256 ctr {size}");
        if want(&name) {
            let ctr_iv = [9u8; 16];
            let ns = ns_per_call(budget, || {
                key[0] = key[0].wrapping_add(1);
                mtcore::transport::obfuscated::aes256_ctr(
                    black_box(&key),
                    &ctr_iv,
                    black_box(&mut data),
                )
            });
            line(&name, size, ns);
        }
    }
    if want("aes key schedule") {
        // aes 0.9 (what ige.rs uses) against 0.8, whose AES-NI expansion calls each
        // aeskeygenassist out of line.
        use aes::cipher::KeyInit as KeyInit08;
        use aes09::cipher::KeyInit as KeyInit09;
        key_schedule("aes key schedule enc (aes 0.9)", budget, |k| {
            aes09::Aes256Enc::new(k.into())
        });
        key_schedule("aes key schedule dec (aes 0.9)", budget, |k| {
            aes09::Aes256Dec::new(k.into())
        });
        key_schedule("aes key schedule enc (aes 0.8)", budget, |k| {
            aes::Aes256Enc::new(k.into())
        });
        key_schedule("aes key schedule dec (aes 0.8)", budget, |k| {
            aes::Aes256Dec::new(k.into())
        });
    }
    for size in [64usize, 1024, 16384] {
        let data = vec![0x5au8; size];
        let name = format!("sha1 {size}");
        if want(&name) {
            let ns = ns_per_call(budget, || {
                black_box(Sha1::digest(black_box(&data)));
            });
            line(&name, size, ns);
        }
        let name = format!("sha256 {size}");
        if want(&name) {
            let ns = ns_per_call(budget, || {
                black_box(Sha256::digest(black_box(&data)));
            });
            line(&name, size, ns);
        }
    }
    let auth = AuthKey::new(std::array::from_fn(|i| (i * 7 + 1) as u8));
    let mut counter = 0u8;
    let mut random = move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(0x3d);
            *b = counter;
        }
    };
    for body in [96usize, 1024] {
        let plain = vec![0x11u8; 32 + body];
        let name = format!("envelope encrypt {}", plain.len());
        if want(&name) {
            let mut buf = Vec::with_capacity(2048);
            let ns = ns_per_call(budget, || {
                buf.clear();
                buf.resize(envelope::OUTER_HEADER_LEN, 0);
                buf.extend_from_slice(&plain);
                envelope::encrypt_in_place(&auth, Sender::Client, &mut buf, 0, &mut random);
                black_box(&buf);
            });
            line(&name, plain.len(), ns);
        }
        let mut inner = plain.clone();
        inner[28..32].copy_from_slice(&(body as u32).to_le_bytes());
        let packet = envelope::encrypt(&auth, Sender::Server, &inner, &mut random);
        let name = format!("envelope decrypt {}", plain.len());
        if want(&name) {
            let mut buf = packet.clone();
            let ns = ns_per_call(budget, || {
                buf.copy_from_slice(&packet);
                black_box(envelope::decrypt_in_place(&auth, Sender::Server, &mut buf).unwrap());
            });
            line(&name, plain.len(), ns);
        }
    }
}

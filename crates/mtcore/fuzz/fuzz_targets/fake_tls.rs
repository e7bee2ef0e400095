//! Fake TLS on arbitrary bytes: the server's ClientHello check, the client's
//! check of the server's answer, and a server codec with an `ee` secret reading
//! records. In half the runs the hello or answer is a genuine one with the
//! fuzzer's bytes spliced in, so the parsers get past their first checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::transport::fake_tls::answer::{check_answer, server_answer};
use mtcore::transport::fake_tls::hello::{accept_hello, client_hello, HelloPolicy};
use mtcore::transport::fake_tls::ReplayCache;
use mtcore::transport::{Codec, ProxySecret, ServerConfig};

mod common;

const KEY: [u8; 16] = [0x42; 16];
const NOW: u32 = 1_750_000_000;

fuzz_target!(|data: &[u8]| {
    let [mode, seed, at, rest @ ..] = data else {
        return;
    };
    let mut rng = common::Lcg(u32::from(*seed));
    let splice = |mut genuine: Vec<u8>| {
        let at = usize::from(*at) * genuine.len() / 256;
        genuine.truncate(at);
        genuine.extend_from_slice(rest);
        genuine
    };
    match mode % 3 {
        0 => {
            let input = if mode & 0x80 == 0 {
                rest.to_vec()
            } else {
                splice(client_hello(&KEY, b"example.com", NOW, &mut rng).0)
            };
            let mut replay = ReplayCache::new(4);
            let policy = HelloPolicy::default();
            let _ = accept_hello(&input, &KEY, b"example.com", NOW, &policy, &mut replay);
        }
        1 => {
            let random = [7u8; 32];
            let input = if mode & 0x80 == 0 {
                rest.to_vec()
            } else {
                splice(server_answer(&KEY, &random, &[1; 32], &mut rng))
            };
            if let Ok(Some(n)) = check_answer(&input, &KEY, &random) {
                assert!(n <= input.len());
            }
        }
        _ => {
            let mut ee = vec![0xee];
            ee.extend_from_slice(&KEY);
            ee.extend_from_slice(b"example.com");
            let config = ServerConfig {
                secret: Some(ProxySecret::from_bytes(&ee).unwrap()),
                accept_plain: false,
                ..ServerConfig::default()
            };
            let mut codec = Codec::server(&config).unwrap();
            common::drive(&mut codec, *seed, rest);
        }
    }
});

//! Server side: sniffing the preamble, obfuscated2 accept (with and without
//! an MTProxy secret), then unpacking, on arbitrary bytes. In half the runs
//! the input follows a valid obfuscated2 header and is encrypted with the
//! client's stream, so that the server's unpacking sees the fuzzer's bytes
//! (random bytes almost never decrypt to a valid protocol tag).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::transport::{obfuscated, Codec, ServerConfig};

mod common;

fuzz_target!(|data: &[u8]| {
    let [control, mode, seed, rest @ ..] = data else {
        return;
    };
    let secret = common::secret(control >> 5);
    let config = ServerConfig {
        kind: match control % 5 {
            4 => None,
            k => Some(common::KINDS[k as usize]),
        },
        accept_plain: control & 0x08 == 0,
        accept_obfuscated: control & 0x10 == 0 || control & 0x08 != 0,
        secret: secret.clone(),
        max_packet_len: common::limit(mode >> 2),
    };
    let Ok(mut codec) = Codec::server(&config) else {
        return;
    };
    if mode & 1 == 0 {
        common::drive(&mut codec, *seed, rest);
        return;
    }
    let kind = common::KINDS[((mode >> 1) % 3) as usize];
    let mut rng = common::Lcg(u32::from(*seed));
    let Ok((header, mut stream)) =
        obfuscated::client_init(kind, Some(-2), secret.as_ref(), &mut rng)
    else {
        return;
    };
    let mut input = header.to_vec();
    let mut body = rest.to_vec();
    stream.encrypt(&mut body);
    input.extend(body);
    common::drive(&mut codec, *seed, &input);
});

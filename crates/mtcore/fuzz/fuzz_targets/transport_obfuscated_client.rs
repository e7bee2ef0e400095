//! Client side of obfuscated2: decrypting and unpacking arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::transport::{ClientConfig, Codec};

mod common;

fuzz_target!(|data: &[u8]| {
    let [control, seed, rest @ ..] = data else {
        return;
    };
    let config = ClientConfig {
        secret: common::secret(control >> 2).filter(|s| !s.padded_required()),
        max_packet_len: common::limit(control >> 4),
        dc_id: Some(2),
        ..ClientConfig::obfuscated(common::KINDS[(control % 3) as usize])
    };
    let mut codec = Codec::client(&config, &mut common::Lcg(u32::from(*seed))).unwrap();
    common::drive(&mut codec, *seed, rest);
});

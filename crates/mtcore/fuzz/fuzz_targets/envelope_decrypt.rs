//! decrypt_in_place on arbitrary packets, and on valid packets with one byte
//! flipped: it must return a typed error (never panic), and accept a packet
//! only when it is exactly what was encrypted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::crypto::envelope::{self, AuthKey, Sender};

fn key() -> AuthKey {
    AuthKey::new(std::array::from_fn(|i| {
        (i as u8).wrapping_mul(29).wrapping_add(3)
    }))
}

fuzz_target!(|data: &[u8]| {
    let [mode, flip_lo, flip_hi, rest @ ..] = data else {
        return;
    };
    let key = key();
    let sender = if mode & 1 == 0 {
        Sender::Client
    } else {
        Sender::Server
    };
    if mode & 2 == 0 {
        // Raw bytes, with the right auth_key_id half the time so the msg_key check is reached.
        let mut packet = rest.to_vec();
        if mode & 4 != 0 && packet.len() >= 8 {
            packet[..8].copy_from_slice(key.id_bytes());
        }
        let _ = envelope::decrypt_in_place(&key, sender, &mut packet);
        return;
    }
    // A valid packet around the input as the body, then one flipped byte.
    let mut plain = vec![0u8; envelope::INNER_HEADER_LEN];
    let body_len = rest.len() & !3;
    plain[28..32].copy_from_slice(&(body_len as u32).to_le_bytes());
    plain.extend_from_slice(&rest[..body_len]);
    let mut n = u32::from(*flip_lo);
    let mut random = |buf: &mut [u8]| {
        for b in buf {
            n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *b = (n >> 16) as u8;
        }
    };
    let packet = envelope::encrypt(&key, sender, &plain, &mut random);
    let decrypted = envelope::decrypt(&key, sender, &packet).expect("a packet we made decrypts");
    assert_eq!(decrypted, plain);
    let at = (usize::from(*flip_hi) << 8 | usize::from(*flip_lo)) % packet.len();
    let mut bad = packet.clone();
    bad[at] ^= 1 << (mode >> 5);
    assert!(
        envelope::decrypt(&key, sender, &bad).is_err(),
        "a flipped byte at {at} was accepted"
    );
});

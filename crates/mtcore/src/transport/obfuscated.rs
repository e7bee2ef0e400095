//! obfuscated2: AES-256-CTR over any transport but full, keyed by a random
//! 64-byte init header that the client sends first.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation
//! - The client draws 64 random bytes, redrawing while they could be read as
//!   another protocol (0xef first byte; HTTP verbs, 0xdddddddd, 0xeeeeeeee or
//!   a TLS record as the first word; a zero second word, which a full-transport
//!   frame's seqno 0 would show).
//! - init[56..60] is the protocol tag, init[60..62] the DC id (int16 LE,
//!   negative for media DCs; written when known, required by MTProxy).
//! - Client to server: key init[8..40], iv init[40..56]. Server to client: the
//!   same slices of the reversed init. An MTProxy secret replaces each key by
//!   SHA256(key ‖ secret).
//! - The client sends init[0..56] and the last 8 bytes of init encrypted with
//!   its stream, which then goes on over the payload (keystream offset 64).

use aes::Aes256;
use cipher::{KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};

use super::{Kind, ProxySecret, RandomSource, Role, TransportError};

type AesCtr = ctr::Ctr128BE<Aes256>;

/// Length of the init header.
pub const INIT_LEN: usize = 64;

/// First words that would make the init look like another protocol
/// (little-endian u32 of init[0..4]): HEAD, POST, GET , OPTI, padded and
/// intermediate tags, a TLS handshake record.
const FORBIDDEN_FIRST_WORDS: [u32; 7] = [
    0x4441_4548,
    0x5453_4f50,
    0x2054_4547,
    0x4954_504f,
    0xdddd_dddd,
    0xeeee_eeee,
    0x0201_0316,
];

/// Redraws allowed before the random source is declared broken; a real
/// source needs more than one draw with probability of about 1/256.
const MAX_DRAWS: usize = 64;

/// The obfuscated2 protocol tag of a transport; the full transport has none.
pub fn protocol_tag(kind: Kind) -> Result<[u8; 4], TransportError> {
    match kind {
        Kind::Abridged => Ok([0xef; 4]),
        Kind::Intermediate => Ok([0xee; 4]),
        Kind::PaddedIntermediate => Ok([0xdd; 4]),
        Kind::Full => Err(TransportError::ObfuscatedFullUnsupported),
    }
}

/// The transport named by an obfuscated2 protocol tag.
pub fn kind_of_tag(tag: [u8; 4]) -> Option<Kind> {
    match tag {
        [0xef, 0xef, 0xef, 0xef] => Some(Kind::Abridged),
        [0xee, 0xee, 0xee, 0xee] => Some(Kind::Intermediate),
        [0xdd, 0xdd, 0xdd, 0xdd] => Some(Kind::PaddedIntermediate),
        _ => None,
    }
}

/// Whether 64 random bytes may serve as an init (before the tag is written).
pub fn is_valid_init(init: &[u8; INIT_LEN]) -> bool {
    let first = u32::from_le_bytes(init[0..4].try_into().expect("4 bytes"));
    init[0] != 0xef && !FORBIDDEN_FIRST_WORDS.contains(&first) && init[4..8] != [0; 4]
}

/// The key and iv of both directions, seen from the client.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub encrypt_key: [u8; 32],
    pub encrypt_iv: [u8; 16],
    pub decrypt_key: [u8; 32],
    pub decrypt_iv: [u8; 16],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

fn proxy_key(key: &[u8], secret: Option<&ProxySecret>) -> [u8; 32] {
    match secret {
        None => key.try_into().expect("32 bytes"),
        Some(s) => Sha256::new()
            .chain_update(key)
            .chain_update(s.key())
            .finalize()
            .into(),
    }
}

/// Derives both directions' key and iv from an init (or from the header
/// sent on the wire: only bytes 8..56 matter).
pub fn derive_keys(init: &[u8; INIT_LEN], secret: Option<&ProxySecret>) -> Keys {
    let mut rev = *init;
    rev.reverse();
    Keys {
        encrypt_key: proxy_key(&init[8..40], secret),
        encrypt_iv: init[40..56].try_into().expect("16 bytes"),
        decrypt_key: proxy_key(&rev[8..40], secret),
        decrypt_iv: rev[40..56].try_into().expect("16 bytes"),
    }
}

/// Both AES-256-CTR streams of one connection.
pub struct Obfuscator {
    send: AesCtr,
    recv: AesCtr,
}

impl Obfuscator {
    /// Both streams at keystream offset 0, for the given side of the connection.
    pub fn from_keys(keys: &Keys, role: Role) -> Self {
        let (send_key, send_iv, recv_key, recv_iv) = match role {
            Role::Client => (
                &keys.encrypt_key,
                &keys.encrypt_iv,
                &keys.decrypt_key,
                &keys.decrypt_iv,
            ),
            Role::Server => (
                &keys.decrypt_key,
                &keys.decrypt_iv,
                &keys.encrypt_key,
                &keys.encrypt_iv,
            ),
        };
        Self {
            send: AesCtr::new(send_key.into(), send_iv.into()),
            recv: AesCtr::new(recv_key.into(), recv_iv.into()),
        }
    }

    /// Encrypts outgoing bytes in place, continuing the stream.
    pub fn encrypt(&mut self, data: &mut [u8]) {
        self.send.apply_keystream(data);
    }

    /// Decrypts incoming bytes in place, continuing the stream.
    pub fn decrypt(&mut self, data: &mut [u8]) {
        self.recv.apply_keystream(data);
    }
}

impl std::fmt::Debug for Obfuscator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Obfuscator { .. }")
    }
}

/// Starts a client connection: draws the init, returns the 64-byte header to
/// send first and the streams (the send stream already past the header).
pub fn client_init<R: RandomSource + ?Sized>(
    kind: Kind,
    dc_id: Option<i16>,
    secret: Option<&ProxySecret>,
    rng: &mut R,
) -> Result<([u8; INIT_LEN], Obfuscator), TransportError> {
    let tag = protocol_tag(kind)?;
    if secret.is_some_and(ProxySecret::padded_required) && kind != Kind::PaddedIntermediate {
        return Err(TransportError::SecretRequiresPadded);
    }
    let mut init = [0u8; INIT_LEN];
    let mut draws = 0;
    loop {
        rng.fill_random(&mut init);
        if is_valid_init(&init) {
            break;
        }
        draws += 1;
        if draws == MAX_DRAWS {
            return Err(TransportError::BadRandomness);
        }
    }
    init[56..60].copy_from_slice(&tag);
    if let Some(dc) = dc_id {
        init[60..62].copy_from_slice(&dc.to_le_bytes());
    }
    let mut obfuscator = Obfuscator::from_keys(&derive_keys(&init, secret), Role::Client);
    let mut encrypted = init;
    obfuscator.encrypt(&mut encrypted);
    init[56..].copy_from_slice(&encrypted[56..]);
    Ok((init, obfuscator))
}

/// What a server learns from a client's init header.
#[derive(Debug)]
pub struct Accepted {
    pub kind: Kind,
    /// The DC id the client wrote (meaningless unless the client wrote one).
    pub dc_id: i16,
    /// The server's streams, the receive stream already past the header.
    pub obfuscator: Obfuscator,
}

/// Server side: reads a client's 64-byte header. A wrong secret shows up as
/// a bad protocol tag.
pub fn server_accept(
    header: &[u8; INIT_LEN],
    secret: Option<&ProxySecret>,
) -> Result<Accepted, TransportError> {
    let mut obfuscator = Obfuscator::from_keys(&derive_keys(header, secret), Role::Server);
    let mut plain = *header;
    obfuscator.decrypt(&mut plain);
    let tag: [u8; 4] = plain[56..60].try_into().expect("4 bytes");
    let kind = kind_of_tag(tag).ok_or(TransportError::BadProtocolTag {
        tag: u32::from_le_bytes(tag),
    })?;
    if secret.is_some_and(ProxySecret::padded_required) && kind != Kind::PaddedIntermediate {
        return Err(TransportError::SecretRequiresPadded);
    }
    Ok(Accepted {
        kind,
        dc_id: i16::from_le_bytes([plain[60], plain[61]]),
        obfuscator,
    })
}

/// One-shot AES-256-CTR (128-bit big-endian counter starting at `iv`), in place.
pub fn aes256_ctr(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    AesCtr::new(key.into(), iv.into()).apply_keystream(data);
}

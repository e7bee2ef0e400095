//! The ClientHello: built by the client, parsed and checked by the server.
//!
//! The hello copies the shape of a current browser's TLS 1.3 ClientHello
//! (RFC 8446 section 4.1.2): GREASE values (RFC 8701) in the cipher suites,
//! groups, key shares, versions and extensions; SNI (RFC 6066 section 3);
//! ALPN h2 and http/1.1 (RFC 7301); an x25519 key share that lies on the curve;
//! and the padding extension (RFC 7685) that brings the record to 517 bytes,
//! the size MTProxy servers expect (handshake length 0x1fc).

use subtle::ConstantTimeEq;

use super::{digest, x25519, ReplayCache, HANDSHAKE, RANDOM_AT, RECORD_HEADER};
use crate::transport::{RandomSource, TransportError};

/// Total length of the hello record when the domain leaves room for padding.
pub const HELLO_LEN: usize = 517;
/// The largest hello a server reads (one TLS record: 2^14 bytes, RFC 8446 5.1).
pub const MAX_HELLO_LEN: usize = RECORD_HEADER + (1 << 14);

/// Extension types (IANA TLS ExtensionType registry).
const EXT_SERVER_NAME: u16 = 0;
const EXT_PADDING: u16 = 21;

/// Cipher suites after the GREASE one: the three TLS 1.3 suites, then ECDHE
/// with AES-GCM and ChaCha20, then the legacy ones browsers still offer.
const CIPHER_SUITES: [u16; 15] = [
    0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
    0x009d, 0x002f, 0x0035,
];
/// signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256,
/// rsa_pkcs1_sha256, ecdsa_secp384r1_sha384, rsa_pss_rsae_sha384,
/// rsa_pkcs1_sha384, rsa_pss_rsae_sha512, rsa_pkcs1_sha512.
const SIGNATURE_ALGORITHMS: [u16; 8] = [
    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
];

/// A writer of big-endian fields with length-prefixed scopes.
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    /// Writes what `f` writes, preceded by its length in `width` bytes.
    fn scope(&mut self, width: usize, f: impl FnOnce(&mut Self)) {
        let at = self.0.len();
        self.0.resize(at + width, 0);
        f(self);
        let len = self.0.len() - at - width;
        let be = (len as u32).to_be_bytes();
        self.0[at..at + width].copy_from_slice(&be[4 - width..]);
    }
    /// An extension: type, then its body with a 2-byte length.
    fn ext(&mut self, kind: u16, f: impl FnOnce(&mut Self)) {
        self.u16(kind);
        self.scope(2, f);
    }
}

/// Six distinct GREASE values (0x?a?a), for the places a browser puts them.
fn grease<R: RandomSource + ?Sized>(rng: &mut R) -> [u16; 6] {
    let mut raw = [0u8; 6];
    rng.fill_random(&mut raw);
    let mut out = [0u16; 6];
    for i in 0..6 {
        let mut n = raw[i] >> 4;
        // Two neighbours that collide would make the extension list invalid.
        while out[..i]
            .iter()
            .any(|&g| g == u16::from(n) * 0x1010 + 0x0a0a)
        {
            n = (n + 1) & 0x0f;
        }
        out[i] = u16::from(n) * 0x1010 + 0x0a0a;
    }
    out
}

/// A ClientHello record for `domain` with its `random` zeroed (the digest
/// is written by `client_hello`).
fn unsigned_hello<R: RandomSource + ?Sized>(domain: &[u8], rng: &mut R) -> Vec<u8> {
    let g = grease(rng);
    let mut session_id = [0u8; 32];
    rng.fill_random(&mut session_id);
    let mut key = [0u8; 32];
    x25519::fake_public_key(rng, &mut key);
    let mut w = Writer(Vec::with_capacity(HELLO_LEN));
    w.u8(HANDSHAKE);
    w.bytes(&[3, 1]);
    w.scope(2, |w| {
        w.u8(1); // client_hello
        w.scope(3, |w| {
            w.bytes(&[3, 3]);
            w.bytes(&[0; 32]);
            w.scope(1, |w| w.bytes(&session_id));
            w.scope(2, |w| {
                w.u16(g[0]);
                CIPHER_SUITES.iter().for_each(|&c| w.u16(c));
            });
            w.bytes(&[1, 0]); // compression: null only
            w.scope(2, |w| extensions(w, domain, &g, &key));
        });
    });
    w.0
}

fn extensions(w: &mut Writer, domain: &[u8], g: &[u16; 6], key: &[u8; 32]) {
    w.ext(g[1], |_| {});
    w.ext(EXT_SERVER_NAME, |w| {
        w.scope(2, |w| {
            w.u8(0); // host_name
            w.scope(2, |w| w.bytes(domain));
        })
    });
    w.ext(0x0017, |_| {}); // extended_master_secret
    w.ext(0xff01, |w| w.u8(0)); // renegotiation_info, empty
    w.ext(0x000a, |w| {
        // supported_groups: GREASE, x25519, secp256r1, secp384r1
        w.scope(2, |w| {
            [g[2], 0x001d, 0x0017, 0x0018]
                .iter()
                .for_each(|&v| w.u16(v))
        })
    });
    w.ext(0x000b, |w| w.bytes(&[1, 0])); // ec_point_formats: uncompressed
    w.ext(0x0023, |_| {}); // session_ticket
    w.ext(0x0010, |w| {
        w.scope(2, |w| {
            w.scope(1, |w| w.bytes(b"h2"));
            w.scope(1, |w| w.bytes(b"http/1.1"));
        })
    });
    w.ext(0x0005, |w| w.bytes(&[1, 0, 0, 0, 0])); // status_request: ocsp
    w.ext(0x000d, |w| {
        w.scope(2, |w| SIGNATURE_ALGORITHMS.iter().for_each(|&v| w.u16(v)))
    });
    w.ext(0x0012, |_| {}); // signed_certificate_timestamp
    w.ext(0x0033, |w| {
        // key_share: a one-byte GREASE share, then x25519
        w.scope(2, |w| {
            w.u16(g[2]);
            w.scope(2, |w| w.u8(0));
            w.u16(0x001d);
            w.scope(2, |w| w.bytes(key));
        })
    });
    w.ext(0x002d, |w| w.bytes(&[1, 1])); // psk_key_exchange_modes: psk_dhe_ke
    w.ext(0x002b, |w| {
        // supported_versions: GREASE, TLS 1.3, TLS 1.2
        w.scope(1, |w| [g[3], 0x0304, 0x0303].iter().for_each(|&v| w.u16(v)))
    });
    w.ext(0x001b, |w| w.bytes(&[2, 0, 2])); // compress_certificate: brotli
    w.ext(g[4], |w| w.u8(0));
    // Padding to HELLO_LEN: the extension's own 4 bytes count too.
    let now = w.0.len() + 4;
    if now <= HELLO_LEN {
        w.ext(EXT_PADDING, |w| w.bytes(&vec![0; HELLO_LEN - now]));
    }
}

/// The client's ClientHello record and its `random` (which the server's
/// answer is checked against). `now` is the unix time in seconds.
pub fn client_hello<R: RandomSource + ?Sized>(
    key: &[u8; 16],
    domain: &[u8],
    now: u32,
    rng: &mut R,
) -> (Vec<u8>, [u8; 32]) {
    let mut hello = unsigned_hello(domain, rng);
    let mut random = digest(key, &[&hello]);
    for (r, t) in random[28..].iter_mut().zip(now.to_le_bytes()) {
        *r ^= t;
    }
    hello[RANDOM_AT..RANDOM_AT + 32].copy_from_slice(&random);
    (hello, random)
}

/// What the server checks a ClientHello against.
#[derive(Debug, Clone, Copy)]
pub struct HelloPolicy {
    /// Accepted clock difference (server minus client), seconds: a hello
    /// older than `max_age` or ahead by more than `max_ahead` is refused.
    pub max_age: i64,
    pub max_ahead: i64,
}

impl Default for HelloPolicy {
    /// 20 minutes behind, 10 ahead: the slack MTProxy servers commonly allow
    /// for clients with a wrong clock.
    fn default() -> Self {
        Self {
            max_age: 20 * 60,
            max_ahead: 10 * 60,
        }
    }
}

/// A checked ClientHello, as the server's answer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedHello {
    /// The hello's random as received (the answer's digest covers it).
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    /// The client's timestamp (unix seconds).
    pub time: u32,
    /// Bytes the hello record took.
    pub len: usize,
}

fn bad(reason: &'static str) -> TransportError {
    TransportError::BadClientHello { reason }
}

/// A reader over a byte slice that fails with `BadClientHello`.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TransportError> {
        if self.0.len() < n {
            return Err(bad("truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, TransportError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, TransportError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self) -> Result<&'a [u8], TransportError> {
        let n = self.u8()?;
        self.take(n.into())
    }
    fn vec16(&mut self) -> Result<&'a [u8], TransportError> {
        let n = self.u16()?;
        self.take(n.into())
    }
}

/// The total length of the hello record at the start of `bytes`, once its
/// header has arrived (`None`: need more). Fails on anything but a
/// handshake record.
pub fn hello_len(bytes: &[u8]) -> Result<Option<usize>, TransportError> {
    let Some(h) = bytes.get(..RECORD_HEADER) else {
        if bytes.first().is_some_and(|&b| b != HANDSHAKE) {
            return Err(bad("not a handshake record"));
        }
        return Ok(None);
    };
    if h[0] != HANDSHAKE || h[1] != 3 {
        return Err(bad("not a handshake record"));
    }
    let len = RECORD_HEADER + usize::from(u16::from_be_bytes([h[3], h[4]]));
    if len > MAX_HELLO_LEN {
        return Err(bad("record too long"));
    }
    Ok(Some(len))
}

/// Finds the host name in the server_name extension of the hello's body.
fn server_name<'a>(body: &mut Reader<'a>) -> Result<Option<&'a [u8]>, TransportError> {
    let _version = body.take(2)?;
    let _random = body.take(32)?;
    let _session = body.vec8()?;
    let _suites = body.vec16()?;
    let _compression = body.vec8()?;
    let mut exts = Reader(body.vec16()?);
    let mut name = None;
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let mut data = Reader(exts.vec16()?);
        if kind == EXT_SERVER_NAME {
            let mut list = Reader(data.vec16()?);
            while !list.0.is_empty() {
                let name_type = list.u8()?;
                let host = list.vec16()?;
                if name_type == 0 {
                    name = Some(host);
                }
            }
        }
    }
    Ok(name)
}

/// Server side: checks the ClientHello record at the start of `bytes` (the
/// whole record must be there; see `hello_len`): its layout, the server name
/// against `domain`, the digest against `key` (in constant time), the
/// timestamp against `now` and `policy`, and `replay`, which then remembers
/// it. Nothing is remembered when a check fails.
pub fn accept_hello(
    bytes: &[u8],
    key: &[u8; 16],
    domain: &[u8],
    now: u32,
    policy: &HelloPolicy,
    replay: &mut ReplayCache,
) -> Result<AcceptedHello, TransportError> {
    let len = hello_len(bytes)?.ok_or(bad("truncated"))?;
    let record = bytes.get(..len).ok_or(bad("truncated"))?;
    let mut r = Reader(&record[RECORD_HEADER..]);
    if r.u8()? != 1 {
        return Err(bad("not a ClientHello"));
    }
    let body_len = r.take(3)?;
    let body_len = u32::from_be_bytes([0, body_len[0], body_len[1], body_len[2]]) as usize;
    if body_len != r.0.len() {
        return Err(bad("handshake length differs from the record's"));
    }
    let mut body = Reader(r.0);
    let session_id = {
        let mut s = Reader(body.0);
        s.take(34)?;
        s.vec8()?.to_vec()
    };
    if server_name(&mut body)? != Some(domain) {
        return Err(bad("server name is not the secret's domain"));
    }
    let random: [u8; 32] = record[RANDOM_AT..RANDOM_AT + 32]
        .try_into()
        .expect("32 bytes");
    let mut zeroed = record.to_vec();
    zeroed[RANDOM_AT..RANDOM_AT + 32].fill(0);
    let mut expect = digest(key, &[&zeroed]);
    for (e, r) in expect.iter_mut().zip(random) {
        *e ^= r;
    }
    // Constant time: the first 28 bytes must match exactly.
    if !bool::from(expect[..28].ct_eq(&[0u8; 28])) {
        return Err(TransportError::BadTlsDigest);
    }
    let time = u32::from_le_bytes(expect[28..].try_into().expect("4 bytes"));
    let skew = i64::from(now) - i64::from(time);
    if skew > policy.max_age || -skew > policy.max_ahead {
        return Err(TransportError::StaleTlsHello { skew });
    }
    if !replay.insert(random) {
        return Err(TransportError::ReplayedTlsHello);
    }
    Ok(AcceptedHello {
        random,
        session_id,
        time,
        len,
    })
}

//! JS binding of mtcore::transport::fake_tls: the two halves of the fake-TLS
//! handshake that `ee` MTProxy secrets ask for. The data phase after it is the
//! `TransportCodec` / `MtpLink` with the same `ee` secret.

use mtcore::transport::fake_tls::answer::{check_answer, server_answer};
use mtcore::transport::fake_tls::hello::{accept_hello, client_hello, hello_len, HelloPolicy};
use mtcore::transport::fake_tls::ReplayCache;
use mtcore::transport::ProxySecret;
use napi::bindgen_prelude::{Buffer, BufferSlice};
use napi_derive::napi;

use crate::errors::{coded, JsError};
use crate::random::with_random;
use crate::transport::transport_error;

/// The 16-byte key and the domain of an `ee` secret.
fn ee_secret(secret: &[u8]) -> Result<(ProxySecret, [u8; 16]), JsError> {
    let parsed = ProxySecret::from_bytes(secret).map_err(transport_error)?;
    if parsed.fake_tls_domain().is_none() {
        return Err(coded(
            "ERR_TRANSPORT_BAD_SECRET",
            "fake TLS needs an 'ee' secret (0xee, 16 bytes, domain)",
        ));
    }
    let key = *parsed.key();
    Ok((parsed, key))
}

/// Unix seconds of a JS time in ms (clamped to the u32 the hello carries).
fn unix_seconds(now_ms: f64) -> u32 {
    (now_ms / 1000.0).floor().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// Client half: the ClientHello to send first, then the check of the
/// server's answer. Send nothing else before `checkAnswer` returned a number.
#[napi]
pub struct FakeTlsClient {
    key: [u8; 16],
    random: [u8; 32],
    hello: Vec<u8>,
}

#[napi]
impl FakeTlsClient {
    /// `secret`: the `ee` secret's bytes; `now`: ms since the epoch (its
    /// seconds go into the hello, which the server checks against its clock).
    #[napi(constructor)]
    pub fn new(secret: BufferSlice, now: f64) -> Result<Self, JsError> {
        let (parsed, key) = ee_secret(&secret)?;
        let domain = parsed.fake_tls_domain().expect("checked");
        let (hello, random) =
            with_random(|rng| client_hello(&key, domain, unix_seconds(now), &mut { rng }))?;
        Ok(Self { key, random, hello })
    }

    /// The ClientHello record to write to the socket.
    #[napi(getter)]
    pub fn hello(&self) -> Buffer {
        Buffer::from(self.hello.as_slice())
    }

    /// Checks the server's answer, given everything received so far: null
    /// while it is incomplete, else the number of bytes it took (later
    /// bytes belong to the codec). Throws ERR_TRANSPORT_TLS_BAD_DIGEST (a
    /// server that does not know the secret) or ERR_TRANSPORT_TLS_BAD_ANSWER.
    #[napi]
    pub fn check_answer(&self, received: BufferSlice) -> Result<Option<u32>, JsError> {
        check_answer(&received, &self.key, &self.random)
            .map(|n| n.map(|n| n as u32))
            .map_err(transport_error)
    }
}

/// What `FakeTlsServer` checks hellos against.
#[napi(object)]
pub struct FakeTlsServerOptions {
    /// Oldest accepted hello, seconds behind the server's clock (default 1200).
    pub max_age_seconds: Option<u32>,
    /// Newest accepted hello, seconds ahead of the server's clock (default 600).
    pub max_ahead_seconds: Option<u32>,
    /// Hello randoms remembered against replays (default 100000).
    pub replay_capacity: Option<u32>,
}

#[napi(object, object_from_js = false)]
pub struct FakeTlsAccepted {
    /// ServerHello, ChangeCipherSpec and the fake certificate: write it back.
    pub answer: Buffer,
    /// Bytes of the input the hello took; what follows goes to the codec.
    pub consumed: u32,
}

/// Server half (for TestDc and proxies): checks ClientHellos of one `ee`
/// secret and answers them, remembering their randoms against replays
/// across connections.
#[napi]
pub struct FakeTlsServer {
    secret: ProxySecret,
    key: [u8; 16],
    policy: HelloPolicy,
    replay: ReplayCache,
}

#[napi]
impl FakeTlsServer {
    #[napi(constructor)]
    pub fn new(
        secret: BufferSlice,
        options: Option<FakeTlsServerOptions>,
    ) -> Result<Self, JsError> {
        let (secret, key) = ee_secret(&secret)?;
        let defaults = HelloPolicy::default();
        let o = options.unwrap_or(FakeTlsServerOptions {
            max_age_seconds: None,
            max_ahead_seconds: None,
            replay_capacity: None,
        });
        Ok(Self {
            secret,
            key,
            policy: HelloPolicy {
                max_age: o.max_age_seconds.map_or(defaults.max_age, i64::from),
                max_ahead: o.max_ahead_seconds.map_or(defaults.max_ahead, i64::from),
            },
            replay: o
                .replay_capacity
                .map_or_else(ReplayCache::default, |c| ReplayCache::new(c as usize)),
        })
    }

    /// Whether `received` (a connection's first bytes) starts like a TLS
    /// handshake record.
    #[napi]
    pub fn looks_like_hello(received: BufferSlice) -> bool {
        hello_len(&received).is_ok()
    }

    /// Checks the ClientHello at the start of `received` (everything the
    /// connection delivered so far) at `now` (ms since the epoch): null while
    /// it is incomplete, else the answer to write back. Throws
    /// ERR_TRANSPORT_TLS_BAD_HELLO, _BAD_DIGEST (wrong secret), _STALE, _REPLAY.
    #[napi]
    pub fn accept(
        &mut self,
        received: BufferSlice,
        now: f64,
    ) -> Result<Option<FakeTlsAccepted>, JsError> {
        let Some(len) = hello_len(&received).map_err(transport_error)? else {
            return Ok(None);
        };
        if received.len() < len {
            return Ok(None);
        }
        let domain = self.secret.fake_tls_domain().expect("checked");
        let hello = accept_hello(
            &received,
            &self.key,
            domain,
            unix_seconds(now),
            &self.policy,
            &mut self.replay,
        )
        .map_err(transport_error)?;
        let answer = with_random(|rng| {
            server_answer(&self.key, &hello.random, &hello.session_id, &mut { rng })
        })?;
        Ok(Some(FakeTlsAccepted {
            answer: answer.into(),
            consumed: hello.len as u32,
        }))
    }
}

//! The transport layer's error type.
//!
//! Every variant carries its data. "Need more bytes" is not an error: the
//! decoder simply yields nothing until a whole frame has arrived. Any decoding
//! error leaves the byte stream out of step, so the connection must be closed;
//! the codec remembers the error and returns it again from later calls.

use std::fmt;

/// What went wrong while framing or unframing MTProto packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// A frame announces (or a packet to send has) more payload bytes than the limit.
    FrameTooLong { len: usize, max: usize },
    /// A length field that no valid frame can hold (zero, or below the
    /// full transport's 12-byte minimum).
    BadLength { len: usize },
    /// The abridged transport counts in 4-byte words: the packet to send is not aligned.
    Unaligned { len: usize },
    /// Full transport: the CRC32 computed over the frame differs from its trailer.
    BadCrc { expected: u32, got: u32 },
    /// Full transport: the frame's sequence number is not the next one.
    BadSeq { expected: u32, got: u32 },
    /// Quick-ack was asked of a codec or role that cannot carry it (the full
    /// transport has none; a server answers with `quick_ack_answer`).
    QuickAckUnsupported,
    /// The connection's first bytes are not the preamble this server accepts.
    BadPreamble,
    /// The connection's first bytes belong to a protocol we do not speak
    /// (HTTP, or a TLS record to a server not set up with an `ee` secret).
    UnsupportedProtocol,
    /// The decrypted obfuscated2 init carries an unknown protocol tag (often:
    /// a wrong MTProxy secret), or one the server's settings do not allow.
    BadProtocolTag { tag: u32 },
    /// obfuscated2 has no protocol tag for the full transport.
    ObfuscatedFullUnsupported,
    /// A `dd` or `ee` MTProxy secret requires the padded intermediate transport.
    SecretRequiresPadded,
    /// An MTProxy secret that is neither 16 bytes, `dd` + 16 bytes, nor `ee` +
    /// 16 bytes + a printable domain of at most 253 bytes.
    BadSecret { len: usize },
    /// Fake TLS: a ClientHello that does not parse, or whose server name is
    /// not the secret's domain.
    BadClientHello { reason: &'static str },
    /// Fake TLS: the ServerHello answer does not parse.
    BadServerHello { reason: &'static str },
    /// Fake TLS: the HMAC in a hello's random does not match (a wrong
    /// secret, or tampered bytes).
    BadTlsDigest,
    /// Fake TLS: the ClientHello's timestamp is outside the server's window;
    /// `skew` is the server's time minus the client's, in seconds.
    StaleTlsHello { skew: i64 },
    /// Fake TLS: this ClientHello's random was seen before (a replay).
    ReplayedTlsHello,
    /// Fake TLS: a record of a type or version the data phase does not allow
    /// (an alert, a handshake record, a malformed ChangeCipherSpec...).
    BadTlsRecord { content_type: u8 },
    /// Fake TLS: a record longer than the limit.
    TlsRecordTooLong { len: usize, max: usize },
    /// The random source kept producing init headers the spec forbids.
    BadRandomness,
    /// A server cannot send before it has read the client's preamble.
    NotReady,
    /// `encode_in_place` got too little room around the payload.
    BufferTooSmall {
        needed_before: usize,
        needed_after: usize,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TransportError::*;
        match *self {
            FrameTooLong { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max}")
            }
            BadLength { len } => write!(f, "invalid frame length {len}"),
            Unaligned { len } => write!(f, "packet length {len} is not a multiple of 4"),
            BadCrc { expected, got } => {
                write!(
                    f,
                    "bad CRC32: computed {expected:#010x}, frame has {got:#010x}"
                )
            }
            BadSeq { expected, got } => write!(f, "bad sequence number {got}, expected {expected}"),
            QuickAckUnsupported => f.write_str("quick-ack is not available here"),
            BadPreamble => f.write_str("unexpected connection preamble"),
            UnsupportedProtocol => f.write_str("not an MTProto transport (HTTP or fake-TLS)"),
            BadProtocolTag { tag } => write!(f, "bad obfuscated2 protocol tag {tag:#010x}"),
            ObfuscatedFullUnsupported => {
                f.write_str("obfuscated2 has no protocol tag for the full transport")
            }
            SecretRequiresPadded => f.write_str(
                "a 'dd' or 'ee' proxy secret requires the padded intermediate transport",
            ),
            BadSecret { len } => write!(f, "proxy secret of {len} bytes is malformed"),
            BadClientHello { reason } => write!(f, "bad fake-TLS ClientHello: {reason}"),
            BadServerHello { reason } => write!(f, "bad fake-TLS server answer: {reason}"),
            BadTlsDigest => {
                f.write_str("fake-TLS digest mismatch (wrong secret or tampered hello)")
            }
            StaleTlsHello { skew } => {
                write!(
                    f,
                    "fake-TLS hello timestamp is {skew} s off the server's clock"
                )
            }
            ReplayedTlsHello => f.write_str("fake-TLS hello replayed"),
            BadTlsRecord { content_type } => {
                write!(f, "unexpected TLS record (type {content_type:#04x})")
            }
            TlsRecordTooLong { len, max } => {
                write!(f, "TLS record of {len} bytes exceeds the limit of {max}")
            }
            BadRandomness => f.write_str("random source produced only forbidden init headers"),
            NotReady => f.write_str("the client's preamble has not arrived yet"),
            BufferTooSmall {
                needed_before,
                needed_after,
            } => write!(
                f,
                "buffer needs {needed_before} bytes before and {needed_after} after the payload"
            ),
        }
    }
}

impl std::error::Error for TransportError {}

//! How a codec is set up, for each side of a connection.

use super::{Kind, ProxySecret, DEFAULT_MAX_PACKET_LEN};

/// A client connection's transport.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub kind: Kind,
    /// Wrap the transport in obfuscated2 (not available for `Kind::Full`).
    pub obfuscated: bool,
    /// MTProxy secret; implies `obfuscated`.
    pub secret: Option<ProxySecret>,
    /// DC id written into the obfuscated2 init (required by MTProxy; +10000
    /// for test DCs, negative for media DCs). Left random when `None`.
    pub dc_id: Option<i16>,
    /// Largest packet accepted or sent, in payload bytes.
    pub max_packet_len: usize,
}

impl ClientConfig {
    /// An unobfuscated client of `kind` with the default packet limit.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            obfuscated: false,
            secret: None,
            dc_id: None,
            max_packet_len: DEFAULT_MAX_PACKET_LEN,
        }
    }

    /// The same, wrapped in obfuscated2.
    pub fn obfuscated(kind: Kind) -> Self {
        Self {
            obfuscated: true,
            ..Self::new(kind)
        }
    }
}

/// A server connection's transport: what it accepts from clients.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The only transport accepted, or `None` for any (told from the preamble).
    pub kind: Option<Kind>,
    /// Accept unobfuscated connections.
    pub accept_plain: bool,
    /// Accept obfuscated2 connections.
    pub accept_obfuscated: bool,
    /// MTProxy secret that obfuscated2 clients must use.
    pub secret: Option<ProxySecret>,
    /// Largest packet accepted or sent, in payload bytes.
    pub max_packet_len: usize,
}

impl Default for ServerConfig {
    /// Any transport, plain or obfuscated, without a secret.
    fn default() -> Self {
        Self {
            kind: None,
            accept_plain: true,
            accept_obfuscated: true,
            secret: None,
            max_packet_len: DEFAULT_MAX_PACKET_LEN,
        }
    }
}

//! MTProxy secrets.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation
//! A secret is 16 bytes. Prefixed with 0xdd it means "use the padded
//! intermediate transport"; prefixed with 0xee (followed by a domain name) it
//! asks for the fake-TLS wrapper, which we do not implement.

use super::TransportError;

/// A parsed MTProxy secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySecret {
    key: [u8; 16],
    padded_required: bool,
}

impl ProxySecret {
    /// Parses the raw bytes of a secret: 16 bytes, or 0xdd and 16 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        let (padded_required, key) = match bytes {
            [0xee, rest @ ..] if rest.len() > 16 => return Err(TransportError::FakeTlsUnsupported),
            [0xdd, key @ ..] if key.len() == 16 => (true, key),
            key if key.len() == 16 => (false, key),
            _ => return Err(TransportError::BadSecret { len: bytes.len() }),
        };
        Ok(Self {
            key: key.try_into().expect("16 bytes"),
            padded_required,
        })
    }

    /// Parses a secret written in hex, as proxy links carry it.
    pub fn from_hex(text: &str) -> Result<Self, TransportError> {
        let bad = TransportError::BadSecret { len: text.len() };
        if !text.len().is_multiple_of(2) || !text.is_ascii() {
            return Err(bad);
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad)?;
        Self::from_bytes(&bytes)
    }

    /// The 16 bytes mixed into the obfuscated2 keys.
    pub fn key(&self) -> &[u8; 16] {
        &self.key
    }

    /// Whether the secret demands the padded intermediate transport.
    pub fn padded_required(&self) -> bool {
        self.padded_required
    }
}

// Never print key material.
impl std::fmt::Debug for ProxySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySecret")
            .field("padded_required", &self.padded_required)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let plain = ProxySecret::from_hex("00112233445566778899aabbccddeeff").unwrap();
        assert!(!plain.padded_required());
        assert_eq!(plain.key()[15], 0xff);
        let dd = ProxySecret::from_hex("dd00112233445566778899aabbccddeeff").unwrap();
        assert!(dd.padded_required());
        assert_eq!(dd.key(), plain.key());
        let mut ee = vec![0xee];
        ee.extend_from_slice(&[1; 16]);
        ee.extend_from_slice(b"example.com");
        assert_eq!(
            ProxySecret::from_bytes(&ee),
            Err(TransportError::FakeTlsUnsupported)
        );
        assert_eq!(
            ProxySecret::from_bytes(&[1; 15]),
            Err(TransportError::BadSecret { len: 15 })
        );
        assert_eq!(
            ProxySecret::from_hex("zz"),
            Err(TransportError::BadSecret { len: 2 })
        );
        assert_eq!(
            ProxySecret::from_hex("é0"),
            Err(TransportError::BadSecret { len: 3 })
        );
        assert!(!format!("{dd:?}").contains("11"));
    }
}

//! MTProxy secrets.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation
//! A secret is 16 bytes. Prefixed with 0xdd it means "use the padded
//! intermediate transport"; prefixed with 0xee and followed by a domain name
//! it asks for the fake-TLS wrapper (`super::fake_tls`), with the padded
//! intermediate transport inside it as clients use it.

use super::TransportError;

/// A parsed MTProxy secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySecret {
    key: [u8; 16],
    padded_required: bool,
    /// The `ee` form's domain: the ClientHello's server name.
    domain: Option<Vec<u8>>,
}

/// Longest domain an `ee` secret may carry (a DNS name's limit, RFC 1035 2.3.4).
const MAX_DOMAIN_LEN: usize = 253;

impl ProxySecret {
    /// Parses the raw bytes of a secret: 16 bytes, 0xdd and 16 bytes, or
    /// 0xee, 16 bytes and a domain name (printable ASCII, 1..=253 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        let bad = TransportError::BadSecret { len: bytes.len() };
        let (padded_required, key, domain) = match bytes {
            [0xee, rest @ ..] if rest.len() > 16 => {
                let (key, domain) = rest.split_at(16);
                let printable = domain.iter().all(|b| b.is_ascii_graphic());
                if domain.len() > MAX_DOMAIN_LEN || !printable {
                    return Err(bad);
                }
                (true, key, Some(domain.to_vec()))
            }
            [0xdd, key @ ..] if key.len() == 16 => (true, key, None),
            key if key.len() == 16 => (false, key, None),
            _ => return Err(bad),
        };
        Ok(Self {
            key: key.try_into().expect("16 bytes"),
            padded_required,
            domain,
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

    /// The domain of an `ee` secret: the connection is wrapped in fake TLS.
    pub fn fake_tls_domain(&self) -> Option<&[u8]> {
        self.domain.as_deref()
    }
}

// Never print key material.
impl std::fmt::Debug for ProxySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySecret")
            .field("padded_required", &self.padded_required)
            .field("fake_tls", &self.domain.is_some())
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
        let parsed = ProxySecret::from_bytes(&ee).unwrap();
        assert!(parsed.padded_required());
        assert_eq!(parsed.fake_tls_domain(), Some(&b"example.com"[..]));
        assert_eq!(parsed.key(), &[1; 16]);
        // The domain: 1..=253 printable bytes.
        let mut long = vec![0xee];
        long.extend_from_slice(&[1; 16]);
        long.extend_from_slice(&[b'a'; 253]);
        assert!(ProxySecret::from_bytes(&long).is_ok());
        long.push(b'a');
        assert!(ProxySecret::from_bytes(&long).is_err());
        assert!(!format!("{parsed:?}").contains("example"));
        ee.push(b' ');
        assert_eq!(
            ProxySecret::from_bytes(&ee),
            Err(TransportError::BadSecret { len: ee.len() })
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

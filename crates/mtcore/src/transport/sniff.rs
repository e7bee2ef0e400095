//! Server side: tell the transport from a connection's first bytes.
//!
//! Spec: https://core.telegram.org/mtproto/mtproto-transports: the server
//! recognizes the protocol by its header: 0xef is abridged, 0xeeeeeeee
//! intermediate, 0xdddddddd padded intermediate. A full-transport frame has
//! no preamble but starts with seqno 0 in bytes 4..8; an obfuscated2 init
//! never does (the client redraws it), nor does it start like the others.

use super::Kind;

/// What the first bytes of a connection say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Not enough bytes to tell yet.
    NeedMore,
    /// An unobfuscated transport; its preamble is the first `preamble` bytes.
    Plain { kind: Kind, preamble: usize },
    /// An obfuscated2 init header (64 bytes) follows.
    Obfuscated,
    /// HTTP or a TLS record: not an MTProto transport we speak.
    Unsupported,
}

/// First words of HTTP requests and of a TLS handshake record (LE u32).
const FOREIGN_FIRST_WORDS: [u32; 5] = [
    0x4441_4548, // HEAD
    0x5453_4f50, // POST
    0x2054_4547, // "GET "
    0x4954_504f, // OPTI(ONS)
    0x0201_0316, // 16 03 01 02: TLS handshake
];

/// Classifies a connection by its first bytes.
pub fn sniff(prefix: &[u8]) -> Sniffed {
    match prefix {
        [] => Sniffed::NeedMore,
        [0xef, ..] => Sniffed::Plain {
            kind: Kind::Abridged,
            preamble: 1,
        },
        [a, b, c, d, rest @ ..] => {
            let word = u32::from_le_bytes([*a, *b, *c, *d]);
            match word {
                0xeeee_eeee => Sniffed::Plain {
                    kind: Kind::Intermediate,
                    preamble: 4,
                },
                0xdddd_dddd => Sniffed::Plain {
                    kind: Kind::PaddedIntermediate,
                    preamble: 4,
                },
                w if FOREIGN_FIRST_WORDS.contains(&w) => Sniffed::Unsupported,
                _ => match rest.get(..4) {
                    None => Sniffed::NeedMore,
                    Some([0, 0, 0, 0]) => Sniffed::Plain {
                        kind: Kind::Full,
                        preamble: 0,
                    },
                    Some(_) => Sniffed::Obfuscated,
                },
            }
        }
        // Fewer than 4 bytes: only a prefix of a 4-byte tag is still ambiguous.
        _ => Sniffed::NeedMore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(sniff(&[]), Sniffed::NeedMore);
        assert_eq!(
            sniff(&[0xef]),
            Sniffed::Plain {
                kind: Kind::Abridged,
                preamble: 1
            }
        );
        assert_eq!(sniff(&[0xee, 0xee, 0xee]), Sniffed::NeedMore);
        assert_eq!(
            sniff(&[0xee; 5]),
            Sniffed::Plain {
                kind: Kind::Intermediate,
                preamble: 4
            }
        );
        assert_eq!(
            sniff(&[0xdd; 4]),
            Sniffed::Plain {
                kind: Kind::PaddedIntermediate,
                preamble: 4
            }
        );
        assert_eq!(sniff(&[40, 0, 0, 0, 0, 0, 0]), Sniffed::NeedMore);
        assert_eq!(
            sniff(&[40, 0, 0, 0, 0, 0, 0, 0, 9]),
            Sniffed::Plain {
                kind: Kind::Full,
                preamble: 0
            }
        );
        assert_eq!(sniff(&[40, 0, 0, 0, 0, 0, 1, 0]), Sniffed::Obfuscated);
        assert_eq!(sniff(b"POST /api"), Sniffed::Unsupported);
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x02, 0]), Sniffed::Unsupported);
    }
}

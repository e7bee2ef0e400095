//! gzip_packed: decompression bounded by a size limit, and compression for
//! the server side and the tests.
//!
//! Spec (https://core.telegram.org/mtproto/serialize#gzip-packed): the packed
//! data is a gzip stream of one serialized object.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::service::ctor;
use super::wire;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GzipError {
    /// The stream inflates past the limit (a decompression bomb, or a limit set too low).
    TooLarge {
        limit: usize,
    },
    Corrupt,
}

impl std::fmt::Display for GzipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(f, "gzip_packed inflates past {limit} bytes"),
            Self::Corrupt => write!(f, "gzip_packed data is not a valid gzip stream"),
        }
    }
}

impl std::error::Error for GzipError {}

/// Inflates `packed`, refusing to produce more than `limit` bytes.
///
/// Memory is bounded by the limit the caller gives (the packet's remaining inflate
/// budget), not by the stream's claims or a multiple of its size: the output starts at
/// the size the gzip trailer states (ISIZE, RFC 1952 section 2.3.1) when that is within
/// the limit, so an honest stream is inflated with one allocation of its exact size;
/// a stream that lies grows by doubling, never past `limit + 1` bytes of capacity.
pub fn gunzip(packed: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let cap = limit.saturating_add(1);
    let stated = packed
        .len()
        .checked_sub(4)
        .filter(|_| packed.len() >= 18)
        .map(|at| u32::from_le_bytes(packed[at..].try_into().expect("4 bytes")) as usize);
    // One byte more than stated, to see the end of the stream without growing.
    let first = match stated {
        Some(n) if n < cap => n + 1,
        _ => packed.len().saturating_mul(2).max(64).min(cap),
    };
    let mut out = Vec::new();
    if out.try_reserve_exact(first).is_err() {
        return Err(GzipError::TooLarge { limit: 0 });
    }
    out.resize(first, 0);
    let mut decoder = GzDecoder::new(packed);
    let mut len = 0;
    loop {
        if len == out.len() {
            if len >= cap {
                return Err(GzipError::TooLarge { limit });
            }
            let grown = len.saturating_mul(2).max(64).min(cap);
            // Exactly: `resize` alone may round the capacity up past the limit. An
            // allocation refused (an address-space limit) refuses the data, not the process.
            if out.try_reserve_exact(grown - out.len()).is_err() {
                return Err(GzipError::TooLarge { limit: len });
            }
            out.resize(grown, 0);
        }
        match decoder.read(&mut out[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(GzipError::Corrupt),
        }
    }
    if len > limit {
        return Err(GzipError::TooLarge { limit });
    }
    out.truncate(len);
    Ok(out)
}

/// The first `n` inflated bytes of `packed`, if the stream is readable that far:
/// enough to tell which answer an unreadable gzip_packed carried (an rpc_result's
/// constructor and req_msg_id lead its data) at the cost of a few bytes of output.
pub fn peek(packed: &[u8], n: usize) -> Option<Vec<u8>> {
    let mut out = vec![0; n];
    GzDecoder::new(packed).read_exact(&mut out).ok()?;
    Some(out)
}

/// Serializes `gzip_packed` around `object`.
pub fn gzip_packed(object: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(object).expect("writing to a Vec");
    let packed = enc.finish().expect("writing to a Vec");
    let mut out = Vec::with_capacity(4 + wire::bytes_len(packed.len()));
    wire::put_u32(&mut out, ctor::GZIP_PACKED);
    wire::put_bytes(&mut out, &packed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::service::{parse, Service};

    #[test]
    fn round_trip_and_limits() {
        let object: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let packed = gzip_packed(&object);
        assert!(packed.len() < object.len() / 4);
        let Service::GzipPacked(data) = parse(&packed).unwrap() else {
            panic!()
        };
        assert_eq!(gunzip(data, object.len()).unwrap(), object);
        assert_eq!(
            gunzip(data, object.len() - 1),
            Err(GzipError::TooLarge {
                limit: object.len() - 1
            })
        );
        let mut bad = data.to_vec();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        assert!(gunzip(&bad, usize::MAX >> 8).is_err());
        assert_eq!(gunzip(b"not gzip", 100), Err(GzipError::Corrupt));
    }

    #[test]
    fn capacity_never_passes_the_limit() {
        let zeros = vec![0u8; 3 << 20];
        let packed = gzip_packed(&zeros);
        let Service::GzipPacked(data) = parse(&packed).unwrap() else {
            panic!()
        };
        let out = gunzip(data, zeros.len()).unwrap();
        assert_eq!(out.len(), zeros.len());
        assert!(out.capacity() <= zeros.len() + 1, "{}", out.capacity());
        // A trailer that understates (or overstates) the size changes nothing but the
        // first allocation.
        for isize in [0u32, 100, u32::MAX] {
            let mut lying = data.to_vec();
            let at = lying.len() - 4;
            lying[at..].copy_from_slice(&isize.to_le_bytes());
            // The CRC still holds; flate2 checks ISIZE too, so the stream is refused
            // after inflating, within the limit all the same.
            assert!(gunzip(&lying, zeros.len()).is_err());
            assert_eq!(
                gunzip(&lying, 1000),
                Err(GzipError::TooLarge { limit: 1000 })
            );
        }
        assert_eq!(gunzip(data, 0), Err(GzipError::TooLarge { limit: 0 }));
        assert_eq!(gunzip(data, 100), Err(GzipError::TooLarge { limit: 100 }));
        // The first bytes of a stream too large (or broken later) are still readable.
        assert_eq!(peek(data, 12), Some(vec![0; 12]));
        let mut cut = data.to_vec();
        cut.truncate(30);
        assert_eq!(gunzip(&cut, 1 << 30), Err(GzipError::Corrupt));
        assert_eq!(peek(b"not gzip at all", 4), None);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 8 << 20];
        let packed = gzip_packed(&zeros);
        assert!(packed.len() < 20_000);
        let Service::GzipPacked(data) = parse(&packed).unwrap() else {
            panic!()
        };
        assert_eq!(
            gunzip(data, 1 << 20),
            Err(GzipError::TooLarge { limit: 1 << 20 })
        );
    }
}

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
pub fn gunzip(packed: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let mut out = Vec::with_capacity((packed.len() * 4).min(limit));
    let mut decoder = GzDecoder::new(packed).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|_| GzipError::Corrupt)?;
    if out.len() > limit {
        return Err(GzipError::TooLarge { limit });
    }
    Ok(out)
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

//! TL primitives for the hand-written service-message codecs: little-endian
//! ints, `bytes`/`string` (length-prefixed, padded to 4), `Vector<long>`.
//!
//! Spec: https://core.telegram.org/mtproto/serialize

/// Constructor of the boxed `Vector t`.
pub const VECTOR: u32 = 0x1cb5_c415;

/// A TL value that does not parse: what was expected and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub what: &'static str,
    pub at: usize,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed {} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for ParseError {}

/// A cursor over TL bytes; every read checks bounds.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Everything this reader covers, read or not.
    pub fn whole(&self) -> &'a [u8] {
        self.buf
    }

    fn err(&self, what: &'static str) -> ParseError {
        ParseError { what, at: self.pos }
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err(what))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn i32(&mut self, what: &'static str) -> Result<i32, ParseError> {
        Ok(self.u32(what)? as i32)
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, ParseError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// TL `bytes`/`string`: a 1-byte length (< 254) or 0xfe and a 3-byte length,
    /// then the data, padded to a multiple of 4.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], ParseError> {
        let first = *self.take(1, what)?.first().expect("1 byte");
        let (len, head) = if first == 254 {
            let l = self.take(3, what)?;
            (
                usize::from(l[0]) | usize::from(l[1]) << 8 | usize::from(l[2]) << 16,
                4,
            )
        } else if first == 255 {
            return Err(self.err(what));
        } else {
            (usize::from(first), 1)
        };
        let data = self.take(len, what)?;
        let pad = (4 - (head + len) % 4) % 4;
        self.take(pad, what)?;
        Ok(data)
    }

    /// A boxed `Vector<long>`; `max` bounds the count before anything is allocated.
    pub fn long_vector(&mut self, max: usize, what: &'static str) -> Result<Vec<u64>, ParseError> {
        if self.u32(what)? != VECTOR {
            return Err(self.err(what));
        }
        let n = self.u32(what)? as usize;
        if n > max || n * 8 > self.buf.len() - self.pos {
            return Err(self.err(what));
        }
        (0..n).map(|_| self.u64(what)).collect()
    }
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Length of `bytes` of `len` bytes once serialized.
pub fn bytes_len(len: usize) -> usize {
    let head = if len < 254 { 1 } else { 4 };
    (head + len).div_ceil(4) * 4
}

pub fn put_bytes(out: &mut Vec<u8>, data: &[u8]) {
    let head = if data.len() < 254 {
        out.push(data.len() as u8);
        1
    } else {
        out.push(254);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes()[..3]);
        4
    };
    out.extend_from_slice(data);
    let pad = (4 - (head + data.len()) % 4) % 4;
    out.extend_from_slice(&[0u8; 3][..pad]);
}

/// `ctor` followed by a boxed `Vector<long>` (msgs_ack, msgs_state_req, msg_resend_req).
pub fn long_vector_message(ctor: u32, ids: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + 8 * ids.len());
    put_u32(&mut out, ctor);
    put_u32(&mut out, VECTOR);
    put_u32(&mut out, ids.len() as u32);
    for &id in ids {
        put_u64(&mut out, id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_short_and_long() {
        for len in [0usize, 1, 3, 4, 253, 254, 255, 1000, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            put_bytes(&mut out, &data);
            assert_eq!(out.len(), bytes_len(len), "len {len}");
            assert_eq!(out.len() % 4, 0);
            let mut r = Reader::new(&out);
            assert_eq!(r.bytes("b").unwrap(), &data[..]);
            assert!(r.rest().is_empty());
        }
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let msg = long_vector_message(0x62d6_b459, &[1, 2, 3]);
        for cut in 0..msg.len() {
            let mut r = Reader::new(&msg[..cut]);
            let ok = r.u32("ctor").and_then(|_| r.long_vector(8192, "ids"));
            assert!(ok.is_err(), "cut at {cut}");
        }
        let mut r = Reader::new(&msg);
        r.u32("ctor").unwrap();
        assert_eq!(r.long_vector(8192, "ids").unwrap(), vec![1, 2, 3]);
        // A count larger than the bytes left is rejected before allocating.
        let mut huge = msg.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = Reader::new(&huge);
        r.u32("ctor").unwrap();
        assert!(r.long_vector(usize::MAX, "ids").is_err());
    }
}

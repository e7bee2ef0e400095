//! The receive buffer of one connection.
//!
//! Bytes are appended at the end and consumed from a moving start, so a
//! frame that arrives in many small chunks costs amortized linear time. The
//! consumed prefix is reclaimed only once it is at least as long as what is
//! left, so every byte is moved a bounded number of times.

/// Above this capacity an emptied buffer gives its memory back, so that one
/// large frame does not pin megabytes to an idle connection.
const KEEP_CAPACITY: usize = 64 * 1024;
/// Above this capacity a buffer with nothing unread is freed (`release_if_empty`),
/// so that thousands of idle connections do not each hold their largest burst.
const IDLE_CAPACITY: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct Inbox {
    data: Vec<u8>,
    start: usize,
}

impl Inbox {
    /// The bytes not consumed yet.
    pub fn unread(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// The bytes not consumed yet, mutable (for decryption in place).
    pub fn unread_mut(&mut self) -> &mut [u8] {
        &mut self.data[self.start..]
    }

    /// Marks the next `n` unread bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.data.len() - self.start);
        self.start += n;
    }

    /// `len` bytes of what was consumed, starting `back` bytes before the
    /// current start (so a frame's body can be lent out after its consumption).
    pub fn consumed_slice_mut(&mut self, back: usize, len: usize) -> &mut [u8] {
        let begin = self.start - back;
        &mut self.data[begin..begin + len]
    }

    /// Appends `chunk`; returns the offset of its first byte within `unread`.
    pub fn append(&mut self, chunk: &[u8]) -> usize {
        let left = self.data.len() - self.start;
        if left == 0 {
            self.data.clear();
            self.start = 0;
            if self.data.capacity() > KEEP_CAPACITY && chunk.len() <= KEEP_CAPACITY {
                self.data.shrink_to(KEEP_CAPACITY);
            }
        } else if self.start >= left {
            self.data.copy_within(self.start.., 0);
            self.data.truncate(left);
            self.start = 0;
        }
        self.data.extend_from_slice(chunk);
        left
    }

    /// Frees the buffer when nothing is left to read and it outgrew a small
    /// message (the next `append` allocates again).
    pub fn release_if_empty(&mut self) {
        if self.start == self.data.len() && self.data.capacity() > IDLE_CAPACITY {
            self.data = Vec::new();
            self.start = 0;
        }
    }

    /// Bytes buffered and not consumed.
    pub fn len(&self) -> usize {
        self.data.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_consumes_and_compacts() {
        let mut inbox = Inbox::default();
        assert_eq!(inbox.append(&[1, 2, 3]), 0);
        inbox.consume(2);
        assert_eq!(inbox.unread(), &[3]);
        // Consumed prefix (2) >= remaining (1): compacted before appending.
        assert_eq!(inbox.append(&[4, 5]), 1);
        assert_eq!(inbox.unread(), &[3, 4, 5]);
        assert_eq!(inbox.start, 0);
        inbox.consume(3);
        assert_eq!(inbox.len(), 0);
        assert_eq!(inbox.append(&[6]), 0);
        assert_eq!(inbox.unread(), &[6]);
    }

    #[test]
    fn gives_back_memory_after_a_large_frame() {
        let mut inbox = Inbox::default();
        inbox.append(&vec![0; 1 << 20]);
        inbox.consume(1 << 20);
        inbox.append(&[1]);
        assert!(inbox.data.capacity() <= KEEP_CAPACITY);
    }

    #[test]
    fn an_idle_buffer_is_freed() {
        let mut inbox = Inbox::default();
        inbox.append(&[7; 4096]);
        inbox.consume(4000);
        inbox.release_if_empty();
        assert_eq!(inbox.unread(), &[7; 96][..], "unread bytes stay");
        inbox.consume(96);
        inbox.release_if_empty();
        assert_eq!(inbox.data.capacity(), 0);
        assert_eq!(inbox.append(&[1, 2]), 0);
        assert_eq!(inbox.unread(), &[1, 2]);
        inbox.consume(2);
        inbox.release_if_empty();
        assert!(inbox.data.capacity() > 0, "a small buffer is kept");
    }
}

//! MLLP framing (HL7 v2 Minimal Lower Layer Protocol): `0x0B <message> 0x1C 0x0D`. A pure
//! reader that is fed bytes as they arrive and yields whole frames, with a size limit applied
//! before anything more is buffered. Framing only: it knows nothing of HL7.

/// Start block.
pub const START: u8 = 0x0B;
/// End block.
pub const END: u8 = 0x1C;
/// Carriage return after the end block.
pub const CR: u8 = 0x0D;
/// How much of an oversized frame is kept, to read its MSH for the answer.
pub const OVERSIZE_PREFIX: usize = 4096;

/// Wraps a message in an MLLP frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.extend_from_slice(&[END, CR]);
    out
}

/// What the reader found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole frame's content.
    Frame(Vec<u8>),
    /// A frame over the size limit: its first [`OVERSIZE_PREFIX`] bytes and its full size.
    Oversized {
        /// The start of the content.
        prefix: Vec<u8>,
        /// Its full size in bytes.
        size: usize,
    },
    /// A frame cut off (a new start block, or the end of the stream, before its end block);
    /// `size` bytes of it were read and are discarded: the sender had no answer, so it resends.
    Truncated {
        /// Bytes discarded.
        size: usize,
    },
    /// Bytes outside any frame, discarded.
    Garbage {
        /// How many.
        size: usize,
    },
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Idle,
    InFrame,
    Oversize { size: usize },
}

/// Turns a byte stream into [`Event`]s.
#[derive(Debug)]
pub struct FrameReader {
    max_frame: usize,
    state: State,
    buf: Vec<u8>,
    garbage: usize,
}

impl FrameReader {
    /// A reader refusing frames over `max_frame` bytes of content.
    pub fn new(max_frame: usize) -> Self {
        Self {
            max_frame,
            state: State::Idle,
            buf: Vec::new(),
            garbage: 0,
        }
    }

    /// Whether a frame has started and not ended.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Feeds bytes; returns what they completed, in order.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        while !bytes.is_empty() {
            bytes = match self.state {
                State::Idle => self.idle(bytes, &mut events),
                State::InFrame | State::Oversize { .. } => self.in_frame_bytes(bytes, &mut events),
            };
        }
        events
    }

    /// The stream ended: a frame in progress is truncated, stray bytes are garbage.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        self.flush_garbage(&mut events);
        if self.in_frame() {
            events.push(Event::Truncated {
                size: self.current_size(),
            });
        }
        self.reset();
        events
    }

    fn idle<'b>(&mut self, bytes: &'b [u8], events: &mut Vec<Event>) -> &'b [u8] {
        match bytes.iter().position(|b| *b == START) {
            Some(at) => {
                self.count_garbage(&bytes[..at]);
                self.flush_garbage(events);
                self.state = State::InFrame;
                &bytes[at + 1..]
            }
            None => {
                self.count_garbage(bytes);
                &[]
            }
        }
    }

    /// Whitespace between frames (a stray CR or LF after the end block) is not garbage.
    fn count_garbage(&mut self, bytes: &[u8]) {
        self.garbage += bytes.iter().filter(|b| !b.is_ascii_whitespace()).count();
    }

    fn flush_garbage(&mut self, events: &mut Vec<Event>) {
        if self.garbage > 0 {
            events.push(Event::Garbage { size: self.garbage });
            self.garbage = 0;
        }
    }

    fn in_frame_bytes<'b>(&mut self, bytes: &'b [u8], events: &mut Vec<Event>) -> &'b [u8] {
        let stop = bytes.iter().position(|b| *b == END || *b == START);
        let (data, rest) = match stop {
            Some(at) => (&bytes[..at], &bytes[at..]),
            None => (bytes, &[][..]),
        };
        self.take(data);
        match rest.first() {
            Some(&END) => {
                events.push(self.complete());
                // The CR after the end block, if present, belongs to the frame.
                let rest = &rest[1..];
                rest.strip_prefix(&[CR]).unwrap_or(rest)
            }
            Some(_) => {
                events.push(Event::Truncated {
                    size: self.current_size(),
                });
                self.reset();
                rest
            }
            None => rest,
        }
    }

    fn take(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Oversize { size } => *size += data.len(),
            _ if self.buf.len() + data.len() > self.max_frame => {
                let size = self.buf.len() + data.len();
                let keep = OVERSIZE_PREFIX
                    .saturating_sub(self.buf.len())
                    .min(data.len());
                self.buf.extend_from_slice(&data[..keep]);
                self.buf.truncate(OVERSIZE_PREFIX);
                self.buf.shrink_to_fit();
                self.state = State::Oversize { size };
            }
            _ => {
                // Grow by doubling, but never past the limit.
                let needed = self.buf.len() + data.len();
                if needed > self.buf.capacity() {
                    let target = needed.max(self.buf.capacity() * 2).min(self.max_frame);
                    self.buf.reserve_exact(target - self.buf.len());
                }
                self.buf.extend_from_slice(data);
            }
        }
    }

    fn current_size(&self) -> usize {
        match self.state {
            State::Oversize { size } => size,
            _ => self.buf.len(),
        }
    }

    fn complete(&mut self) -> Event {
        let content = std::mem::take(&mut self.buf);
        let event = match self.state {
            State::Oversize { size } => Event::Oversized {
                prefix: content,
                size,
            },
            _ => Event::Frame(content),
        };
        self.state = State::Idle;
        event
    }

    fn reset(&mut self) {
        self.buf = Vec::new();
        self.state = State::Idle;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(reader: &mut FrameReader, chunks: &[&[u8]]) -> Vec<Event> {
        chunks.iter().flat_map(|c| reader.push(c)).collect()
    }

    #[test]
    fn reads_frames_across_any_chunking() {
        let stream = [frame(b"MSH|one"), frame(b"MSH|two")].concat();
        for size in 1..stream.len() {
            let mut reader = FrameReader::new(1024);
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            let events = feed(&mut reader, &chunks);
            assert_eq!(
                events,
                vec![
                    Event::Frame(b"MSH|one".to_vec()),
                    Event::Frame(b"MSH|two".to_vec())
                ],
                "chunk size {size}"
            );
            assert!(reader.finish().is_empty());
        }
    }

    #[test]
    fn reports_garbage_truncation_and_eof() {
        let mut reader = FrameReader::new(1024);
        let events = reader.push(b"noise\r\n\x0bMSH|cut\x0bMSH|whole\x1c\x0d\r\n\x0bMSH|tail");
        assert_eq!(
            events,
            vec![
                Event::Garbage { size: 5 },
                Event::Truncated { size: 7 },
                Event::Frame(b"MSH|whole".to_vec()),
            ]
        );
        assert!(reader.in_frame());
        assert_eq!(reader.finish(), vec![Event::Truncated { size: 8 }]);
        assert!(!reader.in_frame());
    }

    #[test]
    fn refuses_oversized_frames_without_buffering_them() {
        let mut reader = FrameReader::new(10_000);
        let big = vec![b'x'; 50_000];
        let mut events = reader.push(b"\x0bMSH|");
        for chunk in big.chunks(999) {
            events.extend(reader.push(chunk));
            assert!(reader.buf.capacity() <= 10_000);
        }
        events.extend(reader.push(b"\x1c\x0d\x0bMSH|ok\x1c\x0d"));
        match events.as_slice() {
            [Event::Oversized { prefix, size }, Event::Frame(ok)] => {
                assert_eq!(*size, 50_004);
                assert_eq!(prefix.len(), OVERSIZE_PREFIX);
                assert!(prefix.starts_with(b"MSH|"));
                assert_eq!(ok, b"MSH|ok");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_end_block_without_cr_still_ends_the_frame() {
        let mut reader = FrameReader::new(100);
        assert_eq!(
            reader.push(b"\x0bA\x1c\x0bB\x1c\x0d"),
            vec![Event::Frame(b"A".to_vec()), Event::Frame(b"B".to_vec())]
        );
    }
}

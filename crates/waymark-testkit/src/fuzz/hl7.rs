//! HL7 v2: the ER7 reader (`waymark_mapping::er7`, shared by the map stage and the ExceliCare
//! adapter) and the ExceliCare MLLP framing and ingest.

use waymark_adapter_excelicare::{FrameReader, MllpEvent, OVERSIZE_PREFIX, ingest, read_ack};
use waymark_mapping::er7::{self, Delimiters};

use super::received_at;

/// ER7: parse, every value accessor, the mapping tree; escaping round-trips for any text.
pub fn er7(data: &[u8]) {
    if let Ok(message) = er7::parse(data) {
        let _tree = message.to_tree();
        for segment in message.segments.iter().take(64) {
            for field in 0..=segment.fields.len().min(32) + 1 {
                let _ = message.value(segment.name, field, 1);
                let _ = message.value(segment.name, field, 3);
            }
        }
        let d = message.delimiters;
        for raw in message.segments.iter().flat_map(|s| &s.fields).take(256) {
            let _ = er7::unescape(raw, &d);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let d = Delimiters::default();
        let back = er7::unescape(&er7::escape(text, &d), &d);
        assert_eq!(
            back,
            text.replace('\r', ""),
            "escape then unescape is the identity"
        );
    }
}

/// MLLP: the byte stream cut into chunks (sizes from the first byte) through a reader with a
/// small frame limit; each whole frame through the adapter's `ingest` (MSH checks, ids, the
/// envelope) and the ACK reader.
pub fn mllp(data: &[u8]) {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let max_frame = 512;
    let mut reader = FrameReader::new(max_frame);
    let mut events = Vec::new();
    for part in stream.chunks(chunk) {
        events.extend(reader.push(part));
    }
    events.extend(reader.finish());
    assert!(!reader.in_frame(), "finish leaves no frame open");
    for event in events {
        match event {
            MllpEvent::Frame(content) => {
                assert!(
                    content.len() <= max_frame,
                    "a frame over the limit was buffered"
                );
                let _ack = read_ack(&content);
                let _ingested = ingest(content, received_at());
            }
            MllpEvent::Oversized { prefix, size } => {
                assert!(prefix.len() <= OVERSIZE_PREFIX && size > max_frame);
            }
            MllpEvent::Truncated { .. } | MllpEvent::Garbage { .. } => {}
        }
    }
}

//! Hostile input limits at the MLLP server, on a live connection: a frame over
//! `max_frame_bytes` is answered `AR` 104 without being buffered or published; a message of
//! more than `MAX_SEGMENTS` segments is published unread with `context.error`
//! `excelicare.too-many-segments` (the map stage quarantines it) and answered `AE`; a frame of
//! 100,000 `[` is unreadable, published for quarantine. Each answered promptly.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use waymark_adapter_excelicare::{
    AckCode, MAX_SEGMENTS, Script, TOO_MANY_SEGMENTS, UNREADABLE, frame, ingest, read_ack,
};

use crate::common::{Harness, error_code, test_config};

async fn answer(stream: &mut TcpStream, sent: &[u8]) -> (AckCode, Option<String>, Duration) {
    let started = Instant::now();
    stream.write_all(sent).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.ends_with(&[0x1c, 0x0d]) {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("answered within 30 s")
            .unwrap();
        assert!(n > 0, "connection closed before an answer");
        out.extend_from_slice(&buf[..n]);
    }
    let ack = read_ack(&out[1..out.len() - 2]).unwrap();
    (ack.code, ack.error_code.clone(), started.elapsed())
}

fn with_segments(message: &[u8], extra: usize) -> Vec<u8> {
    let mut big = message.to_vec();
    for n in 0..extra {
        big.extend_from_slice(format!("\rNTE|{n}||note").as_bytes());
    }
    big
}

#[tokio::test]
async fn hostile_frames_are_refused_or_quarantined_fast() {
    let harness = Harness::start_with(test_config()).await;
    let limit = test_config().max_frame_bytes;
    let message = Script::synthetic(21, 3).items()[0].bytes.clone();
    let mut stream = TcpStream::connect(harness.addr).await.unwrap();

    let oversized = with_segments(&message, 100_000);
    assert!(oversized.len() > limit);
    let (code, err, took) = answer(&mut stream, &frame(&oversized)).await;
    eprintln!(
        "MLLP: {} byte frame over the {limit} byte limit: {code:?} {err:?} in {took:?}",
        oversized.len()
    );
    assert_eq!((code, err.as_deref()), (AckCode::Reject, Some("104")));

    let many = with_segments(&message, MAX_SEGMENTS);
    assert!(many.len() < limit);
    let (code, err, took) = answer(&mut stream, &frame(&many)).await;
    eprintln!("MLLP: over {MAX_SEGMENTS} segments: {code:?} {err:?} in {took:?}");
    assert_eq!((code, err.as_deref()), (AckCode::Error, Some("100")));

    let deep = vec![b'['; 100_000];
    let (code, err, took) = answer(&mut stream, &frame(&deep)).await;
    eprintln!("MLLP: 100,000 `[`: {code:?} {err:?} in {took:?}");
    assert_eq!((code, err.as_deref()), (AckCode::Error, Some("100")));

    let published = harness.bus.drain().await;
    let codes: Vec<Option<String>> = published.values().map(error_code).collect();
    assert_eq!(
        codes.len(),
        2,
        "the oversized frame is not published: {codes:?}"
    );
    assert!(
        codes.contains(&Some(TOO_MANY_SEGMENTS.to_owned())),
        "{codes:?}"
    );
    assert!(codes.contains(&Some(UNREADABLE.to_owned())), "{codes:?}");
}

#[test]
fn a_message_over_the_segment_limit_keeps_its_id_and_bytes() {
    let message = Script::synthetic(22, 3).items()[0].bytes.clone();
    let at = chrono::Utc::now();
    let normal = ingest(message.clone(), at);
    let big = with_segments(&message, MAX_SEGMENTS);
    let refused = ingest(big.clone(), at);
    assert_eq!(refused.error_code(), Some(TOO_MANY_SEGMENTS));
    assert_eq!(refused.code, AckCode::Error);
    assert_eq!(refused.envelope.id, normal.envelope.id, "same MSH, same id");
    assert_eq!(refused.envelope.payload.expose(), &big);
    let own = message
        .split(|b| *b == b'\r')
        .filter(|l| !l.is_empty())
        .count();
    let at_limit = with_segments(&message, MAX_SEGMENTS - own);
    assert_ne!(ingest(at_limit, at).error_code(), Some(TOO_MANY_SEGMENTS));
    let blank = [message.clone(), vec![b'\r'; 1_000_000]].concat();
    assert_ne!(
        ingest(blank, at).error_code(),
        Some(TOO_MANY_SEGMENTS),
        "blank lines are not segments"
    );
}

//! Hostile input limits at the SNS endpoint on a live socket (the oneshot cases are in
//! `faults.rs`): a body streamed chunked with no length is cut at `MAX_BODY_BYTES` and answered
//! 413 without being published; 100,000 `[` and a 1,000,000-element array are answered 200 and
//! published for quarantine or mapping, never a stack overflow. Times printed.

use crate::common;

use std::time::{Duration, Instant};

use common::{Harness, error_code};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use waymark_adapter_nomis::{MAX_BODY_BYTES, Population};

/// POSTs `total` bytes of `chunk` repeated, chunked, to the endpoint; the HTTP status.
async fn post_chunked(endpoint: &str, chunk: &[u8], total: usize) -> u16 {
    let addr = endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "POST /sns HTTP/1.1\r\nhost: hub\r\nx-amz-sns-message-type: Notification\r\ntransfer-encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0;
    while sent < total {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut answer))
        .await
        .expect("answered within 30 s")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn hostile_bodies_on_a_live_socket_are_answered_fast() {
    let harness = Harness::start(Population::synthetic(41, 1)).await;
    let endpoint = harness.adapter.endpoint();

    let started = Instant::now();
    let status = post_chunked(
        &endpoint,
        &[b' '; 64 * 1024],
        MAX_BODY_BYTES + 4 * 1024 * 1024,
    )
    .await;
    eprintln!(
        "nomis: {} MiB chunked body: {status} in {:?}",
        (MAX_BODY_BYTES >> 20) + 4,
        started.elapsed()
    );
    assert_eq!(status, 413);
    assert!(harness.bus.envelopes().is_empty(), "nothing published");

    let started = Instant::now();
    let status = post_chunked(&endpoint, &[b'['; 10_000], 100_000).await;
    eprintln!("nomis: 100,000 `[`: {status} in {:?}", started.elapsed());
    assert_eq!(status, 200);

    let message = format!(
        r#"{{"eventType":"X","list":[{}0]}}"#,
        "0,".repeat(1_000_000)
    );
    let body = serde_json::json!({"Type": "Notification", "MessageId": "big", "Message": message})
        .to_string();
    let started = Instant::now();
    let status = post_chunked(&endpoint, body.as_bytes(), body.len()).await;
    eprintln!(
        "nomis: 1,000,000-element array ({} bytes): {status} in {:?}",
        body.len(),
        started.elapsed()
    );
    assert_eq!(status, 200);

    let envelopes = harness.bus.envelopes();
    assert_eq!(envelopes.len(), 2);
    let deep = envelopes
        .iter()
        .find(|e| e.payload.expose().starts_with(b"[[["))
        .unwrap();
    assert!(
        error_code(deep).is_some(),
        "the nested body is flagged for quarantine"
    );
}

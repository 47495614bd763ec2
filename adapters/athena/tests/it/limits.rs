//! Hostile pages: a feed body over `MAX_PAGE_BYTES` (declared or streamed without a length) is
//! refused while reading, a page of more than `MAX_PAGE_EVENTS` events and a page nested
//! 100,000 deep are refused as typed errors without a stack overflow; nothing is published.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::watch,
};
use waymark_adapter_athena::{
    AdapterContext, AthenaConfig, AthenaError, MAX_PAGE_BYTES, MAX_PAGE_EVENTS, Page,
};

use crate::common::GateBus;

fn events(n: usize) -> Vec<u8> {
    let one =
        r#"{"eventId":"e","sequence":1,"kind":"arrival","occurredAt":"2024-03-01T10:00:00Z"}"#;
    format!(
        r#"{{"events":[{}],"hasMore":false}}"#,
        vec![one; n].join(",")
    )
    .into_bytes()
}

#[test]
fn pages_over_the_limits_are_typed_refusals() {
    assert_eq!(
        Page::parse(&events(MAX_PAGE_EVENTS)).unwrap().events.len(),
        MAX_PAGE_EVENTS
    );
    let started = Instant::now();
    let many = Page::parse(&events(MAX_PAGE_EVENTS + 1));
    assert!(matches!(many, Err(AthenaError::TooLarge { limit }) if limit == MAX_PAGE_EVENTS));
    let numbers = [
        b"{\"events\":[".as_slice(),
        &b"1,".repeat(3_000_000),
        b"1]}",
    ]
    .concat();
    assert!(matches!(
        Page::parse(&numbers),
        Err(AthenaError::TooLarge { .. })
    ));
    let huge = vec![b' '; MAX_PAGE_BYTES + 1];
    assert!(
        matches!(Page::parse(&huge), Err(AthenaError::TooLarge { limit }) if limit == MAX_PAGE_BYTES)
    );
    for deep in [
        [b"{\"events\":[".as_slice(), &[b'['; 100_000]].concat(),
        vec![b'['; 100_000],
        [b"{\"events\":[".as_slice(), &b"{\"a\":".repeat(100_000)].concat(),
    ] {
        assert!(matches!(Page::parse(&deep), Err(AthenaError::InvalidPage)));
    }
    eprintln!("athena: hostile pages refused in {:?}", started.elapsed());
}

/// A feed that hands out a token and then streams `body_len` bytes of a page with no length.
async fn hostile_feed(body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = socket.read(&mut head).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&head[..n]).into_owned();
                if head.contains("/oauth/token") {
                    let body = r#"{"access_token":"t","expires_in":3600}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    return;
                }
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"events\":[").await;
                let chunk = b"1,".repeat(32 * 1024);
                let mut sent = 0;
                while sent < body_len {
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_oversized_streamed_page_is_refused_and_nothing_published() {
    let dir = tempfile::tempdir().unwrap();
    let bus = GateBus::open(&dir.path().join("bus.db")).await;
    let base = hostile_feed(MAX_PAGE_BYTES + 4 * 1024 * 1024).await;
    let mut config = AthenaConfig::new(
        &base,
        format!("{base}/oauth/token"),
        "id",
        "secret",
        dir.path().join("cp"),
    );
    config.poll_interval_ms = 20;
    config.backoff_ms = 5;
    config.max_backoff_ms = 50;
    config.request_timeout_ms = 20_000;
    let (shutdown, signal) = watch::channel(false);
    let started = Instant::now();
    let adapter = config
        .build(AdapterContext {
            publisher: bus.publisher(),
            shutdown: signal,
        })
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while adapter.snapshot().rejected < 2 {
        assert!(
            Instant::now() < deadline,
            "the page was never refused: {:?}",
            adapter.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "athena: {} MiB streamed page refused twice in {:?}",
        (MAX_PAGE_BYTES >> 20) + 4,
        started.elapsed()
    );
    assert!(bus.envelopes().is_empty(), "nothing published");
    shutdown.send_replace(true);
}

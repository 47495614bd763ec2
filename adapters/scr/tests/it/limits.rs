//! Hostile answers and requests at the SCR adapter: an API answer streamed past
//! `max_body_bytes` with no length is cut while reading (`scr.api.too-large`, nothing
//! published); an answer nested 100,000 deep is malformed, retried, then published for
//! quarantine (`scr.api.malformed`), never a stack overflow; a pull request over
//! `MAX_PULL_BYTES` is a 413, one nested 4,000 deep (under the size limit) a 400. Times printed.

use crate::common;

use std::time::{Duration, Instant};

use common::{GateBus, eventually, post_pull};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::watch,
};
use waymark_adapter_scr::{AdapterContext, MALFORMED_CODE, MAX_PULL_BYTES, PullRequest, ScrConfig};

/// An SCR API that answers every request 200 with `body_len` bytes of `chunk` and no length.
async fn hostile_api(chunk: &'static [u8], body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let _ = socket.read(&mut head).await;
                let start = b"HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\nconnection: close\r\n\r\n";
                let _ = socket.write_all(start).await;
                let mut sent = 0;
                while sent < body_len {
                    if socket.write_all(chunk).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            });
        }
    });
    format!("http://{addr}")
}

async fn run(
    base: String,
    dir: &tempfile::TempDir,
) -> (std::sync::Arc<GateBus>, Vec<String>, Duration, String) {
    let bus = GateBus::open(dir.path()).await;
    let mut config = ScrConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        base,
        "t",
        dir.path().join("j"),
    );
    config.retry_backoff_ms = 2;
    config.max_backoff_ms = 20;
    config.give_up_after_ms = 2_000;
    config.max_attempts = 3;
    config.max_body_bytes = 4 * 1024 * 1024;
    let (stop, shutdown) = watch::channel(false);
    let adapter = config
        .build(AdapterContext {
            publisher: bus.publisher(),
            shutdown,
        })
        .await
        .unwrap();
    let handle = adapter.handle();
    let started = Instant::now();
    handle
        .submit(PullRequest::new("9434765919", "identified").unwrap())
        .await
        .unwrap();
    let done = eventually(Duration::from_secs(60), || {
        let s = handle.status();
        s.pending == 0 && (s.failed > 0 || s.done > 0)
    })
    .await;
    assert!(done, "the pull finished: {:?}", handle.status());
    let took = started.elapsed();
    let endpoint = adapter.endpoint();
    let codes = handle.failed_codes();
    stop.send(true).unwrap();
    adapter.stopped().await.unwrap();
    (bus, codes, took, endpoint)
}

#[tokio::test]
async fn an_answer_over_the_body_limit_is_cut_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let base = hostile_api(&[b' '; 64 * 1024], 64 * 1024 * 1024).await;
    let (bus, codes, took, _) = run(base, &dir).await;
    eprintln!("scr: 64 MiB streamed answer over a 4 MiB limit: {codes:?} in {took:?}");
    assert_eq!(codes, ["scr.api.too-large"]);
    assert!(bus.envelopes().is_empty());
}

#[tokio::test]
async fn an_answer_nested_100_000_deep_is_published_for_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let base = hostile_api(&[b'['; 10_000], 100_000).await;
    let (bus, codes, took, _) = run(base, &dir).await;
    let envelopes = bus.envelopes();
    let flagged: Vec<_> = envelopes
        .values()
        .filter_map(|e| e.context.expose().pointer("/error/code").cloned())
        .collect();
    eprintln!(
        "scr: 100,000 `[` answer: {} published, {flagged:?}, failed {codes:?}, in {took:?}",
        envelopes.len()
    );
    assert_eq!(flagged, [serde_json::json!(MALFORMED_CODE)]);
}

#[tokio::test]
async fn hostile_pull_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bus = GateBus::open(dir.path()).await;
    let config = ScrConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "http://127.0.0.1:9",
        "t",
        dir.path().join("j"),
    );
    let (stop, shutdown) = watch::channel(false);
    let adapter = config
        .build(AdapterContext {
            publisher: bus.publisher(),
            shutdown,
        })
        .await
        .unwrap();
    let endpoint = adapter.endpoint();
    let started = Instant::now();
    assert_eq!(
        post_pull(&endpoint, vec![b' '; MAX_PULL_BYTES + 1]).await,
        413
    );
    assert_eq!(post_pull(&endpoint, vec![b'['; 4_000]).await, 400);
    eprintln!(
        "scr: oversized and nested pull requests refused in {:?}",
        started.elapsed()
    );
    assert_eq!(adapter.handle().status().pending, 0);
    stop.send(true).unwrap();
    adapter.stopped().await.unwrap();
}

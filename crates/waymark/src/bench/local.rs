//! Ceilings that need no service: loopback HTTP to a null handler, JSON parse + serialise of
//! the hub's own bundle bytes, and disk fsync latency.

use std::{
    io::{Seek as _, SeekFrom, Write as _},
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use axum::{Router, http::StatusCode, routing::post};
use tokio::task::JoinSet;

use super::stats::{Percentiles, rate};

/// Requests per second: `n` POSTs of `body` to a null handler (answers 204 without reading
/// more than the body) from `concurrency` clients sharing one `reqwest` pool, over loopback.
pub async fn http_post(n: usize, concurrency: usize, body: Vec<u8>) -> anyhow::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(
        "/null",
        post(|_body: axum::body::Bytes| async { StatusCode::NO_CONTENT }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let url = format!("http://{addr}/null");
    let body = axum::body::Bytes::from(body);
    let start = Instant::now();
    let mut clients = JoinSet::new();
    for c in 0..concurrency {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let share = n / concurrency + usize::from(c < n % concurrency);
        clients.spawn(async move {
            for _ in 0..share {
                let response = client
                    .post(&url)
                    .header("content-type", "application/fhir+json")
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(response.status().is_success(), "the null handler refused");
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    let rate = rate(n, start.elapsed());
    server.abort();
    Ok(rate)
}

/// JSON: each of `docs` parsed into a `serde_json::Value` and serialised back, `rounds` times.
/// Returns (documents per second, MiB per second of input).
pub fn json_round_trip(docs: &[Vec<u8>], rounds: usize) -> anyhow::Result<(f64, f64)> {
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut out = 0;
    for _ in 0..rounds {
        for doc in docs {
            let value: serde_json::Value = serde_json::from_slice(doc)?;
            out += serde_json::to_vec(&value)?.len();
        }
    }
    let elapsed = start.elapsed();
    anyhow::ensure!(out > 0, "nothing was serialised");
    let mib = (bytes * rounds) as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64();
    Ok((rate(docs.len() * rounds, elapsed), mib))
}

/// fsync latency: `n` writes of 4 KiB at the start of a file in `dir`, each followed by
/// `fsync` (`File::sync_all`). Percentiles of write + fsync.
pub async fn fsync_latency(dir: &Path, n: usize) -> anyhow::Result<Percentiles> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile_in(&dir).context("temp file for fsync")?;
        let block = [0x5a_u8; 4096];
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&block)?;
            file.sync_all()?;
            samples.push(start.elapsed());
        }
        anyhow::Ok(Percentiles::of(samples))
    })
    .await?
}

/// Times `f` over `items`, microseconds per item (after one warm-up item).
pub fn micros_per_item<T>(items: &[T], mut f: impl FnMut(&T)) -> f64 {
    if let Some(first) = items.first() {
        f(first);
    }
    let start = Instant::now();
    for item in items {
        f(item);
    }
    per_item(start.elapsed(), items.len())
}

/// Microseconds per item.
pub fn per_item(elapsed: Duration, items: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / items.max(1) as f64
}

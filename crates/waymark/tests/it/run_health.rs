//! `waymark run --health-port`: a process without the API answers its probes.

use std::{
    io::{BufRead as _, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::common::{http_get, repo_root};

#[tokio::test]
async fn a_worker_process_serves_health_from_its_bus_and_store() {
    let dir = tempfile::tempdir().unwrap();
    let bus = format!("sqlite://{}", dir.path().join("bus.db").display());
    let store = format!("sqlite://{}", dir.path().join("store.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(["run", "--stage", "map", "--health-port", "0"])
        .args(["--bus", &bus, "--store", &store])
        .current_dir(repo_root())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let started = Instant::now();
    let mut addr: Option<SocketAddr> = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("waymark run: health on http://") {
            addr = url.trim_end_matches("/health").parse().ok();
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no health line"
        );
    }
    let addr = addr.expect("the process logs its health endpoint");
    let (status, body) = http_get(addr, "/health").await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["bus"]["state"], "up");
    assert!(body["store"]["persons"].is_number(), "{body}");
}

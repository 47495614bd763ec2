//! A whole embedded hub with its mock source and mock receiving systems, for end-to-end tests.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::mpsc,
};
use waymark::embedded::{EmbeddedHub, EmbeddedOptions, demo_subscriptions};
use waymark_adapter_nomis::{MockNomis, Population};
use waymark_api::SharedHealth;
use waymark_delivery::{DeliveryEvent, mock::MockReceiver};
use waymark_pipeline::{PipelineEvent, Telemetry};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The external systems: a mock NOMIS and two receiving systems.
pub struct World {
    pub nomis: MockNomis,
    pub healthcare: MockReceiver,
    pub probation: MockReceiver,
    pub data: tempfile::TempDir,
}

impl World {
    pub async fn new(population: Population) -> Self {
        Self {
            nomis: MockNomis::start(population).await.unwrap(),
            healthcare: MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap(),
            probation: MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap(),
            data: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts a hub on this world's data folder (again, after a crash, on the same files).
    pub async fn start_hub(
        &self,
    ) -> (
        EmbeddedHub,
        mpsc::UnboundedReceiver<PipelineEvent>,
        mpsc::UnboundedReceiver<DeliveryEvent>,
    ) {
        self.start_hub_with(&repo_root().join("mappings")).await
    }

    /// [`start_hub`](Self::start_hub) with the mappings in `mappings_dir`.
    pub async fn start_hub_with(
        &self,
        mappings_dir: &Path,
    ) -> (
        EmbeddedHub,
        mpsc::UnboundedReceiver<PipelineEvent>,
        mpsc::UnboundedReceiver<DeliveryEvent>,
    ) {
        let opts = EmbeddedOptions {
            data_dir: self.data.path().to_owned(),
            mappings_dir: mappings_dir.to_owned(),
            prison_api_url: self.nomis.base_url(),
            api_port: 0,
        };
        let subs = demo_subscriptions(&self.healthcare.url(), &self.probation.url(), SECRET);
        let (telemetry, pipeline) = Telemetry::channel();
        let (tx, deliveries) = mpsc::unbounded_channel();
        let hub = EmbeddedHub::start(&opts, subs, telemetry, tx)
            .await
            .unwrap();
        (hub, pipeline, deliveries)
    }

    /// Starts a hub on `data_dir` with the mappings in `mappings_dir`, feeding `board` (which
    /// may be one a stopped hub fed before); the mock NOMIS and receivers are this world's.
    pub async fn start_hub_on(
        &self,
        data_dir: &Path,
        mappings_dir: &Path,
        board: SharedHealth,
    ) -> EmbeddedHub {
        let opts = EmbeddedOptions {
            data_dir: data_dir.to_owned(),
            mappings_dir: mappings_dir.to_owned(),
            prison_api_url: self.nomis.base_url(),
            api_port: 0,
        };
        let subs = demo_subscriptions(&self.healthcare.url(), &self.probation.url(), SECRET);
        let (tx, _deliveries) = mpsc::unbounded_channel();
        EmbeddedHub::start_with_board(&opts, subs, Telemetry::log_only(), tx, board)
            .await
            .unwrap()
    }

    /// Unique notifications held by both receivers.
    pub fn delivered(&self) -> usize {
        self.healthcare.unique_ids().len() + self.probation.unique_ids().len()
    }
}

/// Waits until `check` holds or `secs` pass; returns whether it held.
pub async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

/// The data class of every resource a receiver holds; `Parameters` (the notification status)
/// and `Provenance` carry none, every other resource must.
pub fn received_classes(receiver: &MockReceiver) -> Vec<waymark_core::DataClass> {
    let mut classes = Vec::new();
    for r in receiver.received() {
        for resource in waymark_fhir::entries(&r.body) {
            let kind = resource["resourceType"].as_str().unwrap_or_default();
            match waymark_fhir::data_class(resource) {
                Some(class) => classes.push(class),
                None => assert!(
                    matches!(kind, "Parameters" | "Provenance"),
                    "unlabelled {kind}"
                ),
            }
        }
    }
    classes
}

/// Copies a folder tree (e.g. the repo's `mappings/`, to change a mapping in the copy).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A development bearer token that a hub on `data_dir` trusts: what `waymark token --data-dir
/// DIR --role ROLE --org ORG [--registered]` prints (the embedded hub trusts the development
/// issuer of its data folder unless the folder holds an `auth.json`).
pub fn dev_token(data_dir: &Path, role: waymark_core::Role, registered: bool, org: &str) -> String {
    use waymark_api::auth::dev::{DevIssuer, DevToken};
    let token = DevToken {
        subject: format!("test-{}", role.code()),
        role,
        registered,
        organisation: org.to_owned(),
        ttl_secs: 600,
    };
    DevIssuer::load_or_create(data_dir)
        .unwrap()
        .issue(&token, chrono::Utc::now().timestamp())
        .unwrap()
}

/// The integration engineer's token for a hub on `data_dir` (the admin routes' role).
pub fn admin_token(data_dir: &Path) -> String {
    dev_token(
        data_dir,
        waymark_core::Role::IntegrationEngineer,
        false,
        "waymark-ops",
    )
}

/// A plain HTTP/1.1 GET; returns the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get_as(addr, path, None).await
}

/// A plain HTTP/1.1 GET with a bearer token (for the `/fhir/**` and `/admin/**` routes).
pub async fn http_get_as(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

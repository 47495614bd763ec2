//! TLS termination and mutual TLS in front of the hub (`deploy/local/tls.sh`: nginx on
//! loopback). Needs nginx: the script installs it as root, and the test fails loudly without it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
};

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use waymark_adapter_nomis::Population;
use waymark_api::auth::mtls::{fingerprint, thumbprint};

use crate::common::{World, admin_token, repo_root};

/// nginx started by the script in a folder of its own; stopped when dropped.
pub(super) struct Proxy {
    pub(super) dir: tempfile::TempDir,
    pub(super) tls: u16,
    pub(super) mtls: u16,
}

impl Proxy {
    pub(super) fn start(upstream: SocketAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let [tls, mtls] = free_ports();
        let out = script(dir.path(), &["start"])
            .env("WAYMARK_TLS_UPSTREAM", upstream.to_string())
            .env("WAYMARK_TLS_PORT", tls.to_string())
            .env("WAYMARK_MTLS_PORT", mtls.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "deploy/local/tls.sh start failed (is nginx installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, tls, mtls }
    }

    pub(super) fn cert(&self, name: &str) -> PathBuf {
        self.dir.path().join("certs").join(name)
    }

    pub(super) fn url(&self, port: u16, path: &str) -> String {
        format!("https://127.0.0.1:{port}{path}")
    }

    /// A client trusting the throwaway CA, presenting `identity` (a client certificate) if any.
    pub(super) fn client(&self, identity: Option<(&Path, &Path)>) -> reqwest::Client {
        let ca = std::fs::read(self.cert("ca.pem")).unwrap();
        let mut builder = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
        if let Some((cert, key)) = identity {
            let mut pem = std::fs::read(cert).unwrap();
            pem.extend(std::fs::read(key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    }

    pub(super) fn client_cert(&self) -> reqwest::Client {
        self.client(Some((&self.cert("client.pem"), &self.cert("client.key"))))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = script(self.dir.path(), &["stop"]).output();
    }
}

pub(super) fn script(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(repo_root().join("deploy/local/tls.sh"));
    cmd.args(args).env("WAYMARK_NGINX_DIR", dir);
    cmd
}

/// Two distinct free loopback ports (both held while asking, so they differ).
pub(super) fn free_ports() -> [u16; 2] {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    [
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    ]
}

pub(super) async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_terminates_tls_and_mutual_tls_in_front_of_the_hub() {
    let world = World::new(Population::synthetic(5, 2)).await;
    let (hub, _p, _d) = world.start_hub().await;
    let proxy = Proxy::start(hub.api_addr());
    let trusted = proxy.client(None);

    let health = trusted.get(proxy.url(proxy.tls, "/health")).send().await;
    let health = health.expect("https with the CA works");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );

    let untrusting = reqwest::Client::builder().build().unwrap();
    let refused = untrusting.get(proxy.url(proxy.tls, "/health")).send().await;
    assert!(
        refused.is_err(),
        "a client without the CA must refuse the server"
    );

    let plain = format!("http://127.0.0.1:{}/health", proxy.tls);
    let plain = reqwest::get(&plain).await.unwrap();
    assert_eq!(plain.status().as_u16(), 400, "plain HTTP on the TLS port");
    assert!(!plain.text().await.unwrap().contains("\"status\""));

    let tls12 = proxy_client_max_tls12(&proxy);
    assert_eq!(
        status(tls12.get(proxy.url(proxy.tls, "/health"))).await,
        200
    );

    // The bearer token crosses the proxy; without one the hub refuses.
    let token = admin_token(world.data.path());
    let admin = proxy.url(proxy.tls, "/admin/quarantine");
    assert_eq!(status(trusted.get(&admin).bearer_auth(&token)).await, 200);
    assert_eq!(status(trusted.get(&admin)).await, 401);

    // Mutual TLS: no certificate, or one from another CA, is refused before the hub.
    let mtls_health = proxy.url(proxy.mtls, "/health");
    assert_eq!(status(trusted.get(&mtls_health)).await, 400);
    let stranger = tempfile::tempdir().unwrap();
    assert!(
        script(stranger.path(), &["certs"])
            .status()
            .unwrap()
            .success()
    );
    let foreign = stranger.path().join("certs");
    let foreign = proxy.client(Some((
        &foreign.join("client.pem"),
        &foreign.join("client.key"),
    )));
    assert_eq!(status(foreign.get(&mtls_health)).await, 400);
    let system = proxy.client_cert();
    assert_eq!(status(system.get(&mtls_health)).await, 200);
    let admin = proxy.url(proxy.mtls, "/admin/quarantine");
    assert_eq!(status(system.get(&admin).bearer_auth(&token)).await, 200);
    eprintln!(
        "tls: https {} and mutual TLS {} in front of the hub at {}: CA-verified 200, untrusted \
         client refused, plain HTTP 400, no/foreign client certificate 400",
        proxy.tls,
        proxy.mtls,
        hub.api_addr()
    );
    drop(proxy);
    hub.stop().await;
}

fn proxy_client_max_tls12(proxy: &Proxy) -> reqwest::Client {
    let ca = std::fs::read(proxy.cert("ca.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap()
}

/// A stand-in upstream that records each request's head and answers 200.
async fn recording_upstream() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&raw).into_owned());
                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = stream.write_all(reply).await;
            });
        }
    });
    (addr, heads)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub(super) fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[tokio::test]
async fn the_verified_client_certificate_reaches_the_hub_and_cannot_be_forged() {
    let (upstream, heads) = recording_upstream().await;
    let proxy = Proxy::start(upstream);

    let system = proxy.client_cert();
    assert_eq!(
        status(system.get(proxy.url(proxy.mtls, "/fhir/metadata"))).await,
        200
    );
    let forger = proxy.client(None);
    let forged = forger
        .get(proxy.url(proxy.tls, "/fhir/metadata"))
        .header("X-Client-Cert", "forged")
        .header("X-Client-Verify", "SUCCESS");
    assert_eq!(status(forged).await, 200);

    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "{heads:?}");
    let passed = percent_decode(header(&heads[0], "x-client-cert").expect("the certificate"));
    assert_eq!(header(&heads[0], "x-client-verify"), Some("SUCCESS"));
    let issued = std::fs::read_to_string(proxy.cert("client.pem")).unwrap();
    let der = pem_to_der(&issued);
    assert_eq!(fingerprint(&pem_to_der(&passed)), fingerprint(&der));
    assert_eq!(header(&heads[1], "x-client-cert"), None, "{}", heads[1]);
    assert_eq!(header(&heads[1], "x-client-verify"), None, "{}", heads[1]);

    // `tls.sh client NAME` prints what the auth config and a bound token name it by.
    let out = script(proxy.dir.path(), &["client", "adapter-2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let other = pem_to_der(&std::fs::read_to_string(proxy.cert("adapter-2.pem")).unwrap());
    assert!(printed.contains(&format!("fingerprint_sha256={}", fingerprint(&other))));
    assert!(printed.contains(&format!("x5t#S256={}", thumbprint(&other))));
    assert_ne!(fingerprint(&other), fingerprint(&der));
}

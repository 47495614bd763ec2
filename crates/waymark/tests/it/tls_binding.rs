//! Mutual TLS terminated by nginx, enforced by the hub: the certificate nginx verified reaches
//! the auth layer through `client_certificates.proxy_header`, from the trusted proxy only, and a
//! client required to present its own certificate is refused with any other.

use waymark::embedded::{EmbeddedHub, EmbeddedOptions};
use waymark_adapter_nomis::Population;
use waymark_api::auth::{
    dev::{DEV_CLIENT, DevIssuer},
    mtls::fingerprint,
};
use waymark_pipeline::Telemetry;

use super::tls::{Proxy, free_ports, pem_to_der, script, status};
use crate::common::{World, admin_token, repo_root};

/// The development config of `data_dir`, believing nginx on loopback for client certificates
/// and requiring the development client to present `client.pem`.
fn write_auth_config(data_dir: &std::path::Path, proxy: &Proxy) {
    let issuer = DevIssuer::load_or_create(data_dir).unwrap();
    let mut config = serde_json::to_value(issuer.development_config()).unwrap();
    let client = pem_to_der(&std::fs::read_to_string(proxy.cert("client.pem")).unwrap());
    config["trusted_proxies"] = serde_json::json!(["127.0.0.1/32"]);
    config["client_certificates"] = serde_json::json!({
        "ca_pem": std::fs::read_to_string(proxy.cert("ca.pem")).unwrap(),
        "required_for_clients": [DEV_CLIENT],
        "fingerprints": { DEV_CLIENT: [fingerprint(&client)] },
        "proxy_header": "x-client-cert",
    });
    let path = data_dir.join(waymark::embedded::AUTH_CONFIG_FILE);
    std::fs::write(path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_bound_to_its_certificate_is_refused_without_it_or_with_another() {
    let world = World::new(Population::synthetic(3, 7)).await;
    let [api_port, _] = free_ports();
    let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], api_port));
    let proxy = Proxy::start(upstream);
    write_auth_config(world.data.path(), &proxy);
    let opts = EmbeddedOptions {
        data_dir: world.data.path().to_owned(),
        mappings_dir: repo_root().join("mappings"),
        prison_api_url: world.nomis.base_url(),
        api_port,
    };
    let (telemetry, _pipeline) = Telemetry::channel();
    let (tx, _deliveries) = tokio::sync::mpsc::unbounded_channel();
    let hub = EmbeddedHub::start(&opts, Vec::new(), telemetry, tx)
        .await
        .unwrap();
    let token = admin_token(world.data.path());

    let own = proxy.client_cert();
    let with_own = status(
        own.get(proxy.url(proxy.mtls, "/admin/quarantine"))
            .bearer_auth(&token),
    );
    assert_eq!(with_own.await, 200, "the bound certificate through mTLS");

    let plain = proxy.client(None);
    let without = status(
        plain
            .get(proxy.url(proxy.tls, "/admin/quarantine"))
            .bearer_auth(&token),
    );
    assert_eq!(without.await, 401, "no certificate: the hub refuses");
    let forged = plain
        .get(proxy.url(proxy.tls, "/admin/quarantine"))
        .bearer_auth(&token)
        .header("X-Client-Cert", "forged")
        .header("X-Client-Verify", "SUCCESS");
    assert_eq!(
        status(forged).await,
        401,
        "headers forged by the client never count"
    );

    assert!(
        script(proxy.dir.path(), &["client", "adapter-2"])
            .status()
            .unwrap()
            .success()
    );
    let other = proxy.client(Some((
        &proxy.cert("adapter-2.pem"),
        &proxy.cert("adapter-2.key"),
    )));
    let with_other = status(
        other
            .get(proxy.url(proxy.mtls, "/admin/quarantine"))
            .bearer_auth(&token),
    );
    assert_eq!(
        with_other.await,
        401,
        "a certificate of the same CA but another client"
    );

    eprintln!("mtls binding: own certificate 200; none, forged, another client's 401");
    drop(proxy);
    hub.stop().await;
}

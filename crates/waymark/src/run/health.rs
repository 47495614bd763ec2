//! `--health-port`: `GET /health` for a process without the API, for liveness and readiness
//! probes — 200 when the bus link is up and the store answers, 503 otherwise. Counts only.

use std::{net::IpAddr, sync::Arc};

use anyhow::Context as _;
use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use waymark_bus::Bus;
use waymark_store::Store;

#[derive(Clone)]
struct Parts {
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
}

/// Serves `/health` on `listen:port` until the process ends.
pub(super) async fn serve(
    listen: IpAddr,
    port: u16,
    bus: Arc<dyn Bus>,
    store: Arc<dyn Store>,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind((listen, port))
        .await
        .with_context(|| format!("binding the health endpoint to {listen}:{port}"))?;
    eprintln!(
        "waymark run: health on http://{}/health",
        listener.local_addr()?
    );
    let app = Router::new()
        .route("/health", get(health))
        .with_state(Parts { bus, store });
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(error = %error, "the health endpoint stopped");
        }
    }))
}

async fn health(State(parts): State<Parts>) -> (StatusCode, Json<Value>) {
    let bus = parts.bus.health();
    let store = parts.store.counts().await;
    let ok = bus.is_up() && store.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "bus": { "backend": bus.backend, "state": bus.state.as_str() },
        "store": match store {
            Ok(counts) => json!(counts),
            Err(_) => json!("unavailable"),
        },
    });
    (status, Json(body))
}

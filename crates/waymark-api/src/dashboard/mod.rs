//! The feed-health dashboard: `/dashboard` (overview), `/dashboard/feeds/{source}`,
//! `/dashboard/subscriptions/{id}`, each also as JSON (`/dashboard.json`, `…/{source}.json`,
//! `…/{id}.json`). Server-rendered HTML with inline SVG, readable without JavaScript.
//!
//! It renders a [`waymark_health::Snapshot`] and nothing else: counts, codes and times, never
//! person-level data. It is unauthenticated until issue 10 brings authentication.

mod detail;
mod overview;
mod page;
mod svg;

use std::sync::{Arc, Mutex, PoisonError};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use chrono::Utc;
use waymark_fhir::OperationOutcome;
use waymark_health::{HealthBoard, Snapshot};

/// The board, shared between the shell that feeds it and the routes that render it.
pub type SharedHealth = Arc<Mutex<HealthBoard>>;

/// The board at this moment, its conditions re-judged first so statuses and alerts agree (an
/// alert this raises is logged here, as the shell logs those of its own evaluations).
pub(crate) fn snapshot(health: &SharedHealth) -> Snapshot {
    let mut board = health.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Utc::now();
    for alert in board.evaluate(now) {
        tracing::warn!(
            target: "waymark::health",
            code = alert.code, subject = %alert.subject, state = ?alert.state,
            detail = %alert.detail, "alert"
        );
    }
    board.snapshot(now)
}

/// The dashboard and `/metrics` routes, with their own state.
pub fn health_routes(health: SharedHealth) -> Router {
    Router::new()
        .route("/dashboard", get(overview_page))
        .route("/dashboard.json", get(overview_json))
        .route("/dashboard/feeds/{source}", get(feed_page))
        .route("/dashboard/subscriptions/{id}", get(subscription_page))
        .route("/metrics", get(crate::metrics::metrics))
        .with_state(health)
}

async fn overview_page(State(health): State<SharedHealth>) -> Html<String> {
    Html(overview::render(&snapshot(&health)))
}

async fn overview_json(State(health): State<SharedHealth>) -> Json<Snapshot> {
    Json(snapshot(&health))
}

/// `name` without a `.json` suffix, and whether it had one.
fn json_suffix(name: &str) -> (&str, bool) {
    match name.strip_suffix(".json") {
        Some(stem) => (stem, true),
        None => (name, false),
    }
}

async fn feed_page(State(health): State<SharedHealth>, Path(source): Path<String>) -> Response {
    let (source, json) = json_suffix(&source);
    let snap = snapshot(&health);
    let Some(feed) = snap.feeds.iter().find(|f| f.source == source) else {
        return unknown("no such feed");
    };
    if json {
        return Json(feed).into_response();
    }
    Html(detail::feed(feed, &snap.sites, snap.generated_at)).into_response()
}

async fn subscription_page(State(health): State<SharedHealth>, Path(id): Path<String>) -> Response {
    let (id, json) = json_suffix(&id);
    let snap = snapshot(&health);
    let Some(sub) = snap.subscriptions.iter().find(|s| s.id == id) else {
        return unknown("no such subscription");
    };
    if json {
        return Json(sub).into_response();
    }
    Html(detail::subscription(sub, snap.generated_at)).into_response()
}

fn unknown(text: &str) -> Response {
    let issue = waymark_fhir::Issue::error(
        waymark_core::IssueType::NotFound,
        "dashboard.not-found",
        text,
    );
    crate::outcome(StatusCode::NOT_FOUND, &OperationOutcome::single(issue))
}

//! FHIR API benchmark: Patient search (by prison number) and `$summary` over real HTTP on
//! loopback, with C concurrent clients each holding its own bearer token (custody healthcare,
//! registered), against a SQLite store of N synthetic people. Every request goes through the
//! production path: token verification, the role policy, and an audit row appended (hash
//! chained) before the answer leaves.
//!
//! Run:
//! - `cargo bench -p waymark-api --bench fhir` (100,000 people; C = 1, 150 and 1,500);
//! - `WAYMARK_BENCH_PEOPLE=1000000 cargo bench -p waymark-api --bench fhir` (loading takes long);
//! - `WAYMARK_BENCH_REQUESTS=n` sets the requests timed per phase (default 6,000).
//!
//! Clients and server share one process and its cores, so figures are a floor for a hub with
//! its own machine.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "fhir/load.rs"]
mod load;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use waymark_api::{
    ApiState,
    auth::{
        Authenticator, Revocations,
        dev::{DevIssuer, DevToken},
    },
    router,
};
use waymark_bus::SqliteBus;
use waymark_core::{PRISON_NUMBER_SYSTEM, Role};
use waymark_mapping::MappingSet;
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::SqliteStore;

/// Concurrent clients per phase (1: the unloaded latency).
const CLIENTS: &[usize] = &[1, 150, 1_500];
/// Persons whose `$summary` is asked for (spread over the population).
const SUMMARY_TARGETS: u64 = 2_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The API over `store` on a loopback socket; its base URL and the dev issuer.
async fn serve(
    store: Arc<SqliteStore>,
    dir: &std::path::Path,
    validator: Arc<Validator>,
) -> (String, DevIssuer) {
    let issuer = DevIssuer::generate().unwrap();
    let mut config = issuer.development_config();
    // The per-caller rate limit (1,200 a minute by default) is lifted: one client asking as
    // fast as it can (C = 1) would exceed it. Everything else is the production path.
    config.rate_limit.requests = 0;
    let auth = Authenticator::new(config, Arc::new(Revocations::new())).unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let state = ApiState {
        store: store.clone(),
        bus: Arc::new(SqliteBus::open(&dir.join("bus.db")).await.unwrap()),
        mappings: Arc::new(MappingSet::load(&repo.join("mappings")).unwrap()),
        validator,
        auth: Arc::new(auth),
        audit: store,
        policy: Arc::new(Policy::builtin().unwrap()),
        subscriptions: waymark_pipeline::SubscriptionSet::fixed(Vec::new()),
        endpoints: waymark_delivery::EndpointPolicy::local(),
        hook: waymark_delivery::RestHook::new(&waymark_delivery::RestHookConfig::default())
            .unwrap(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), issuer)
}

/// One token per client, each its own user.
fn tokens(issuer: &DevIssuer, count: usize) -> Vec<String> {
    let now = chrono::Utc::now().timestamp();
    (0..count)
        .map(|i| {
            let token = DevToken {
                subject: format!("bench-nurse-{i}"),
                role: Role::CustodyHealthcare,
                registered: true,
                organisation: "ORG01".into(),
                ttl_secs: 3_600,
            };
            issuer.issue(&token, now).unwrap()
        })
        .collect()
}

/// What a phase asks for.
#[derive(Clone, Copy)]
enum Ask {
    Search { people: u64 },
    Summary,
}

/// The URL of request `i` of `ask`.
fn url(base: &str, ask: Ask, targets: &[String], i: u64) -> String {
    match ask {
        Ask::Search { people } => {
            let pn = load::prison_number(load::mix(i ^ 0xbeef) % people);
            format!("{base}/fhir/Patient?identifier={PRISON_NUMBER_SYSTEM}|{pn}")
        }
        Ask::Summary => {
            let id = &targets[usize::try_from(load::mix(i) % targets.len() as u64).unwrap()];
            format!("{base}/fhir/Patient/{id}/$summary")
        }
    }
}

/// One client's requests: latencies, and answers other than 200.
async fn client(http: reqwest::Client, token: String, urls: Vec<String>) -> (Vec<Duration>, usize) {
    let (mut times, mut failed) = (Vec::with_capacity(urls.len()), 0);
    for url in urls {
        let started = Instant::now();
        let answer = http.get(&url).bearer_auth(&token).send().await;
        let ok = match answer {
            Ok(a) => a.status() == 200 && a.bytes().await.is_ok(),
            Err(_) => false,
        };
        times.push(started.elapsed());
        failed += usize::from(!ok);
    }
    (times, failed)
}

/// p50 and p99, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let pick = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1_000.0
    };
    (pick(0.50), pick(0.99))
}

/// `requests` requests of `ask` from `tokens.len()` concurrent clients; prints the figures.
async fn phase(
    name: &str,
    base: &str,
    ask: Ask,
    targets: &[String],
    tokens: &[String],
    requests: u64,
) {
    let clients = tokens.len() as u64;
    let each = requests.div_ceil(clients).max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2_000)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(c, token)| {
            let first = c as u64 * each;
            let urls = (first..first + each)
                .map(|i| url(base, ask, targets, i))
                .collect();
            tokio::spawn(client(http.clone(), token.clone(), urls))
        })
        .collect();
    let (mut times, mut failed) = (Vec::new(), 0);
    for task in tasks {
        let (t, f) = task.await.unwrap();
        times.extend(t);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    let total = times.len();
    let (p50, p99) = percentiles(times);
    println!(
        "  {name:<8} C={clients:<5} p50 {p50:8.2} ms  p99 {p99:8.2} ms  {:8.0} req/s  \
         ({total} requests, {failed} not 200)",
        total as f64 / secs
    );
}

/// Asserts that the workload finds what it asks for: a search answers one person, a
/// `$summary` a document (so the figures are of real answers, not empty ones).
async fn check(base: &str, people: u64, targets: &[String], token: &str) {
    let http = reqwest::Client::new();
    let get = |url: String| http.get(url).bearer_auth(token).send();
    let search: serde_json::Value = get(url(base, Ask::Search { people }, targets, 7))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        search["entry"].as_array().map(Vec::len),
        Some(1),
        "a search finds its person"
    );
    let summary: serde_json::Value = get(url(base, Ask::Summary, targets, 7))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary["type"], "document",
        "a $summary answers the document"
    );
}

#[tokio::main]
async fn main() {
    let people = env_u64("WAYMARK_BENCH_PEOPLE", 100_000);
    let requests = env_u64("WAYMARK_BENCH_REQUESTS", 6_000);
    let dir = tempfile::tempdir().unwrap();
    let validator = Arc::new(Validator::r4().unwrap());
    let template = load::Template::make(validator.clone(), dir.path()).await;
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    load::load(&store, &template, people).await;
    let targets = load::person_ids(store.as_ref(), people, SUMMARY_TARGETS).await;
    let (base, issuer) = serve(store, dir.path(), validator).await;
    println!("fhir API, {people} people, SQLite, loopback HTTP ({requests} requests per phase):");
    let warm = tokens(&issuer, 50);
    check(&base, people, &targets, &warm[0]).await;
    phase("warm-up", &base, Ask::Summary, &targets, &warm, 500).await;
    for &clients in CLIENTS {
        let tokens = tokens(&issuer, clients);
        phase(
            "search",
            &base,
            Ask::Search { people },
            &targets,
            &tokens,
            requests,
        )
        .await;
        phase("$summary", &base, Ask::Summary, &targets, &tokens, requests).await;
    }
}

//! `waymark run`'s settings, resolved once: a flag (or its environment variable) wins, then the
//! configuration file given by `--config`, then the default.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use anyhow::anyhow;
use serde_json::Value;
use waymark_config::{Config, EndpointMode, Env};

use super::{RunArgs, RunStage, Shard};

/// Everything a `waymark run` process is started with.
#[derive(Debug)]
pub struct RunSettings {
    /// The stages to run.
    pub stages: Vec<RunStage>,
    /// The bus URL.
    pub bus: String,
    /// The store URL.
    pub store: String,
    /// The mappings folder (`None`: `./mappings`).
    pub mappings: Option<PathBuf>,
    /// The subscriptions file (written to the store at start-up).
    pub subscriptions: Option<PathBuf>,
    /// Which webhook endpoints are allowed (`subscriptions.endpoints`; without a file: `local`).
    pub endpoints: EndpointMode,
    /// How long a notification is retried (`subscriptions.retry_window`, default 72 h).
    pub retry_window: Duration,
    /// The API's authentication file.
    pub auth: Option<PathBuf>,
    /// The role policy file (`None`: the built-in policy).
    pub policy: Option<PathBuf>,
    /// Workers per stage.
    pub workers: usize,
    /// This process's delivery shard.
    pub shard: Shard,
    /// Where the API, the ingest and the health endpoints listen.
    pub listen: IpAddr,
    /// The API's port.
    pub port: u16,
    /// The ingest endpoint's port.
    pub ingest_port: u16,
    /// The Prison API the NOMIS adapter enriches from.
    pub prison_api: Option<String>,
    /// The health endpoint's port, if served.
    pub health_port: Option<u16>,
}

/// Resolves the flags against the configuration file, if one is given.
pub fn resolve(args: RunArgs, env: &Env<'_>) -> anyhow::Result<RunSettings> {
    let config = match &args.config {
        Some(path) => Some(
            waymark_config::load(path, env)
                .map_err(|problems| anyhow!("the configuration file has problems:\n{problems}"))?,
        ),
        None => None,
    };
    merge(args, config.as_ref())
}

fn merge(args: RunArgs, config: Option<&Config>) -> anyhow::Result<RunSettings> {
    let hub = config.map(|c| &c.hub);
    let api_listen = config.map(|c| c.api.listen);
    let nomis = config.and_then(|c| c.feeds.get("nomis"));
    let shard = match (args.shard, config) {
        (Some(shard), _) => shard,
        (None, Some(c)) => c
            .stages
            .shard
            .parse()
            .map_err(|e: String| anyhow!("stages.shard: {e}"))?,
        (None, None) => Shard::default(),
    };
    Ok(RunSettings {
        bus: args
            .bus
            .or_else(|| hub.map(|h| h.bus.clone()))
            .ok_or_else(|| anyhow!("no bus: give --bus, WAYMARK_BUS_URL or hub.bus"))?,
        store: args
            .store
            .or_else(|| hub.map(|h| h.store.clone()))
            .ok_or_else(|| anyhow!("no store: give --store, WAYMARK_STORE_URL or hub.store"))?,
        mappings: args.mappings.or_else(|| hub.map(|h| h.mappings.clone())),
        subscriptions: args
            .subscriptions
            .or_else(|| config.and_then(|c| c.subscriptions.file.clone())),
        endpoints: config.map_or(EndpointMode::Local, |c| {
            c.subscriptions.endpoint_mode(c.api.production)
        }),
        retry_window: match config {
            Some(c) => c.subscriptions.retry_window().ok_or_else(|| {
                anyhow!("subscriptions.retry_window: not a retry window (1m to 30d)")
            })?,
            None => waymark_delivery::RETRY_WINDOW,
        },
        auth: args
            .auth
            .or_else(|| config.and_then(|c| c.api.auth.clone())),
        policy: hub.and_then(|h| h.policy.clone()),
        workers: args
            .workers
            .or_else(|| config.map(|c| usize::from(c.stages.workers)))
            .unwrap_or(1),
        shard,
        listen: args
            .listen
            .or_else(|| api_listen.map(|a| a.ip()))
            .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        port: args
            .port
            .or_else(|| api_listen.map(|a| a.port()))
            .unwrap_or(8080),
        ingest_port: args
            .ingest_port
            .or_else(|| feed_listen(nomis).map(|a| a.port()))
            .unwrap_or(0),
        prison_api: args
            .prison_api
            .or_else(|| feed_text(nomis, "prison_api_url")),
        health_port: args.health_port,
        stages: args.stages,
    })
}

type Feed = serde_json::Map<String, Value>;

fn feed_text(feed: Option<&Feed>, key: &str) -> Option<String> {
    feed?.get(key)?.as_str().map(str::to_owned)
}

fn feed_listen(feed: Option<&Feed>) -> Option<SocketAddr> {
    feed_text(feed, "listen")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(words: &[&str]) -> RunArgs {
        Probe::try_parse_from(std::iter::once("run").chain(words.iter().copied()))
            .unwrap()
            .run
    }

    const FILE: &str = r#"version = 1
[hub]
bus = "amqp://from-file/%2f"
store = "env:STORE"
[api]
listen = "0.0.0.0:9000"
[stages]
workers = 3
shard = "1/2"
[feeds.nomis]
listen = "0.0.0.0:8181"
prison_api_url = "http://prison-api"
"#;

    fn config() -> Config {
        let env = |name: &str| (name == "STORE").then(|| "postgres://db/w".to_owned());
        waymark_config::parse(FILE, "hub.toml", &env).unwrap()
    }

    #[test]
    fn the_file_fills_what_the_flags_leave() {
        let s = merge(args(&["--stage", "all", "--config", "x"]), Some(&config())).unwrap();
        assert_eq!(
            (s.bus.as_str(), s.store.as_str()),
            ("amqp://from-file/%2f", "postgres://db/w")
        );
        assert_eq!((s.workers, s.shard.to_string()), (3, "1/2".to_owned()));
        assert_eq!(
            (s.listen.to_string(), s.port, s.ingest_port),
            ("0.0.0.0".into(), 9000, 8181)
        );
        assert_eq!(s.prison_api.as_deref(), Some("http://prison-api"));
        assert_eq!(s.endpoints, EndpointMode::Local);
        assert_eq!(s.retry_window, Duration::from_secs(72 * 3600));
    }

    #[test]
    fn a_flag_wins_over_the_file() {
        let words = [
            "--stage",
            "deliver",
            "--config",
            "x",
            "--bus",
            "sqlite://b",
            "--workers",
            "1",
        ];
        let more = ["--shard", "0/2", "--port", "0", "--health-port", "9090"];
        let all: Vec<&str> = words.iter().chain(more.iter()).copied().collect();
        let s = merge(args(&all), Some(&config())).unwrap();
        assert_eq!(s.bus, "sqlite://b");
        assert_eq!(
            (s.workers, s.shard.to_string(), s.port),
            (1, "0/2".to_owned(), 0)
        );
        assert_eq!(s.health_port, Some(9090));
    }

    #[test]
    fn without_a_file_the_defaults_apply_and_bus_and_store_are_required() {
        let s = merge(
            args(&["--stage", "map", "--bus", "b", "--store", "s"]),
            None,
        )
        .unwrap();
        assert_eq!(
            (s.workers, s.shard.to_string(), s.port, s.ingest_port),
            (1, "0/1".into(), 8080, 0)
        );
        assert_eq!(s.listen.to_string(), "127.0.0.1");
        let missing = Probe::try_parse_from(["run", "--stage", "map", "--bus", "b"]);
        assert!(missing.is_err(), "--store is required without --config");
    }
}

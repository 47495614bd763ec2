//! The example configurations in `deploy/config/` parse and check, with their secrets read
//! from the environment.

use std::path::PathBuf;

use waymark_config::{Config, load};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/config")
        .join(name)
}

fn env_with_secrets(name: &str) -> Option<String> {
    match name {
        "WAYMARK_AMQP_URL" => Some("amqp://waymark:s3cret@127.0.0.1:5673/%2f".to_owned()),
        "WAYMARK_PG_HUB_URL" => {
            Some("postgres://waymark_hub:s3cret@127.0.0.1:5433/waymark".to_owned())
        }
        _ => None,
    }
}

#[test]
fn the_embedded_example_loads_with_its_defaults() {
    let config: Config = load(&example("embedded.toml"), &|_| None).expect("embedded.toml checks");
    assert_eq!(config.hub.bus, "sqlite://data/bus.db");
    assert!(!config.api.production);
    assert_eq!(config.stages.workers, 1);
    assert_eq!(config.stages.shard, "0/1", "the default shard");
    assert!(config.feeds.contains_key("nomis"));
}

#[test]
fn the_multi_process_example_reads_its_secrets_from_the_environment() {
    let config = load(&example("multi-process.toml"), &env_with_secrets).expect("checks");
    assert_eq!(config.hub.bus, "amqp://waymark:s3cret@127.0.0.1:5673/%2f");
    assert!(config.hub.store.starts_with("postgres://waymark_hub:"));
    assert!(config.api.production);
    assert_eq!(config.stages.workers, 2);
}

#[test]
fn the_multi_process_example_without_its_secrets_names_the_missing_variables() {
    let err = load(&example("multi-process.toml"), &|_| None).expect_err("no secrets");
    let text = err.to_string();
    assert_eq!(err.0.len(), 2, "{text}");
    assert!(
        text.contains("`hub.bus`: the environment variable `WAYMARK_AMQP_URL` is not set"),
        "{text}"
    );
    assert!(
        text.contains("`hub.store`: the environment variable `WAYMARK_PG_HUB_URL` is not set"),
        "{text}"
    );
    assert!(
        text.contains("multi-process.toml:10:1:"),
        "the line of hub.bus: {text}"
    );
}

#[test]
fn the_environment_overrides_the_file() {
    let env = |name: &str| (name == "WAYMARK_STORE_URL").then(|| "postgres://other/db".to_owned());
    let config = load(&example("embedded.toml"), &env).expect("checks");
    assert_eq!(config.hub.store, "postgres://other/db");
    assert_eq!(config.hub.bus, "sqlite://data/bus.db", "untouched");
}

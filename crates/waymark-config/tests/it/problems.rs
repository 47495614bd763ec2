//! Every problem is explained with the file, line and column, the key and what was expected.

use waymark_config::{Problems, parse};

const GOOD: &str = r#"version = 1

[hub]
bus = "sqlite://bus.db"
store = "sqlite://store.db"
"#;

fn problems(text: &str) -> Problems {
    parse(text, "hub.toml", &|_| None).expect_err("a problem")
}

fn one(text: &str) -> String {
    let found = problems(text);
    assert_eq!(found.0.len(), 1, "{found}");
    found.0[0].to_string()
}

#[test]
fn the_minimal_file_is_enough() {
    let config = parse(GOOD, "hub.toml", &|_| None).expect("good");
    assert_eq!(config.api.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.hub.mappings.to_string_lossy(), "mappings");
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let text = GOOD.replace("store = ", "store == ");
    let line = one(&text);
    assert!(line.starts_with("hub.toml:5:"), "{line}");
}

#[test]
fn an_unknown_key_names_the_key_and_the_keys_expected() {
    let text = GOOD.replace("store =", "stor =");
    let line = one(&text);
    assert!(
        line.starts_with("hub.toml:5:1: `hub`") || line.starts_with("hub.toml:5:1: `hub.stor`"),
        "{line}"
    );
    assert!(line.contains("unknown field `stor`"), "{line}");
    assert!(
        line.contains("expected") && line.contains("`store`"),
        "{line}"
    );
}

#[test]
fn a_wrong_type_names_the_key_and_the_type_expected() {
    let text = format!("{GOOD}\n[stages]\nworkers = \"two\"\n");
    let line = one(&text);
    assert!(line.contains("`stages.workers`"), "{line}");
    assert!(line.contains("hub.toml:8:"), "{line}");
    assert!(line.contains("expected u16"), "{line}");
}

#[test]
fn a_missing_section_is_named() {
    let line = one("version = 1\n");
    assert!(line.contains("missing field `hub`"), "{line}");
}

#[test]
fn the_hubs_own_rules_are_explained_each_at_its_key() {
    let text = r#"version = 2

[hub]
bus = "http://broker"
store = "mysql://db"

[api]
production = true

[stages]
workers = 0
shard = "2/2"

[feeds.police]
url = "x"
"#;
    let found = problems(text);
    let lines: Vec<String> = found.0.iter().map(ToString::to_string).collect();
    let expect = [
        "hub.toml:1:1: `version`: version 2 is not read by this build; expected 1",
        "hub.toml:4:1: `hub.bus`: a URL with scheme `http`; expected amqp://… or amqps://… or sqlite://…",
        "hub.toml:5:1: `hub.store`: a URL with scheme `mysql`; expected postgres://… or postgresql://… or sqlite://…",
        "hub.toml:7:1: `api.auth`: production mode refuses the development issuer, and no auth file is given; expected the path of the authentication file",
        "hub.toml:11:1: `stages.workers`: 0 workers; expected 1 to 64",
        "hub.toml:12:1: `stages.shard`: `2/2` is not a shard; expected I/N with 0 <= I < N, e.g. 0/2",
        "hub.toml:14:1: `feeds.police`: `police` is not a source system; expected one of athena, excelicare, systmone, nomis, scr",
    ];
    assert_eq!(lines, expect);
}

#[test]
fn a_secret_is_never_quoted_in_a_problem() {
    let text = GOOD.replace("sqlite://bus.db", "ftp://user:hunter2@broker");
    let line = one(&text);
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn production_refuses_the_embedded_bus() {
    let text = format!("{GOOD}\n[api]\nproduction = true\nauth = \"auth.json\"\n");
    let line = one(&text);
    assert!(
        line.contains("`hub.bus`: production mode with the embedded bus"),
        "{line}"
    );
}

#[test]
fn subscriptions_take_an_endpoint_mode_and_a_retry_window() {
    use std::time::Duration;
    use waymark_config::EndpointMode;

    let config = parse(GOOD, "hub.toml", &|_| None).expect("good");
    assert_eq!(
        config.subscriptions.retry_window(),
        Some(Duration::from_secs(72 * 3600))
    );
    assert_eq!(
        config.subscriptions.endpoint_mode(false),
        EndpointMode::Local
    );
    assert_eq!(
        config.subscriptions.endpoint_mode(true),
        EndpointMode::Production,
        "production mode defaults to production endpoints"
    );
    let text = format!("{GOOD}\n[subscriptions]\nendpoints = \"local\"\nretry_window = \"90m\"\n");
    let config = parse(&text, "hub.toml", &|_| None).expect("good");
    assert_eq!(
        config.subscriptions.endpoint_mode(true),
        EndpointMode::Local
    );
    assert_eq!(
        config.subscriptions.retry_window(),
        Some(Duration::from_secs(90 * 60))
    );
    for bad in ["72", "0h", "31d", "h", "3w", "-1h"] {
        let text = format!("{GOOD}\n[subscriptions]\nretry_window = \"{bad}\"\n");
        let line = one(&text);
        assert!(line.contains("`subscriptions.retry_window`"), "{line}");
        assert!(line.contains("hub.toml:8:"), "{line}");
    }
    let text = format!("{GOOD}\n[subscriptions]\nendpoints = \"anywhere\"\n");
    assert!(one(&text).contains("`subscriptions.endpoints`"));
}

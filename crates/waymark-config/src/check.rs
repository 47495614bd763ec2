//! The hub's own rules for a parsed configuration, and the resolution of secrets: `env:NAME`
//! values are read from the environment, and `WAYMARK_BUS_URL` / `WAYMARK_STORE_URL` override
//! the file. Pure: the environment is a function given by the caller.

use std::str::FromStr;

use waymark_core::SourceSystem;

use crate::{
    CONFIG_VERSION, Config,
    problem::{Problem, Problems, locate},
};

/// Looks up an environment variable.
pub type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Checks `config` (parsed from `text`) and resolves its secrets.
pub(crate) fn check(
    mut config: Config,
    text: &str,
    file: &str,
    env: &Env<'_>,
) -> Result<Config, Problems> {
    let mut found: Vec<(String, String, String)> = Vec::new();
    let mut problem = |key: &str, message: String, expected: &str| {
        found.push((key.to_owned(), message, expected.to_owned()));
    };
    if config.version != CONFIG_VERSION {
        problem(
            "version",
            format!("version {} is not read by this build", config.version),
            "1",
        );
    }
    config.hub.bus = resolve(
        "hub.bus",
        "WAYMARK_BUS_URL",
        &config.hub.bus,
        env,
        &mut problem,
    );
    config.hub.store = resolve(
        "hub.store",
        "WAYMARK_STORE_URL",
        &config.hub.store,
        env,
        &mut problem,
    );
    check_url(
        "hub.bus",
        &config.hub.bus,
        &["amqp", "amqps", "sqlite"],
        &mut problem,
    );
    check_url(
        "hub.store",
        &config.hub.store,
        &["postgres", "postgresql", "sqlite"],
        &mut problem,
    );
    check_production(&config, &mut problem);
    check_stages(&config, &mut problem);
    if config.subscriptions.retry_window().is_none() {
        problem(
            "subscriptions.retry_window",
            format!(
                "`{}` is not a retry window",
                config.subscriptions.retry_window
            ),
            "a number and a unit (s, m, h, d) from 1m to 30d, e.g. 72h",
        );
    }
    for name in config.feeds.keys() {
        if SourceSystem::from_str(name).is_err() {
            problem(
                &format!("feeds.{name}"),
                format!("`{name}` is not a source system"),
                "one of athena, excelicare, systmone, nomis, scr",
            );
        }
    }
    if found.is_empty() {
        return Ok(config);
    }
    let mut problems: Vec<Problem> = found
        .into_iter()
        .map(|(key, message, expected)| Problem {
            file: file.to_owned(),
            at: locate(text, &key),
            key,
            message,
            expected,
        })
        .collect();
    problems.sort_by_key(|p| p.at.unwrap_or((usize::MAX, 0)));
    Err(Problems(problems))
}

type Report<'a> = dyn FnMut(&str, String, &str) + 'a;

/// The value after secrets and overrides. Never reports the value itself.
fn resolve(key: &str, over: &str, value: &str, env: &Env<'_>, problem: &mut Report<'_>) -> String {
    if let Some(overridden) = env(over) {
        return overridden;
    }
    let Some(name) = value.strip_prefix("env:") else {
        return value.to_owned();
    };
    env(name).unwrap_or_else(|| {
        problem(
            key,
            format!("the environment variable `{name}` is not set"),
            "it to hold the value",
        );
        String::new()
    })
}

fn check_url(key: &str, url: &str, schemes: &[&str], problem: &mut Report<'_>) {
    if url.is_empty() {
        return; // already reported by `resolve`
    }
    let scheme = url.split_once("://").map(|(s, _)| s);
    if !scheme.is_some_and(|s| schemes.contains(&s)) {
        let shown = scheme.map_or_else(|| "no scheme".to_owned(), |s| format!("scheme `{s}`"));
        let expected: Vec<String> = schemes.iter().map(|s| format!("{s}://…")).collect();
        problem(key, format!("a URL with {shown}"), &expected.join(" or "));
    }
}

fn check_production(config: &Config, problem: &mut Report<'_>) {
    if !config.api.production {
        return;
    }
    if config.api.auth.is_none() {
        problem(
            "api.auth",
            "production mode refuses the development issuer, and no auth file is given".into(),
            "the path of the authentication file",
        );
    }
    if config.hub.bus.starts_with("sqlite://") {
        problem(
            "hub.bus",
            "production mode with the embedded bus".into(),
            "amqp:// or amqps:// (RabbitMQ)",
        );
    }
}

fn check_stages(config: &Config, problem: &mut Report<'_>) {
    if !(1..=64).contains(&config.stages.workers) {
        problem(
            "stages.workers",
            format!("{} workers", config.stages.workers),
            "1 to 64",
        );
    }
    let shard = config.stages.shard.split_once('/').and_then(|(i, n)| {
        let (i, n) = (i.parse::<u32>().ok()?, n.parse::<u32>().ok()?);
        (n >= 1 && i < n).then_some(())
    });
    if shard.is_none() {
        problem(
            "stages.shard",
            format!("`{}` is not a shard", config.stages.shard),
            "I/N with 0 <= I < N, e.g. 0/2",
        );
    }
}

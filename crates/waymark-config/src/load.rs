//! From text to [`Config`]: TOML syntax and types first (with the span and key path of the
//! first error), then the hub's own rules ([`crate::check`]).

use std::path::Path;

use crate::{
    Config,
    check::{Env, check},
    problem::{Problem, Problems, line_column},
};

/// Reads and checks a configuration file; secrets (`env:NAME`) and the environment overrides
/// are resolved through `env`.
pub fn load(path: &Path, env: &Env<'_>) -> Result<Config, Problems> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| {
        Problems(vec![Problem {
            file: file.clone(),
            at: None,
            key: String::new(),
            message: format!("cannot be read ({})", err.kind()),
            expected: "a readable TOML file".to_owned(),
        }])
    })?;
    parse(&text, &file, env)
}

/// Parses and checks `text`, naming `file` in problems.
pub fn parse(text: &str, file: &str, env: &Env<'_>) -> Result<Config, Problems> {
    let config = deserialize(text, file).map_err(|p| Problems(vec![p]))?;
    check(config, text, file, env)
}

fn deserialize(text: &str, file: &str) -> Result<Config, Problem> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|err| from_toml(text, file, "", &err))?;
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let key = dotted(err.path());
        from_toml(text, file, &key, err.inner())
    })
}

fn dotted(path: &serde_path_to_error::Path) -> String {
    let key = path.to_string();
    if key == "." { String::new() } else { key }
}

fn from_toml(text: &str, file: &str, key: &str, err: &toml::de::Error) -> Problem {
    let at = err.span().map(|span| line_column(text, span.start));
    let message = err.message().trim().to_owned();
    let (message, expected) = split_expected(&message);
    Problem {
        file: file.to_owned(),
        at,
        key: key.to_owned(),
        message,
        expected,
    }
}

/// serde's messages read "invalid type: integer `3`, expected a string"; the part after
/// ", expected " is what was expected.
fn split_expected(message: &str) -> (String, String) {
    match message.split_once(", expected ") {
        Some((what, expected)) => (what.to_owned(), expected.to_owned()),
        None => (message.to_owned(), String::new()),
    }
}

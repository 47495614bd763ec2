//! What the mock NOMIS knows: canned Prison API answers ([`Route`]s) and the notifications it
//! will push, in order, each marked with what the pipeline should make of it.
//!
//! A population is either generated ([`Population::synthetic`], in `synthetic.rs`) or loaded
//! from a folder of WireMock mappings and SNS notification samples
//! ([`Population::from_wiremock_dir`]), such as `fixtures/real/`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde_json::Value;

/// One canned Prison API answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case (the mock serves `GET` only).
    pub method: String,
    /// Request path, e.g. `/api/prisoners/A5089DY/full-status`.
    pub path: String,
    /// Query parameters that must all be present with these values (empty: any query).
    pub query: Vec<(String, String)>,
    /// Response status.
    pub status: u16,
    /// Response `Content-Type`.
    pub content_type: String,
    /// Response body.
    pub body: Vec<u8>,
}

impl Route {
    /// A `GET` answered with a JSON body.
    pub fn json(path: impl Into<String>, status: u16, body: &Value) -> Self {
        Self {
            method: "GET".into(),
            path: path.into(),
            query: Vec::new(),
            status,
            content_type: "application/json".into(),
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }
}

/// What the pipeline should make of a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Decodable and enrichable: its envelope carries `context.prisoner` and should map, and
    /// it changes the person's record (so it raises pathway events and notifications).
    Good,
    /// Decodable and enrichable, and should map, but repeats what the record already holds:
    /// the mock Prison API serves one snapshot per prisoner, so a status-changed or
    /// details-changed event re-reads data the reception already brought. It is recorded and
    /// raises no event (a repeat is not a change).
    Repeat,
    /// Flawed on purpose: its envelope carries `context.error` and should be quarantined.
    Bad,
}

/// A notification the mock will push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedNotification {
    /// A short name for test messages (a file stem, an event type or a fault name).
    pub label: String,
    /// The exact body to POST.
    pub body: Vec<u8>,
    /// What should become of it.
    pub expect: Expect,
}

/// How many notifications a population sends, and how many of them should map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// Notifications pushed.
    pub sent: usize,
    /// Of those, the ones that should map (and be recorded).
    pub good: usize,
    /// Of the good ones, those that change the record: one `record.updated` notification each.
    pub changes: usize,
    /// Of those, the ones that should be quarantined.
    pub bad: usize,
}

/// Why a WireMock folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    /// A file or the folder could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `.json` file is not JSON, or a mapping has no usable request or response.
    #[error("`{path}` is not a usable mapping or notification: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: &'static str,
    },
}

/// The mock's knowledge: Prison API answers and the notification script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Population {
    routes: BTreeMap<String, Vec<Route>>,
    script: Vec<ScriptedNotification>,
    pub(crate) faults_added: bool,
}

impl Population {
    /// An empty population.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an answer. Among routes for one path, the one with more query constraints wins.
    pub fn add_route(&mut self, route: Route) {
        let routes = self.routes.entry(route.path.clone()).or_default();
        routes.push(route);
        routes.sort_by_key(|r| std::cmp::Reverse(r.query.len()));
    }

    /// Appends a notification to the script.
    pub fn add_notification(&mut self, notification: ScriptedNotification) {
        self.script.push(notification);
    }

    /// Inserts a notification at `index` (clamped to the script's length).
    pub(crate) fn insert_notification(&mut self, index: usize, n: ScriptedNotification) {
        let index = index.min(self.script.len());
        self.script.insert(index, n);
    }

    /// The notifications, in push order.
    pub fn notifications(&self) -> &[ScriptedNotification] {
        &self.script
    }

    /// Every route.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values().flatten()
    }

    /// The answer to a request, if any route matches.
    pub fn lookup(&self, method: &str, path: &str, query: &[(String, String)]) -> Option<&Route> {
        self.routes.get(path)?.iter().find(|route| {
            route.method.eq_ignore_ascii_case(method)
                && route.query.iter().all(|wanted| query.contains(wanted))
        })
    }

    /// How many notifications are sent, and how many should map.
    pub fn expected(&self) -> Expected {
        let count = |wanted: &[Expect]| {
            self.script
                .iter()
                .filter(|n| wanted.contains(&n.expect))
                .count()
        };
        let good = count(&[Expect::Good, Expect::Repeat]);
        Expected {
            sent: self.script.len(),
            good,
            changes: count(&[Expect::Good]),
            bad: self.script.len() - good,
        }
    }

    /// Loads a folder of WireMock mappings and SNS notifications (`*.json`, in name order).
    ///
    /// A file whose `Type` is `Notification` joins the script, bytes as they are, expected to
    /// map. A WireMock mapping with `request.method` `GET` (`request.url`, or `request.urlPath`
    /// with `queryParameters.*.equalTo`) is served as its `response.status` with
    /// `response.jsonBody` or `response.body`. Other mappings (`POST`s) are ignored, and so is
    /// `fixedDelayMilliseconds`.
    pub fn from_wiremock_dir(dir: &Path) -> Result<Self, PopulationError> {
        let mut population = Self::new();
        for path in json_files(dir)? {
            let bytes = std::fs::read(&path).map_err(|source| PopulationError::Io {
                path: path.clone(),
                source,
            })?;
            let invalid = |what| PopulationError::Invalid {
                path: path.clone(),
                what,
            };
            let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid("not json"))?;
            if value.get("Type").and_then(Value::as_str) == Some("Notification") {
                let label = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                let label = label.unwrap_or_default();
                population.add_notification(ScriptedNotification {
                    label,
                    body: bytes,
                    expect: Expect::Good,
                });
            } else if let Some(route) = wiremock_route(&value).map_err(invalid)? {
                population.add_route(route);
            }
        }
        Ok(population)
    }
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, PopulationError> {
    let io = |source| PopulationError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A WireMock `GET` mapping as a route; `None` for other methods.
fn wiremock_route(mapping: &Value) -> Result<Option<Route>, &'static str> {
    let request = mapping.get("request").ok_or("no `request`")?;
    if request.get("method").and_then(Value::as_str) != Some("GET") {
        return Ok(None);
    }
    let (path, query) = match (request.get("url"), request.get("urlPath")) {
        (Some(Value::String(url)), _) => split_url(url),
        (_, Some(Value::String(path))) => (path.clone(), query_constraints(request)?),
        _ => return Err("no `request.url` or `request.urlPath`"),
    };
    let response = mapping.get("response").ok_or("no `response`")?;
    let status = response
        .get("status")
        .and_then(Value::as_u64)
        .unwrap_or(200);
    let status = u16::try_from(status).map_err(|_| "bad `response.status`")?;
    let (content_type, body) = match (response.get("jsonBody"), response.get("body")) {
        (Some(json), _) => (
            "application/json".to_owned(),
            serde_json::to_vec(json).unwrap_or_default(),
        ),
        (_, Some(Value::String(text))) => ("text/plain".to_owned(), text.clone().into_bytes()),
        _ => ("application/json".to_owned(), Vec::new()),
    };
    let content_type = response
        .pointer("/headers/Content-Type")
        .and_then(Value::as_str)
        .map_or(content_type, str::to_owned);
    Ok(Some(Route {
        method: "GET".into(),
        path,
        query,
        status,
        content_type,
        body,
    }))
}

fn query_constraints(request: &Value) -> Result<Vec<(String, String)>, &'static str> {
    let Some(Value::Object(params)) = request.get("queryParameters") else {
        return Ok(Vec::new());
    };
    let equal_to = |(name, rule): (&String, &Value)| {
        let value = rule.get("equalTo").and_then(Value::as_str);
        value
            .map(|v| (name.clone(), v.to_owned()))
            .ok_or("only `equalTo` query rules are read")
    };
    params.iter().map(equal_to).collect()
}

/// Splits `/path?a=1&b=2` into the path and its query pairs (no percent-decoding).
pub(crate) fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    match url.split_once('?') {
        Some((path, query)) => (path.to_owned(), parse_query(query)),
        None => (url.to_owned(), Vec::new()),
    }
}

/// `a=1&b=2` as pairs (no percent-decoding).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    let pair = |part: &str| {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        (name.to_owned(), value.to_owned())
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(pair)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wiremock_mappings_become_routes() {
        let by_url = json!({"request": {"method": "GET", "url": "/a?x=1"},
            "response": {"status": 200, "jsonBody": {"k": 1}}});
        let route = wiremock_route(&by_url).unwrap().unwrap();
        assert_eq!((route.path.as_str(), route.status), ("/a", 200));
        assert_eq!(route.query, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(route.body, br#"{"k":1}"#);

        let by_path = json!({"request": {"method": "GET", "urlPath": "/b",
            "queryParameters": {"size": {"equalTo": "2"}}},
            "response": {"status": 503, "body": "down", "headers": {"Content-Type": "text/x"}}});
        let route = wiremock_route(&by_path).unwrap().unwrap();
        assert_eq!(
            (
                route.status,
                route.content_type.as_str(),
                route.body.as_slice()
            ),
            (503, "text/x", &b"down"[..])
        );

        let post = json!({"request": {"method": "POST", "urlPath": "/c"}, "response": {}});
        assert_eq!(wiremock_route(&post).unwrap(), None);
        assert!(wiremock_route(&json!({"request": {"method": "GET"}})).is_err());
    }

    #[test]
    fn lookup_prefers_the_route_with_matching_query() {
        let mut population = Population::new();
        population.add_route(Route::json("/p", 200, &json!("any")));
        let mut paged = Route::json("/p", 200, &json!("page 1"));
        paged.query = vec![("page".into(), "1".into())];
        population.add_route(paged);
        let query = parse_query("page=1&size=2");
        assert_eq!(
            population.lookup("GET", "/p", &query).unwrap().body,
            br#""page 1""#
        );
        assert_eq!(
            population.lookup("GET", "/p", &[]).unwrap().body,
            br#""any""#
        );
        assert!(population.lookup("GET", "/q", &[]).is_none());
        assert!(population.lookup("POST", "/p", &[]).is_none());
    }
}

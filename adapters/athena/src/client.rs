//! The Athena REST client: a bearer token from the token endpoint (OAuth 2 client credentials,
//! `client_secret_basic`), refreshed before it expires and whenever the feed answers 401, and
//! one feed request at a time (`GET /api/v1/custody-events?cursor=…&limit=…`).
//!
//! A page is read with each event kept as its exact bytes. Failures come back typed, with the
//! `Retry-After` of a 429; retrying is the poller's job. Neither a URL (it holds the cursor), a
//! token nor a `reqwest` error text is ever logged or kept.

use std::time::Duration;

use reqwest::{
    StatusCode,
    header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER},
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::{sync::Mutex, time::Instant};
use waymark_core::Sensitive;

use crate::{
    AthenaError,
    telemetry::{Count, Telemetry},
};

/// The feed's path under the base URL.
pub const FEED_PATH: &str = "/api/v1/custody-events";
/// The token endpoint's path on the mock (the adapter takes the token URL from its config).
pub const TOKEN_PATH: &str = "/oauth/token";

/// The largest page body read (checked on `Content-Length` and while reading).
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// The most events a page may hold (the largest `page_size` the adapter asks for).
pub const MAX_PAGE_EVENTS: usize = 1_000;
/// The serde error text of a page over [`MAX_PAGE_EVENTS`].
const TOO_MANY_EVENTS: &str = "too many events";

/// A token is refreshed this long before the token endpoint said it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// One page of the feed.
#[derive(Debug)]
pub struct Page {
    /// Each event's exact bytes, in feed order.
    pub events: Vec<Sensitive<Vec<u8>>>,
    /// The cursor to ask for next (`None`: stay where we are).
    pub next_cursor: Option<String>,
    /// Whether the feed holds more events after this page.
    pub has_more: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage<'a> {
    #[serde(borrow, deserialize_with = "bounded_events")]
    events: Vec<&'a RawValue>,
    next_cursor: Option<String>,
    #[serde(default)]
    has_more: bool,
}

/// The events array, refused past [`MAX_PAGE_EVENTS`] without reading further.
fn bounded_events<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<&'de RawValue>, D::Error> {
    struct Events;
    impl<'de> serde::de::Visitor<'de> for Events {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of events")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut events = Vec::new();
            while let Some(event) = seq.next_element()? {
                if events.len() == MAX_PAGE_EVENTS {
                    return Err(serde::de::Error::custom(TOO_MANY_EVENTS));
                }
                events.push(event);
            }
            Ok(events)
        }
    }
    d.deserialize_seq(Events)
}

impl Page {
    /// Reads a page body: `{"events": [...], "nextCursor": "...", "hasMore": true}`. A body over
    /// [`MAX_PAGE_BYTES`] or with more than [`MAX_PAGE_EVENTS`] events is `TooLarge`.
    pub fn parse(body: &[u8]) -> Result<Self, AthenaError> {
        if body.len() > MAX_PAGE_BYTES {
            return Err(AthenaError::TooLarge {
                limit: MAX_PAGE_BYTES,
            });
        }
        let raw: RawPage<'_> = serde_json::from_slice(body).map_err(|e| {
            if e.is_data() && e.to_string().starts_with(TOO_MANY_EVENTS) {
                AthenaError::TooLarge {
                    limit: MAX_PAGE_EVENTS,
                }
            } else {
                AthenaError::InvalidPage
            }
        })?;
        let events = raw
            .events
            .iter()
            .map(|e| Sensitive::new(e.get().as_bytes().to_vec()))
            .collect();
        Ok(Self {
            events,
            next_cursor: raw.next_cursor.filter(|c| !c.is_empty()),
            has_more: raw.has_more,
        })
    }
}

/// Why a feed request failed, and how long the feed asked us to wait.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: AthenaError,
    pub retry_after: Option<Duration>,
}

impl From<AthenaError> for Failure {
    fn from(error: AthenaError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

struct Token {
    value: Sensitive<String>,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

/// Where and how to reach Athena.
pub(crate) struct ApiSettings {
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Sensitive<String>,
    pub timeout: Duration,
}

/// An Athena feed client.
pub(crate) struct AthenaApi {
    http: reqwest::Client,
    settings: ApiSettings,
    feed_url: String,
    token: Mutex<Option<Token>>,
    telemetry: Telemetry,
}

impl AthenaApi {
    pub(crate) fn new(settings: ApiSettings, telemetry: Telemetry) -> Result<Self, AthenaError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|_| AthenaError::Client)?;
        let feed_url = format!("{}{FEED_PATH}", settings.base_url.trim_end_matches('/'));
        Ok(Self {
            http,
            settings,
            feed_url,
            token: Mutex::new(None),
            telemetry,
        })
    }

    /// One page after `cursor`; on a 401 the token is refreshed and the request made once more.
    pub(crate) async fn fetch(&self, cursor: Option<&str>, limit: u32) -> Result<Page, Failure> {
        let token = self.bearer().await?;
        let response = self.get(cursor, limit, &token).await?;
        let response = if response.status() == StatusCode::UNAUTHORIZED {
            *self.token.lock().await = None;
            self.telemetry.incr(Count::Retried);
            let token = self.bearer().await?;
            let again = self.get(cursor, limit, &token).await?;
            if again.status() == StatusCode::UNAUTHORIZED {
                return Err(AthenaError::Unauthorized.into());
            }
            again
        } else {
            response
        };
        read_page(response).await
    }

    async fn get(
        &self,
        cursor: Option<&str>,
        limit: u32,
        token: &Sensitive<String>,
    ) -> Result<reqwest::Response, Failure> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let request = self
            .http
            .get(&self.feed_url)
            .query(&query)
            .bearer_auth(token.expose())
            .header(ACCEPT, "application/json");
        request
            .send()
            .await
            .map_err(|_| AthenaError::Unreachable.into())
    }

    /// The cached token, or a fresh one when there is none or it is about to expire.
    async fn bearer(&self) -> Result<Sensitive<String>, AthenaError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    async fn fetch_token(&self) -> Result<Token, AthenaError> {
        let s = &self.settings;
        let response = self
            .http
            .post(&s.token_url)
            .basic_auth(&s.client_id, Some(s.client_secret.expose()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|_| AthenaError::Unreachable)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(AthenaError::Token { status });
        }
        let body = response
            .bytes()
            .await
            .map_err(|_| AthenaError::Unreachable)?;
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|_| AthenaError::Token { status })?;
        if answer.access_token.is_empty() {
            return Err(AthenaError::Token { status });
        }
        self.telemetry.incr(Count::Tokens);
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300));
        Ok(Token {
            value: Sensitive::new(answer.access_token),
            refresh_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        })
    }
}

async fn read_page(response: reqwest::Response) -> Result<Page, Failure> {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(Failure {
            error: AthenaError::RateLimited,
            retry_after: retry_after(response.headers()),
        });
    }
    if !status.is_success() {
        return Err(Failure {
            error: AthenaError::Status {
                status: status.as_u16(),
            },
            retry_after: retry_after(response.headers()),
        });
    }
    Ok(Page::parse(&read_limited(response).await?)?)
}

/// The body, refused once it passes [`MAX_PAGE_BYTES`] (declared or read).
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, AthenaError> {
    let too_large = AthenaError::TooLarge {
        limit: MAX_PAGE_BYTES,
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PAGE_BYTES as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| AthenaError::Unreachable)?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` in whole seconds (the HTTP-date form is not honoured: backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_keep_each_events_exact_bytes() {
        let body = br#"{"events":[{"b":1, "a":2},{"x":[1,2]}],"nextCursor":"c1.2","hasMore":true}"#;
        let page = Page::parse(body).unwrap();
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.events[0].expose().as_slice(), br#"{"b":1, "a":2}"#);
        assert_eq!(page.next_cursor.as_deref(), Some("c1.2"));
        assert!(page.has_more);
    }

    #[test]
    fn broken_pages_are_refused() {
        for bad in [
            &b"{\"events\":[{\"a\":1}"[..],
            b"[]",
            b"{\"events\":3}",
            b"",
        ] {
            assert_eq!(
                waymark_core::ErrorCode::code(&Page::parse(bad).unwrap_err()),
                "athena.invalid-page"
            );
        }
        let empty = Page::parse(br#"{"events":[],"nextCursor":""}"#).unwrap();
        assert_eq!((empty.next_cursor, empty.has_more), (None, false));
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}

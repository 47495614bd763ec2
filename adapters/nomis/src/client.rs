//! The Prison API client: finds the prisoner an event is about and fetches what the map stage
//! needs (the prisoner's full status and the booking's alerts).
//!
//! A 404 is final (`nomis.prison-api.not-found`), and so is any other 4xx but 429
//! (`nomis.prison-api.status`); a 5xx, a 429, a timeout, a reset or a refused connection is
//! retried with doubling backoff up to the configured count, and if it still fails the endpoint
//! leaves the notification unacknowledged (503) for SNS to deliver again. URLs hold prison
//! numbers, so neither a URL nor a `reqwest` error text is ever logged or kept.

use std::time::Duration;

use reqwest::header::ACCEPT;
use serde_json::Value;
use waymark_core::{ErrorCode, Sensitive};

use crate::{NomisError, parse::OffenderEvent, telemetry::Telemetry};

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How failed Prison API requests are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub retries: u32,
    /// Wait before the first retry; doubled before each later one (at most 30 s).
    pub backoff: Duration,
}

/// A NOMIS prison number (`A1234BC`), checked before it goes into a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrisonNumber(Sensitive<String>);

impl PrisonNumber {
    /// Checks the format: one letter, four digits, two letters, upper case.
    pub fn parse(text: &str) -> Result<Self, NomisError> {
        let b = text.as_bytes();
        let ok = b.len() == 7
            && b[0].is_ascii_uppercase()
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5..].iter().all(u8::is_ascii_uppercase);
        if ok {
            Ok(Self(Sensitive::new(text.to_owned())))
        } else {
            Err(NomisError::Unresolvable)
        }
    }

    /// The number. Never log it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// What the Prison API said about the prisoner an event is about.
#[derive(Clone, Debug)]
pub struct Enrichment {
    /// `GET /api/prisoners/{no}/full-status` body (an object).
    pub prisoner: Sensitive<Value>,
    /// `GET /api/bookings/{bookingId}/alerts` body (an array).
    pub alerts: Sensitive<Value>,
}

/// A Prison API client.
#[derive(Clone, Debug)]
pub struct PrisonApi {
    http: reqwest::Client,
    base: String,
    retry: RetryPolicy,
    telemetry: Telemetry,
}

impl PrisonApi {
    /// A client for the API at `base_url` (`http(s)://host[:port][/prefix]`).
    pub fn new(base_url: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, NomisError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(NomisError::Config(
                "`prison_api_url` must be an http(s) url".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|_| NomisError::Client)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            retry,
            telemetry: Telemetry::default(),
        })
    }

    /// The counters this client and the endpoint using it move.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Fetches the prisoner and alerts an event is about.
    pub async fn enrich(&self, event: &OffenderEvent) -> Result<Enrichment, NomisError> {
        let number = self.prison_number(event).await?;
        let status_path = format!("/api/prisoners/{}/full-status", number.expose());
        let (prisoner, alerts) = match event.booking_id {
            Some(booking) => {
                let (prisoner, alerts) =
                    tokio::join!(self.get_json(&status_path), self.alerts(booking));
                (object(prisoner?)?, alerts?)
            }
            None => {
                let prisoner = object(self.get_json(&status_path).await?)?;
                let booking = prisoner.get("bookingId").and_then(Value::as_u64);
                let alerts = self
                    .alerts(booking.ok_or(NomisError::Unresolvable)?)
                    .await?;
                (prisoner, alerts)
            }
        };
        Ok(Enrichment {
            prisoner: Sensitive::new(prisoner),
            alerts: Sensitive::new(alerts),
        })
    }

    /// `offenderIdDisplay` when the event has one, else the booking's `offenderNo`.
    async fn prison_number(&self, event: &OffenderEvent) -> Result<PrisonNumber, NomisError> {
        if let Some(number) = &event.prison_number {
            return PrisonNumber::parse(number.expose());
        }
        let booking = event.booking_id.ok_or(NomisError::Unresolvable)?;
        let record = object(self.get_json(&format!("/api/bookings/{booking}")).await?)?;
        let number = record.get("offenderNo").and_then(Value::as_str);
        PrisonNumber::parse(number.ok_or(NomisError::Unresolvable)?)
    }

    async fn alerts(&self, booking: u64) -> Result<Value, NomisError> {
        let alerts = self
            .get_json(&format!("/api/bookings/{booking}/alerts"))
            .await?;
        if alerts.is_array() {
            Ok(alerts)
        } else {
            Err(NomisError::Status { status: 200 })
        }
    }

    /// GETs a JSON body, retrying transient failures.
    async fn get_json(&self, path: &str) -> Result<Value, NomisError> {
        let url = format!("{}{path}", self.base);
        let mut delay = self.retry.backoff;
        let mut retried = 0;
        loop {
            match self.get_once(&url).await {
                Err(err) if err.is_transient() && retried < self.retry.retries => {
                    tracing::debug!(code = err.code(), retry = retried + 1, "prison api retry");
                    self.telemetry.retried();
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_BACKOFF);
                    retried += 1;
                }
                result => return result,
            }
        }
    }

    async fn get_once(&self, url: &str) -> Result<Value, NomisError> {
        let request = self.http.get(url).header(ACCEPT, "application/json");
        let response = request.send().await.map_err(|_| NomisError::Unreachable)?;
        let status = response.status().as_u16();
        match status {
            404 => Err(NomisError::NotFound),
            200..=299 => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|_| NomisError::Unreachable)?;
                serde_json::from_slice(&body).map_err(|_| NomisError::Status { status })
            }
            _ => Err(NomisError::Status { status }),
        }
    }
}

/// A record must be a JSON object; anything else is an unusable answer.
fn object(value: Value) -> Result<Value, NomisError> {
    if value.is_object() {
        Ok(value)
    } else {
        Err(NomisError::Status { status: 200 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prison_numbers_are_checked() {
        for good in ["A5089DY", "G1234AB", "Z0000ZZ"] {
            assert_eq!(PrisonNumber::parse(good).unwrap().expose(), good);
        }
        for bad in [
            "", "a5089DY", "A5089D", "A5089DYY", "A508XDY", "A5089D1", "../../x", "A5089dy",
        ] {
            assert_eq!(
                PrisonNumber::parse(bad).unwrap_err().code(),
                "nomis.unresolvable",
                "{bad}"
            );
        }
    }

    #[test]
    fn printing_a_prison_number_hides_it() {
        let number = PrisonNumber::parse("A5089DY").unwrap();
        assert!(!format!("{number:?}").contains("A5089DY"));
    }

    #[test]
    fn base_url_must_be_http() {
        let retry = RetryPolicy {
            retries: 0,
            backoff: Duration::ZERO,
        };
        let err = PrisonApi::new("ftp://x", Duration::from_secs(1), retry).unwrap_err();
        assert_eq!(err.code(), "nomis.config");
        assert!(PrisonApi::new("http://127.0.0.1:1/", Duration::from_secs(1), retry).is_ok());
    }
}

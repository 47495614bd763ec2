//! Flaws added to a population on purpose, to prove that nothing is dropped and nothing panics.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    population::{Expect, Population, Route, ScriptedNotification},
    rng::SplitMix64,
    sns::{ordered, sns_body},
    synthetic::Faults,
};

/// A prison number no route answers for (the Prison API says 404).
pub const UNKNOWN_PRISONER: &str = "Z0000ZZ";
/// A prison number whose `full-status` always answers 403 (a permanent refusal: the client
/// does not retry it and the notification is published with `context.error`).
pub const FAILING_PRISONER: &str = "Y0000YY";
/// Size of the padding attribute of the oversized notification.
const PADDING_BYTES: usize = 3_000_000;

impl Population {
    /// Adds the requested faults (once; a second call adds nothing), spread through the script.
    ///
    /// With `bad_events`, exactly four notifications marked [`Expect::Bad`] are added: a
    /// malformed JSON body, an event about [`UNKNOWN_PRISONER`], an event about
    /// [`FAILING_PRISONER`], and a ~3 MB notification (over the adapter's default enrichment
    /// limit of 1 MiB).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        if !faults.bad_events || self.faults_added {
            return self;
        }
        self.faults_added = true;
        let len = self.notifications().len();
        let mut rng = SplitMix64::new(0x5EED_FA17 ^ len as u64);
        let at = DateTime::from_timestamp(1_718_452_800, 0).unwrap_or_default(); // 2024-06-15
        let known = self
            .known_prisoner()
            .unwrap_or_else(|| UNKNOWN_PRISONER.to_owned());
        let bad = [
            malformed(&mut rng, at),
            reception(
                &mut rng,
                at,
                UNKNOWN_PRISONER,
                9_900_001,
                "unknown-prisoner",
            ),
            self.failing_prisoner(&mut rng, at),
            oversized(&mut rng, at, &known),
        ];
        for (k, notification) in bad.into_iter().enumerate() {
            self.insert_notification((k + 1) * len / 5 + k, notification);
        }
        self
    }

    fn known_prisoner(&self) -> Option<String> {
        self.routes().find_map(|route| {
            let number = route
                .path
                .strip_prefix("/api/prisoners/")?
                .strip_suffix("/full-status")?;
            (route.status == 200).then(|| number.to_owned())
        })
    }

    fn failing_prisoner(
        &mut self,
        rng: &mut SplitMix64,
        at: DateTime<Utc>,
    ) -> ScriptedNotification {
        let booking = 9_900_002;
        let error = json!({"status": 403, "userMessage": "Forbidden"});
        let status_path = format!("/api/prisoners/{FAILING_PRISONER}/full-status");
        self.add_route(Route::json(status_path, 403, &error));
        self.add_route(Route::json(
            format!("/api/bookings/{booking}/alerts"),
            200,
            &json!([]),
        ));
        reception(rng, at, FAILING_PRISONER, booking, "prison-api-403")
    }
}

fn reception(
    rng: &mut SplitMix64,
    at: DateTime<Utc>,
    number: &str,
    booking: u64,
    label: &str,
) -> ScriptedNotification {
    let message = ordered(&[
        ("eventType", json!("EXTERNAL_MOVEMENT_RECORD-INSERTED")),
        ("eventDatetime", json!("2024-06-15T13:00:00.000000")),
        ("bookingId", json!(booking)),
        ("movementSeq", json!(1)),
        ("offenderIdDisplay", json!(number)),
        ("fromAgencyLocationId", json!("SHFCRT")),
        ("toAgencyLocationId", json!("MDI")),
        ("directionCode", json!("IN")),
        ("movementType", json!("ADM")),
        ("nomisEventType", json!("M1_RESULT")),
    ]);
    let body = sns_body(rng, at, "EXTERNAL_MOVEMENT_RECORD-INSERTED", &message, None);
    ScriptedNotification {
        label: label.to_owned(),
        body,
        expect: Expect::Bad,
    }
}

fn malformed(rng: &mut SplitMix64, at: DateTime<Utc>) -> ScriptedNotification {
    let mut body = reception(rng, at, UNKNOWN_PRISONER, 9_900_003, "").body;
    body.truncate(body.len() / 2);
    ScriptedNotification {
        label: "malformed-json".into(),
        body,
        expect: Expect::Bad,
    }
}

fn oversized(rng: &mut SplitMix64, at: DateTime<Utc>, number: &str) -> ScriptedNotification {
    let message = ordered(&[
        ("eventType", json!("OFFENDER-UPDATED")),
        ("eventDatetime", json!("2024-06-15T13:00:00.000000")),
        ("offenderIdDisplay", json!(number)),
        ("nomisEventType", json!("S1_RESULT")),
    ]);
    let padding = "0123456789abcdef".repeat(PADDING_BYTES / 16);
    let body = sns_body(rng, at, "OFFENDER-UPDATED", &message, Some(&padding));
    ScriptedNotification {
        label: "oversized".into(),
        body,
        expect: Expect::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_exactly_four_bad_notifications_once() {
        let clean = Population::synthetic(3, 10);
        let faulty = clean.clone().with_faults(Faults { bad_events: true });
        assert_eq!(faulty.expected().sent, clean.expected().sent + 4);
        assert_eq!(faulty.expected().bad, 4);
        assert_eq!(faulty.expected().good, clean.expected().good);
        let again = faulty.clone().with_faults(Faults { bad_events: true });
        assert_eq!(again, faulty);
        assert_eq!(clean.clone().with_faults(Faults::default()), clean);
        let sizes: Vec<usize> = faulty
            .notifications()
            .iter()
            .filter(|n| n.label == "oversized")
            .map(|n| n.body.len())
            .collect();
        assert!(matches!(sizes.as_slice(), [size] if *size > 2_900_000 && *size < 3_200_000));
        let malformed = faulty
            .notifications()
            .iter()
            .find(|n| n.label == "malformed-json");
        assert!(serde_json::from_slice::<serde_json::Value>(&malformed.unwrap().body).is_err());
    }
}

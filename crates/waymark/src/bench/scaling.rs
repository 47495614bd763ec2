//! Scaling: the same envelopes through a hub whose store already holds 10 k → 1 M people
//! (bulk-loaded with the statements of `Store::apply`, as `waymark-api/benches/fhir.rs` does),
//! and through 1 → 1,000 subscriptions of which 1 % answer slowly and 1 % fail.

use std::{path::Path, time::Instant};

use anyhow::Context as _;

use chrono::{NaiveDate, Utc};
use serde_json::json;
use waymark_core::{MessageId, PRISON_NUMBER_SYSTEM, Sensitive, SourceSystem};
use waymark_record::{PersonRecord, RecordConfig};
use waymark_store::{PersonChoice, RecordChange, SqliteStore, StrongId};

use super::hub::Concrete;

/// Persons per `bulk_load` transaction.
const BATCH: u64 = 20_000;

/// splitmix64: a deterministic, well-mixed hash of `n`.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn letter(n: u64) -> char {
    char::from(b'A' + (n % 26) as u8)
}

/// Person `n`'s prison number (`A0000AA` form), in a range the synthetic population's
/// mock NOMIS does not use (`Z` first).
fn prison_number(n: u64) -> String {
    let (digits, rest) = (n % 10_000, n / 10_000);
    format!("Z{digits:04}{}{}", letter(rest / 26), letter(rest))
}

/// Pre-loaded person `n`: a Patient with a prison number, a name from a few thousand, a date
/// of birth and a postcode, so its blocking keys collide with real-looking people.
fn change(n: u64, empty_record: &str) -> RecordChange {
    let h = mix(n);
    let born =
        NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default() + chrono::Days::new(h % 21_915);
    let family = format!(
        "Fam{}{}{}",
        letter(h >> 8),
        letter(h >> 16),
        letter(h >> 24)
    )
    .to_lowercase();
    let patient = json!({"resourceType": "Patient",
        "name": [{"family": family, "given": [format!("{}ex", letter(h >> 32))]}],
        "birthDate": born.to_string(), "gender": if h >> 63 == 0 { "male" } else { "female" },
        "address": [{"postalCode": format!("LS{} {}AB", (h >> 40) % 30, (h >> 48) % 10)}]});
    let demographics = waymark_identity::demographics(&patient);
    let now = Utc::now();
    RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, &format!("bench-preload-{n}")),
        source: SourceSystem::Nomis,
        message_type: "OFFENDER-UPDATED".into(),
        event_time: Some(now),
        recorded_at: now,
        bundle: Sensitive::new("{}".into()),
        person: PersonChoice::New,
        identifiers: vec![StrongId {
            system: PRISON_NUMBER_SYSTEM.into(),
            value: Sensitive::new(prison_number(n)),
        }],
        demographics: Sensitive::new(serde_json::to_string(&demographics).unwrap_or_default()),
        block_keys: waymark_identity::blocking_keys(&demographics),
        expected_version: 0,
        record: Sensitive::new(empty_record.to_owned()),
        events: Vec::new(),
        review: None,
    }
}

/// Loads `people` persons into the run's store from a child process (this binary,
/// `waymark bench --preload-into FILE --people N`), so that the setup's memory and CPU are not
/// the measured process's; returns persons per second. PostgreSQL is loaded in-process.
pub async fn preload(store: &Concrete, people: u64) -> anyhow::Result<f64> {
    let Concrete::Sqlite(_, path) = store else {
        return load(store, people).await;
    };
    let exe = std::env::current_exe()?;
    let out = tokio::task::spawn_blocking({
        let path = path.clone();
        move || {
            std::process::Command::new(exe)
                .args(["bench", "--preload-into"])
                .arg(path)
                .args(["--people", &people.to_string()])
                .output()
        }
    })
    .await??;
    anyhow::ensure!(
        out.status.success(),
        "the pre-load process failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("the pre-load process printed {text:?}, not a rate"))
}

/// The child's side of [`preload`]: loads `people` persons into the SQLite store at `path`
/// and returns persons per second.
pub async fn preload_file(path: &Path, people: u64) -> anyhow::Result<f64> {
    let store = SqliteStore::open(path).await?;
    load(&Concrete::Sqlite(store, path.to_owned()), people).await
}

/// Loads `people` persons in this process; returns persons per second.
async fn load(store: &Concrete, people: u64) -> anyhow::Result<f64> {
    let empty: std::sync::Arc<str> =
        serde_json::to_string(&PersonRecord::new(RecordConfig::default()))?.into();
    // The next batch is made on a blocking thread while the store writes this one.
    let make = |from: u64| {
        let empty = std::sync::Arc::clone(&empty);
        tokio::task::spawn_blocking(move || {
            (from..(from + BATCH).min(people))
                .map(|n| change(n, &empty))
                .collect::<Vec<_>>()
        })
    };
    let start = Instant::now();
    let mut next = 0;
    let mut pending = make(0);
    while next < people {
        let batch = pending.await?;
        next += BATCH;
        pending = make(next);
        store.bulk_load(batch).await?;
    }
    pending.abort();
    Ok(people as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// Slow and failing subscriptions among `n`: 1 % each, at least one each from 10 on.
pub fn unhealthy(n: usize) -> usize {
    if n < 10 { 0 } else { n.div_ceil(100) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prison_numbers_are_distinct_and_well_formed() {
        let a: std::collections::BTreeSet<_> = (0..20_000).map(prison_number).collect();
        assert_eq!(a.len(), 20_000);
        assert!(a.iter().all(|p| p.len() == 7 && p.starts_with('Z')));
        assert_eq!((unhealthy(1), unhealthy(10), unhealthy(1000)), (0, 1, 10));
    }
}

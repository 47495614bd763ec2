//! The audit log ([`AuditLog`]): appends verify, search finds, concurrent appends keep one
//! chain, the append-only guards refuse changes, and a randomised tamper test (done with the
//! owner's rights and the guards removed, as an attacker with database access would) is
//! detected every round. Run by `store_conformance_tests!(fresh, audit = fresh_audit)`.

use std::sync::Arc;

use async_trait::async_trait;
use waymark_audit::{AuditRecord, ClassDecision, Head, chain};

use super::fixtures::{at, must};
use crate::{AuditLog, AuditQuery, verify_log};

/// What a check needs besides the log: direct database access.
#[async_trait]
pub trait AuditBackdoor: Send + Sync {
    /// Runs one statement as the hub's runtime role (guards in place). `Err` when refused.
    async fn as_hub(&self, sql: &str) -> Result<(), String>;
    /// Runs one statement with the owner's rights. `Err` when refused.
    async fn as_owner(&self, sql: &str) -> Result<(), String>;
    /// Removes the append-only guards with the owner's rights (SQLite: drops the triggers;
    /// PostgreSQL: disables them).
    async fn disarm(&self) -> Result<(), String>;
}

pub(super) fn record(i: i64) -> AuditRecord {
    let (outcome, status) = if i % 3 == 2 {
        ("auth.expired", 401)
    } else {
        ("allowed", 200)
    };
    let mut r = AuditRecord::new(
        at(i * 60),
        "GET",
        "/fhir/Patient/x/$summary",
        outcome,
        status,
    );
    r.client_id = Some(format!("client-{}", i % 2));
    r.organisation = Some(format!("ORG{}", i % 3));
    r.person_ids = vec![format!("p-{}", i % 4), format!("p-{}", i % 4)];
    r.released = vec![ClassDecision {
        class: "risk-self".into(),
        rule: "statutory".into(),
    }];
    r
}

pub(super) async fn fill(log: &dyn AuditLog, n: i64) -> Head {
    let mut head = Head::genesis();
    for i in 0..n {
        let e = must(log.append(record(i)).await, "append");
        assert_eq!(e.sequence, head.sequence + 1, "sequences follow");
        assert_eq!(
            e.prev_hash, head.hash,
            "each entry carries the previous hash"
        );
        head = Head {
            sequence: e.sequence,
            hash: e.hash,
        };
    }
    head
}

/// Appended entries read back in order and verify; the head is the last entry; searches by
/// person, client, organisation and time find exactly theirs, paged.
pub async fn audit_append_verify_search(log: Arc<dyn AuditLog>, _door: Arc<dyn AuditBackdoor>) {
    let empty = must(verify_log(&*log, 5).await, "verify empty");
    assert_eq!(empty.map(|v| v.count), Ok(0));
    let head = fill(&*log, 12).await;
    assert_eq!(must(log.head().await, "head"), Some(head.clone()));
    let ok = must(verify_log(&*log, 5).await, "verify").unwrap_or_else(|t| panic!("{t}"));
    assert_eq!((ok.count, ok.head), (12, head));
    let all = must(log.audit_entries(0, 100).await, "entries");
    assert_eq!(all[3].record, record(3).normalised());
    let seqs = |q: AuditQuery| found(log.clone(), q);
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        f(&mut q);
        q
    };
    assert_eq!(
        seqs(q(|q| q.person_id = Some("p-1".into()))).await,
        [2, 6, 10]
    );
    assert_eq!(
        seqs(q(|q| q.client = Some("client-0".into()))).await,
        [1, 3, 5, 7, 9, 11]
    );
    assert_eq!(
        seqs(q(|q| q.organisation = Some("ORG2".into()))).await,
        [3, 6, 9, 12]
    );
    let window = q(|q| (q.since, q.until) = (Some(at(120)), Some(at(300))));
    assert_eq!(seqs(window).await, [3, 4, 5]);
    let page = q(|q| (q.client, q.after_sequence, q.limit) = (Some("client-1".into()), 4, 2));
    assert_eq!(seqs(page).await, [6, 8]);
}

async fn found(log: Arc<dyn AuditLog>, q: AuditQuery) -> Vec<u64> {
    let entries = must(log.search(&q).await, "search");
    entries.iter().map(|e| e.sequence).collect()
}

/// Appends racing from many tasks make one chain without gaps or forks.
pub async fn audit_concurrent_appends_keep_one_chain(
    log: Arc<dyn AuditLog>,
    _door: Arc<dyn AuditBackdoor>,
) {
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..15 {
                    must(log.append(record(t * 100 + i)).await, "concurrent append");
                }
            })
        })
        .collect();
    for task in tasks {
        must(task.await, "task");
    }
    let ok = must(verify_log(&*log, 7).await, "verify").unwrap_or_else(|t| panic!("{t}"));
    assert_eq!(ok.count, 60, "every append is in the one chain");
}

/// The runtime role (SQLite: anyone, through the triggers) can neither change nor remove an
/// entry, nor move the head anywhere but forward; until the guards are removed, neither can
/// the owner.
pub async fn audit_rows_are_append_only(log: Arc<dyn AuditLog>, door: Arc<dyn AuditBackdoor>) {
    fill(&*log, 3).await;
    let attempts = [
        "UPDATE audit_entry SET record = replace(record, '\"status\":200', '\"status\":201')",
        "UPDATE audit_entry SET hash = prev_hash WHERE sequence = 2",
        "DELETE FROM audit_entry WHERE sequence = 3",
        "DELETE FROM audit_person",
        "UPDATE audit_person SET person_id = 'other'",
        "UPDATE audit_head SET sequence = 1",
        "DELETE FROM audit_head",
    ];
    for sql in attempts {
        assert!(
            door.as_hub(sql).await.is_err(),
            "the hub role may run `{sql}`"
        );
        assert!(
            door.as_owner(sql).await.is_err(),
            "the guards let the owner run `{sql}`"
        );
    }
    let ok = must(verify_log(&*log, 10).await, "verify").unwrap_or_else(|t| panic!("{t}"));
    assert_eq!(ok.count, 3);
}

/// Rounds of random tampering, each on the same intact 16-entry log: change a field, a hash or
/// a link; delete, swap, renumber or forge entries; cut the tail. Every one is detected.
#[allow(clippy::print_stdout)] // the figure the README quotes
pub async fn audit_tampering_is_always_detected(
    log: Arc<dyn AuditLog>,
    door: Arc<dyn AuditBackdoor>,
) {
    const N: u64 = 16;
    const ROUNDS: u32 = 240;
    let head = fill(&*log, N as i64).await;
    must(door.disarm().await, "disarm");
    for sql in [
        "CREATE TABLE audit_entry_saved AS SELECT * FROM audit_entry",
        "CREATE TABLE audit_person_saved AS SELECT * FROM audit_person",
    ] {
        must(door.as_owner(sql).await, "save");
    }
    let entries = must(log.audit_entries(0, 100).await, "entries");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64 | 1);
    let mut rng = XorShift(seed);
    let mut detected = [0u32; 9];
    for round in 0..ROUNDS {
        let kind = rng.below(9) as usize;
        for sql in tampering(kind, &mut rng, &entries, &head) {
            must(door.as_owner(&sql).await, "tamper");
        }
        match must(verify_log(&*log, 5).await, "verify") {
            Err(_) => detected[kind] += 1,
            Ok(v) => panic!("round {round} (seed {seed}): tampering {kind} not detected: {v:?}"),
        }
        restore(&*door, &head).await;
        let ok = must(verify_log(&*log, 5).await, "verify restored");
        assert!(ok.is_ok(), "round {round}: the restored log verifies");
    }
    let total: u32 = detected.iter().sum();
    println!(
        "audit tamper test: {total}/{ROUNDS} tamperings detected (seed {seed}, by kind {detected:?})"
    );
    assert_eq!(total, ROUNDS);
}

/// The statements of tampering `kind` on the saved log.
fn tampering(
    kind: usize,
    rng: &mut XorShift,
    entries: &[waymark_audit::AuditEntry],
    head: &Head,
) -> Vec<String> {
    let n = entries.len() as u64;
    let k = 1 + rng.below(n);
    let other = 1 + (k + rng.below(n - 1)) % n;
    let quote = |s: &str| s.replace('\'', "''");
    let set = |col: &str, value: &str, seq: u64| {
        format!(
            "UPDATE audit_entry SET {col} = '{}' WHERE sequence = {seq}",
            quote(value)
        )
    };
    let record_of = |seq: u64| {
        String::from_utf8_lossy(&entries[seq as usize - 1].record.canonical()).into_owned()
    };
    let field = [
        "\"status\":",
        "\"outcome\":\"",
        "\"path\":\"/",
        "\"person_ids\":[\"",
        "\"time\":\"20",
    ][rng.below(5) as usize];
    match kind {
        0 => vec![format!(
            "UPDATE audit_entry SET record = replace(record, '{field}', '{field}1') WHERE sequence = {k}"
        )],
        1 => vec![set("hash", &format!("{:064x}", rng.next()), k)],
        2 => {
            let linked = if other + 1 == k { k } else { other }; // never the true link
            vec![set("prev_hash", &entries[linked as usize - 1].hash, k)]
        }
        3 => vec![
            format!("DELETE FROM audit_person WHERE sequence = {k}"),
            format!("DELETE FROM audit_entry WHERE sequence = {k}"),
        ],
        4 => vec![
            set("record", &record_of(other), k),
            set("record", &record_of(k), other),
        ],
        5 => {
            let forged = chain(head, record(99));
            vec![format!(
                "INSERT INTO audit_entry (sequence, prev_hash, hash, recorded_at, record) VALUES ({}, '{}', '{}', 'x', '{}')",
                forged.sequence,
                forged.prev_hash,
                forged.hash,
                quote(&String::from_utf8_lossy(&forged.record.canonical()))
            )]
        }
        6 => {
            let prev = Head {
                sequence: k - 1,
                hash: entries[k as usize - 1].prev_hash.clone(),
            };
            let forged = chain(&prev, record(77));
            vec![
                set(
                    "record",
                    &String::from_utf8_lossy(&forged.record.canonical()),
                    k,
                ),
                set("hash", &forged.hash, k),
            ]
        }
        7 => {
            let keep = rng.below(n);
            vec![
                format!("DELETE FROM audit_person WHERE sequence > {keep}"),
                format!("DELETE FROM audit_entry WHERE sequence > {keep}"),
            ]
        }
        _ => {
            let mut sql = vec![
                format!("DELETE FROM audit_person WHERE sequence >= {k}"),
                format!("DELETE FROM audit_entry WHERE sequence = {k}"),
            ];
            sql.extend((k + 1..=n).map(|s| {
                format!(
                    "UPDATE audit_entry SET sequence = {} WHERE sequence = {s}",
                    s - 1
                )
            }));
            sql
        }
    }
}

/// Puts the saved log and head back.
async fn restore(door: &dyn AuditBackdoor, head: &Head) {
    for sql in [
        "DELETE FROM audit_person".to_owned(),
        "DELETE FROM audit_entry".to_owned(),
        "INSERT INTO audit_entry SELECT * FROM audit_entry_saved".to_owned(),
        "INSERT INTO audit_person SELECT * FROM audit_person_saved".to_owned(),
        format!(
            "UPDATE audit_head SET sequence = {}, hash = '{}' WHERE id = 1",
            head.sequence, head.hash
        ),
    ] {
        must(door.as_owner(&sql).await, "restore");
    }
}

/// A small deterministic generator (the seed is printed, so a failing round can be replayed).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

//! The chain: appends verify; each kind of tampering is found, at the right sequence.

use chrono::DateTime;
use waymark_audit::{AuditEntry, AuditRecord, Head, TamperKind, chain, verify};

fn record(i: u64) -> AuditRecord {
    let t = DateTime::from_timestamp(1_700_000_000 + i as i64, 987_654_321).unwrap();
    let mut r = AuditRecord::new(t, "GET", "/fhir/Patient/p-1/$summary", "allowed", 200);
    r.person_ids = vec![format!("p-{i}")];
    r
}

fn log(n: u64) -> (Vec<AuditEntry>, Head) {
    let mut head = Head::genesis();
    let mut out = Vec::new();
    for i in 0..n {
        let e = chain(&head, record(i));
        head = Head {
            sequence: e.sequence,
            hash: e.hash.clone(),
        };
        out.push(e);
    }
    (out, head)
}

fn kind(entries: &[AuditEntry], head: &Head) -> (u64, TamperKind) {
    let t = verify(entries, head).unwrap_err();
    (t.sequence, t.kind)
}

#[test]
fn an_intact_log_verifies() {
    let (entries, head) = log(10);
    let ok = verify(&entries, &head).unwrap();
    assert_eq!((ok.count, ok.head), (10, head));
    assert_eq!(verify([], &Head::genesis()).unwrap().count, 0);
}

#[test]
fn every_kind_of_tampering_is_found() {
    let (entries, head) = log(6);
    let mut changed = entries.clone();
    changed[2].record.status = 403;
    assert_eq!(kind(&changed, &head), (3, TamperKind::Modified));

    let mut rehashed = entries.clone();
    rehashed[2].record.outcome = "auth.expired".into();
    rehashed[2].hash = waymark_audit::entry_hash(3, &rehashed[2].prev_hash, &rehashed[2].record);
    assert_eq!(kind(&rehashed, &head), (4, TamperKind::BrokenLink));

    let mut deleted = entries.clone();
    deleted.remove(3);
    assert_eq!(kind(&deleted, &head), (4, TamperKind::Sequence));

    let mut swapped = entries.clone();
    let (a, b) = (swapped[1].record.clone(), swapped[4].record.clone());
    swapped[1].record = b;
    swapped[4].record = a;
    assert_eq!(kind(&swapped, &head), (2, TamperKind::Modified));

    let truncated = &entries[..4];
    assert_eq!(kind(truncated, &head), (5, TamperKind::Truncated));
    assert_eq!(kind(&[], &head), (1, TamperKind::Truncated));

    let mut appended = entries.clone();
    appended.push(chain(&head, record(99)));
    assert_eq!(kind(&appended, &head), (6, TamperKind::HeadMismatch));
}

#[test]
fn times_are_kept_to_the_microsecond() {
    let (entries, head) = log(1);
    assert_eq!(entries[0].record.time.timestamp_subsec_nanos(), 987_654_000);
    let json = String::from_utf8(entries[0].record.canonical()).unwrap();
    let back = AuditRecord::from_json(&json).unwrap();
    assert_eq!(
        waymark_audit::entry_hash(1, &entries[0].prev_hash, &back),
        head.hash
    );
}

//! Batched audit appends ([`AuditLog::append_all`]): a batch chains in order after the head in
//! one transaction, all or nothing, and keeps one chain beside single appends. Run by
//! `store_conformance_tests!(fresh, audit = fresh_audit)`.

use std::sync::Arc;

use waymark_audit::Head;

use super::audit::{AuditBackdoor, fill, record};
use super::fixtures::must;
use crate::{AuditLog, verify_log};

/// An empty batch writes nothing; a batch's entries follow the head in order, each carrying the
/// previous hash, and the head moves to the last; the log verifies and appends go on after it.
pub async fn audit_batches_chain_in_order(log: Arc<dyn AuditLog>, _door: Arc<dyn AuditBackdoor>) {
    let head = fill(&*log, 2).await;
    assert!(must(log.append_all(Vec::new()).await, "empty batch").is_empty());
    assert_eq!(
        must(log.head().await, "head"),
        Some(head.clone()),
        "nothing moved"
    );
    let entries = must(log.append_all((2..7).map(record).collect()).await, "batch");
    let mut prev = head;
    for (i, entry) in (2..7).zip(&entries) {
        assert_eq!(entry.sequence, prev.sequence + 1, "sequences follow");
        assert_eq!(
            entry.prev_hash, prev.hash,
            "each entry carries the previous hash"
        );
        assert_eq!(
            entry.record,
            record(i).normalised(),
            "records in their order"
        );
        prev = Head {
            sequence: entry.sequence,
            hash: entry.hash.clone(),
        };
    }
    assert_eq!(
        must(log.head().await, "head"),
        Some(prev),
        "head at the last"
    );
    let stored = must(log.audit_entries(2, 100).await, "entries");
    assert_eq!(stored, entries, "stored as returned");
    must(log.append(record(7)).await, "append after a batch");
    let ok = must(verify_log(&*log, 3).await, "verify").unwrap_or_else(|t| panic!("{t}"));
    assert_eq!(ok.count, 8);
}

/// A batch that fails part-way (its third entry's sequence is taken) writes none of its entries
/// and leaves the head where it was.
pub async fn audit_batch_is_all_or_nothing(log: Arc<dyn AuditLog>, door: Arc<dyn AuditBackdoor>) {
    let head = fill(&*log, 2).await;
    let stray = "INSERT INTO audit_entry (sequence, prev_hash, hash, recorded_at, record) \
                 VALUES (5, 'x', 'x', 'x', '{}')";
    must(door.as_owner(stray).await, "stray row");
    let failed = log.append_all((2..7).map(record).collect()).await;
    assert!(failed.is_err(), "a batch over a taken sequence fails");
    assert_eq!(
        must(log.head().await, "head"),
        Some(head),
        "the head did not move"
    );
    let after: Vec<u64> = must(log.audit_entries(2, 100).await, "entries")
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(after, [5], "no entry of the failed batch was kept");
}

/// Batches and single appends racing from many tasks make one chain without gaps or forks.
pub async fn audit_concurrent_batches_keep_one_chain(
    log: Arc<dyn AuditLog>,
    _door: Arc<dyn AuditBackdoor>,
) {
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    let base = t * 100 + i * 10;
                    if t == 0 {
                        must(log.append(record(base)).await, "single append");
                    } else {
                        let batch = (base..base + 4).map(record).collect();
                        must(log.append_all(batch).await, "batch append");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        must(task.await, "task");
    }
    let ok = must(verify_log(&*log, 7).await, "verify").unwrap_or_else(|t| panic!("{t}"));
    assert_eq!(ok.count, 5 + 3 * 5 * 4, "every entry is in the one chain");
}

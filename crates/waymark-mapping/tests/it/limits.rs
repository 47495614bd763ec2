//! Runaway programs end in typed errors, never a process abort or a hung worker: unbounded
//! recursion, endless loops, huge generators, slow built-ins, oversized contexts.

use std::time::{Duration, Instant};

use chrono::DateTime;
use serde_json::{Value, json};
use waymark_core::{Envelope, ErrorCode, MessageId, NewEnvelope, SourceSystem};
use waymark_mapping::{Limit, Limits, MAX_CONTEXT_BYTES, MappingError, MappingSet};

fn header() -> String {
    "# waymark-mapping: 1\n# source: nomis\n# message-types: T\n# version: 0.1.0\n\
     # profile: hjmd-bundle\n"
        .to_owned()
}

fn set_with(body: &str, limits: Limits) -> (tempfile::TempDir, MappingSet) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nomis")).unwrap();
    std::fs::write(dir.path().join("nomis/t.jq"), header() + body).unwrap();
    let set = MappingSet::load_with(dir.path(), limits).unwrap_or_else(|e| panic!("{e}"));
    (dir, set)
}

fn envelope(context: Value) -> Envelope {
    let params = NewEnvelope {
        id: MessageId::derive(SourceSystem::Nomis, "limits"),
        source: SourceSystem::Nomis,
        message_type: "T",
        event_time: None,
        received_at: DateTime::from_timestamp(1_700_000_060, 0).unwrap(),
        content_type: "application/json",
    };
    Envelope::new(params, b"{}".to_vec()).with_context(context)
}

fn run(body: &str, limits: Limits) -> MappingError {
    let (_dir, set) = set_with(body, limits);
    set.map(&envelope(Value::Null)).unwrap_err()
}

fn code_of(body: &str) -> (String, String) {
    let err = run(body, Limits::default());
    (err.code().to_owned(), err.to_string())
}

#[test]
fn unbounded_recursion_is_a_typed_error() {
    for body in [
        "def f: f + 1; f",
        "def f: [f]; f",
        "def f: [., f]; f",
        "def f(g): f(g) + 1; f(.)",
        "def f: def g: f | . + 1; g; f",
        // Catching the error does not hide it.
        "def f: try (f + 1) catch 0; f",
    ] {
        let (code, text) = code_of(body);
        assert_eq!(code, "mapping.recursion", "{body}: {text}");
        assert!(text.contains("nomis/t") && text.contains("0.1.0"), "{text}");
    }
}

#[test]
fn endless_loops_and_huge_generators_run_out_of_steps() {
    for body in [
        "[range(1e9)]",
        "last(range(1e12))",
        "[repeat(1)]",
        "def f: f; f",
        "[limit(1e9; repeat(1))]",
        "reduce range(1e9) as $x (0; . + $x)",
        "0 | [recurse(. + 1)] | length",
        "1 | until(. < 0; . + 1)",
        "[.[]?] | reduce (1 | repeat(.)) as $x (0; .)",
    ] {
        let (code, text) = code_of(body);
        assert_eq!(code, "mapping.steps", "{body}: {text}");
    }
}

#[test]
fn the_clock_stops_a_loop_within_the_timeout() {
    let limits = Limits {
        timeout: Duration::from_millis(100),
        max_steps: u64::MAX,
        ..Limits::default()
    };
    let started = Instant::now();
    let err = run("last(range(1e15))", limits);
    assert_eq!(err.code(), "mapping.timeout", "{err}");
    assert!(matches!(
        err,
        MappingError::Limit {
            limit: Limit::Time,
            ..
        }
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_slow_builtin_is_abandoned_counted_and_forgotten_when_it_ends() {
    let limits = Limits {
        timeout: Duration::from_millis(1),
        ..Limits::default()
    };
    let (_dir, set) = set_with(
        "\"ab\" * 1500000 | explode | sort | tostring | length",
        limits,
    );
    let err = set.map(&envelope(Value::Null)).unwrap_err();
    assert_eq!(err.code(), "mapping.timeout", "{err}");
    assert!(set.abandoned_runs() <= 1);
    let start = Instant::now();
    while set.abandoned_runs() > 0 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(set.abandoned_runs(), 0);
}

#[test]
fn too_many_abandoned_runs_refuse_new_work() {
    let limits = Limits {
        timeout: Duration::from_millis(1),
        max_abandoned: 0,
        ..Limits::default()
    };
    let (_dir, set) = set_with(
        "\"ab\" * 1500000 | explode | sort | tostring | length",
        limits,
    );
    assert_eq!(
        set.map(&envelope(Value::Null)).unwrap_err().code(),
        "mapping.timeout"
    );
    // The abandoned run is still sorting: the set refuses work rather than start another.
    let err = set.map(&envelope(Value::Null)).unwrap_err();
    assert_eq!(err.code(), "mapping.unavailable", "{err}");
    assert_eq!(err.issue_type().code(), "transient");
}

#[test]
fn a_deeply_nested_json_string_is_a_parse_error_not_a_stack_overflow() {
    let (code, text) = code_of("(\"[\" * 1000000) + (\"]\" * 1000000) | fromjson");
    assert_eq!(code, "mapping.runtime", "{text}");
    assert!(text.contains("parse error"), "{text}");
}

#[test]
fn an_oversized_context_is_refused_like_a_payload() {
    let big = json!({"prisoner": {"notes": "x".repeat(MAX_CONTEXT_BYTES)}});
    let (_dir, set) = set_with("{resourceType: \"Bundle\"}", Limits::default());
    let err = set.map(&envelope(big)).unwrap_err();
    assert_eq!(err.code(), "mapping.too-large");
    assert!(err.to_string().contains("context"), "{err}");
}

#[test]
fn ordinary_programs_are_unaffected_by_the_instrumentation() {
    let (_dir, set) = set_with(
        "def fact: if . <= 1 then 1 else . * (. - 1 | fact) end;
         {resourceType: \"Bundle\", n: (10 | fact), r: [range(3)], s: [limit(3; repeat(1))],
          p: ({a: {b: 1}} | [paths]), u: ({a: 1} | .a |= . + 1), w: ([1, [2]] | walk(if type == \"number\" then . + 1 else . end))}",
        Limits::default(),
    );
    let out = set.map(&envelope(Value::Null)).unwrap();
    assert_eq!(out["n"], 3_628_800);
    assert_eq!(out["r"], json!([0, 1, 2]));
    assert_eq!(out["s"], json!([1, 1, 1]));
    assert_eq!(out["p"], json!([["a"], ["a", "b"]]));
    assert_eq!(out["u"], json!({"a": 2}));
    assert_eq!(out["w"], json!([2, [3]]));
}

-- Waymark store, embedded (SQLite) schema, version 1.

-- One row per person the hub knows.
CREATE TABLE person (
    person_id   TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

-- Strong identifiers linking a person (deterministic links only in this version).
CREATE TABLE identity_link (
    system      TEXT NOT NULL,
    value       TEXT NOT NULL,
    person_id   TEXT NOT NULL REFERENCES person(person_id),
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (system, value)
);

-- Every message the record stage applied: the canonical bundle, with who said it and when.
CREATE TABLE record_entry (
    message_id  TEXT PRIMARY KEY,
    person_id   TEXT NOT NULL REFERENCES person(person_id),
    source      TEXT NOT NULL,
    message_type TEXT NOT NULL,
    event_time  TEXT,
    recorded_at TEXT NOT NULL,
    bundle      TEXT NOT NULL
);
CREATE INDEX record_entry_person ON record_entry(person_id, event_time);

-- Pathway events raised by the record stage (one per applied message).
CREATE TABLE pathway_event (
    event_id    TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    topic       TEXT NOT NULL,
    event_time  TEXT NOT NULL
);

-- Invalid input: the exact original envelope bytes and why it was refused.
CREATE TABLE quarantine (
    message_id  TEXT PRIMARY KEY,
    source      TEXT,
    message_type TEXT,
    stage       TEXT NOT NULL,
    code        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    original    BLOB NOT NULL,
    quarantined_at TEXT NOT NULL
);

-- Per-subscription event numbers: stable for an event, gap-free per subscription.
CREATE TABLE subscription_event (
    subscription_id TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_number    INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, event_id),
    UNIQUE (subscription_id, event_number)
);

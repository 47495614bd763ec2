-- Waymark store, PostgreSQL schema, version 1 (the same tables as migrations/0001 for SQLite).
-- Times are timestamptz (microseconds), bytes bytea, JSON the store never reads is text (kept
-- byte for byte); JSON the store only hands back as a value is jsonb. Text collates as "C"
-- (by bytes), so every ORDER BY and key comparison agrees with SQLite's.

-- One row per person the hub knows.
CREATE TABLE person (
    person_id   TEXT COLLATE "C" PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL
);

-- Strong identifiers linking a person.
CREATE TABLE identity_link (
    system      TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    person_id   TEXT COLLATE "C" NOT NULL REFERENCES person(person_id),
    linked_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (system, value)
);

-- Every message the record stage applied: the canonical bundle, with who said it and when.
CREATE TABLE record_entry (
    message_id  TEXT COLLATE "C" PRIMARY KEY,
    person_id   TEXT COLLATE "C" NOT NULL REFERENCES person(person_id),
    source      TEXT COLLATE "C" NOT NULL,
    message_type TEXT COLLATE "C" NOT NULL,
    event_time  TIMESTAMPTZ,
    recorded_at TIMESTAMPTZ NOT NULL,
    bundle      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX record_entry_person ON record_entry(person_id, event_time);

-- Pathway events raised by the record stage.
CREATE TABLE pathway_event (
    event_id    TEXT COLLATE "C" PRIMARY KEY,
    message_id  TEXT COLLATE "C" NOT NULL,
    person_id   TEXT COLLATE "C" NOT NULL,
    topic       TEXT COLLATE "C" NOT NULL,
    event_time  TIMESTAMPTZ NOT NULL
);

-- Invalid input: the exact original envelope bytes and why it was refused.
CREATE TABLE quarantine (
    message_id  TEXT COLLATE "C" PRIMARY KEY,
    source      TEXT COLLATE "C",
    message_type TEXT COLLATE "C",
    stage       TEXT COLLATE "C" NOT NULL,
    code        TEXT COLLATE "C" NOT NULL,
    outcome     JSONB NOT NULL,
    original    BYTEA NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL
);

-- Per-subscription event numbers: stable for an event, gap-free per subscription.
CREATE TABLE subscription_event (
    subscription_id TEXT COLLATE "C" NOT NULL,
    event_id        TEXT COLLATE "C" NOT NULL,
    event_number    BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, event_id),
    UNIQUE (subscription_id, event_number)
);

-- The last number given per subscription. Its row is locked by the transaction that takes the
-- next number, so concurrent numberings of one subscription queue up and never leave a gap
-- (a rolled-back transaction rolls its increment back too).
CREATE TABLE subscription_counter (
    subscription_id TEXT COLLATE "C" PRIMARY KEY,
    last_number     BIGINT NOT NULL
);

-- Waymark store, version 4: identity resolution and the longitudinal record.
--
-- The record stage decides (purely) who a message is about and what the person's merged record
-- becomes; the store keeps the decision: blocking keys and demographics for the matcher, the
-- merged record with its version, review items, identity history, and merges that can be undone.

-- A merged person is kept, pointing at the person it was merged into (NULL while active).
ALTER TABLE person ADD COLUMN merged_into TEXT REFERENCES person(person_id);
CREATE INDEX person_merged_into ON person(merged_into) WHERE merged_into IS NOT NULL;

-- The person an entry was first applied to; `person_id` is where it lives now (after merges).
ALTER TABLE record_entry ADD COLUMN origin_person_id TEXT NOT NULL DEFAULT '';
UPDATE record_entry SET origin_person_id = person_id;

-- Several pathway events per message now, in order (`ordinal`); consent events keep 0.
ALTER TABLE pathway_event ADD COLUMN ordinal INTEGER NOT NULL DEFAULT 0;
CREATE INDEX pathway_event_message ON pathway_event(message_id, ordinal);

-- Links are found by person (merge moves them); lookups by value use the primary key.
CREATE INDEX identity_link_person ON identity_link(person_id);

-- Blocking keys the person is indexed under, for the matcher's candidate search. `origin` is
-- the person the key was first indexed for, so that a survivor indexed under the same key after
-- a merge keeps it when the merge is undone.
CREATE TABLE person_block (
    block_key   TEXT NOT NULL,
    person_id   TEXT NOT NULL REFERENCES person(person_id),
    origin_person_id TEXT NOT NULL,
    PRIMARY KEY (block_key, person_id, origin_person_id)
) WITHOUT ROWID;
CREATE INDEX person_block_person ON person_block(person_id);

-- The demographics (JSON, opaque to the store) of each applied message that carried them.
CREATE TABLE person_demographics (
    message_id  TEXT PRIMARY KEY,
    person_id   TEXT NOT NULL REFERENCES person(person_id),
    demographics TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX person_demographics_person ON person_demographics(person_id, recorded_at);

-- The person's current merged record (JSON, opaque) and its version (optimistic concurrency).
CREATE TABLE person_record (
    person_id   TEXT PRIMARY KEY REFERENCES person(person_id),
    version     INTEGER NOT NULL,
    record      TEXT NOT NULL
);

-- Items a human must decide: "the person this message was applied to may be one of these".
CREATE TABLE review_item (
    review_id   TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    candidates  TEXT NOT NULL,
    status      TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT
);
CREATE INDEX review_item_status ON review_item(status, opened_at);
CREATE INDEX review_item_opened ON review_item(opened_at);

-- Identity history: created, linked, merged, unmerged, review decided. `seq` orders events
-- recorded at the same instant.
CREATE TABLE identity_event (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    other_person_id TEXT,
    reference   TEXT,
    by_whom     TEXT NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX identity_event_person ON identity_event(person_id, at);

-- Merges, by the id of the survivor's `merged` identity event; undone once at most.
CREATE TABLE person_merge (
    merge_id    TEXT PRIMARY KEY,
    from_person TEXT NOT NULL,
    into_person TEXT NOT NULL,
    merged_at   TEXT NOT NULL,
    unmerged_at TEXT,
    unmerge_event_id TEXT
);

-- What moved in a merge, so that undoing it moves exactly that back: `entry` (k1 message id),
-- `demographics` (k1 message id), `link` (k1 system, k2 value), `block` (k1 key, k2 origin).
CREATE TABLE merge_move (
    merge_id    TEXT NOT NULL REFERENCES person_merge(merge_id),
    kind        TEXT NOT NULL,
    k1          TEXT NOT NULL,
    k2          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (merge_id, kind, k1, k2)
) WITHOUT ROWID;

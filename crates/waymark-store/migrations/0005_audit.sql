-- Waymark store, version 5: the audit trail (issue 10), append-only and hash-chained.
--
-- One row per audited request: its place in the chain, the previous entry's hash, its own hash
-- and the record's canonical JSON (what the hash covers). `recorded_at`, `subject`,
-- `client_id`, `organisation` and `audit_person` are search indexes derived from the record;
-- verification reads the record, never them. `audit_head` is the last entry, moved in the
-- same transaction as each append, so a cut tail is detected. Triggers refuse any change or
-- removal of entries, and any move of the head other than to the entry just appended.

CREATE TABLE audit_entry (
    sequence     INTEGER PRIMARY KEY,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    subject      TEXT,
    client_id    TEXT,
    organisation TEXT,
    record       TEXT NOT NULL
);
CREATE INDEX audit_entry_time ON audit_entry(recorded_at);
CREATE INDEX audit_entry_client ON audit_entry(client_id);
CREATE INDEX audit_entry_subject ON audit_entry(subject);
CREATE INDEX audit_entry_organisation ON audit_entry(organisation);

CREATE TABLE audit_person (
    person_id TEXT NOT NULL,
    sequence  INTEGER NOT NULL REFERENCES audit_entry(sequence),
    PRIMARY KEY (person_id, sequence)
) WITHOUT ROWID;

CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL,
    hash     TEXT NOT NULL
);
INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_person_no_update BEFORE UPDATE ON audit_person
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_person_no_delete BEFORE DELETE ON audit_person
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit head cannot be removed'); END;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
WHEN NEW.id IS NOT OLD.id
  OR NEW.sequence IS NOT OLD.sequence + 1
  OR NOT EXISTS (SELECT 1 FROM audit_entry WHERE sequence = NEW.sequence AND hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, 'the audit head only moves to the entry just appended'); END;

-- Waymark store, version 5: the audit trail (issue 10), append-only and hash-chained (the
-- same tables as migrations/0005 for SQLite).
--
-- One row per audited request: its place in the chain, the previous entry's hash, its own hash
-- and the record's canonical JSON (what the hash covers). `recorded_at`, `subject`,
-- `client_id`, `organisation` and `audit_person` are search indexes derived from the record;
-- verification reads the record, never them. `audit_head` is the last entry, moved (row
-- locked) in the same transaction as each append: appends are serialised on it, and a cut
-- tail is detected.
--
-- Two fences: triggers refuse UPDATE, DELETE and TRUNCATE of entries and any move of the head
-- other than to the entry just appended (whoever asks, short of the owner dropping them), and
-- the runtime role `waymark_hub` loses UPDATE, DELETE and TRUNCATE on the entries (the
-- default privileges of deploy/local/postgres.sh grant them at CREATE TABLE; revoked here,
-- after). It keeps SELECT and INSERT, and UPDATE of the head (which the trigger restricts).

CREATE TABLE audit_entry (
    sequence     BIGINT PRIMARY KEY CHECK (sequence > 0),
    prev_hash    TEXT COLLATE "C" NOT NULL,
    hash         TEXT COLLATE "C" NOT NULL,
    recorded_at  TEXT COLLATE "C" NOT NULL,
    subject      TEXT COLLATE "C",
    client_id    TEXT COLLATE "C",
    organisation TEXT COLLATE "C",
    record       TEXT NOT NULL
);
CREATE INDEX audit_entry_time ON audit_entry(recorded_at);
CREATE INDEX audit_entry_client ON audit_entry(client_id);
CREATE INDEX audit_entry_subject ON audit_entry(subject);
CREATE INDEX audit_entry_organisation ON audit_entry(organisation);

CREATE TABLE audit_person (
    person_id TEXT COLLATE "C" NOT NULL,
    sequence  BIGINT NOT NULL REFERENCES audit_entry(sequence),
    PRIMARY KEY (person_id, sequence)
);

CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL,
    hash     TEXT COLLATE "C" NOT NULL
);
INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.sequence <> OLD.sequence + 1 OR NOT EXISTS (
        SELECT 1 FROM audit_entry WHERE sequence = NEW.sequence AND hash = NEW.hash
    ) THEN
        RAISE EXCEPTION 'the audit head only moves to the entry just appended'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_person_append_only BEFORE UPDATE OR DELETE ON audit_person
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_person_no_truncate BEFORE TRUNCATE ON audit_person
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry, audit_person, audit_head FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'waymark_hub') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry, audit_person FROM waymark_hub;
        REVOKE DELETE, TRUNCATE ON audit_head FROM waymark_hub;
    END IF;
END
$$;

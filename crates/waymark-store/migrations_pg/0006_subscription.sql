-- Waymark store, version 6: subscriptions (issue 9), managed through the API (the same table
-- as migrations/0006 for SQLite).
--
-- One row per live subscription: its configuration (the JSON of a `waymark_delivery`
-- `Subscription`, opaque to the store; it holds the signing secret), its Backport status
-- (`requested | active | error | off`, kept apart so a status change never rewrites the body),
-- a version for optimistic concurrency (1 on create, one more per change) and when it last
-- changed. A deleted subscription's row is removed; its event numbers (`subscription_event`,
-- `subscription_counter`) are kept, so a subscription re-created under the same id goes on
-- numbering where it stopped.
--
-- The runtime role `waymark_hub` reads, creates, changes and deletes subscriptions. The default
-- privileges of deploy/local/postgres.sh grant it that at CREATE TABLE; granted here too, so a
-- database whose roles were set up without them still works.

CREATE TABLE subscription (
    subscription_id TEXT COLLATE "C" PRIMARY KEY,
    body            TEXT NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL CHECK (version > 0),
    updated_at      TIMESTAMPTZ NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'waymark_hub') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON subscription TO waymark_hub;
    END IF;
END
$$;

-- Waymark store, version 6: subscriptions (issue 9), managed through the API.
--
-- One row per live subscription: its configuration (the JSON of a `waymark_delivery`
-- `Subscription`, opaque to the store; it holds the signing secret), its Backport status
-- (`requested | active | error | off`, kept apart so a status change never rewrites the body),
-- a version for optimistic concurrency (1 on create, one more per change) and when it last
-- changed. A deleted subscription's row is removed; its event numbers (`subscription_event`)
-- are kept, so a subscription re-created under the same id goes on numbering where it stopped.

CREATE TABLE subscription (
    subscription_id TEXT PRIMARY KEY,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version > 0),
    updated_at      TEXT NOT NULL
);

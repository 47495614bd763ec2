-- The embedded bus: declared queues, their messages, and the ids already published (dedupe).

-- One row per declared queue, dead-letter queues included.
CREATE TABLE queues (
    name           TEXT PRIMARY KEY NOT NULL,
    delivery_limit INTEGER NOT NULL,  -- deliveries before a failing message is dead-lettered
    lease_ms       INTEGER NOT NULL,  -- how long a delivery is held before it is redelivered
    dead_letter    TEXT NOT NULL      -- where failed messages go (a dead-letter queue: itself)
);

-- One row per message held by a queue: ready, delayed or in flight. Acked = deleted.
CREATE TABLE messages (
    seq        INTEGER PRIMARY KEY,         -- publish order
    queue      TEXT NOT NULL,
    id         TEXT NOT NULL,
    key        TEXT,                        -- ordering key, NULL = plain FIFO
    headers    TEXT NOT NULL,               -- JSON object of strings
    body       BLOB NOT NULL,               -- opaque, sensitive bytes
    attempts   INTEGER NOT NULL DEFAULT 0,  -- deliveries so far
    tag        INTEGER,                     -- current delivery tag while in flight, else NULL
    visible_at INTEGER NOT NULL             -- unix ms from which it may be delivered (again):
                                            -- publish time, retry time, or lease end
);
CREATE INDEX messages_by_queue ON messages (queue, seq);
CREATE INDEX messages_by_key ON messages (queue, key, seq) WHERE key IS NOT NULL;
CREATE UNIQUE INDEX messages_by_tag ON messages (tag) WHERE tag IS NOT NULL;

-- Every (queue, id) published within the retention window; pruned opportunistically.
CREATE TABLE seen (
    queue        TEXT NOT NULL,
    id           TEXT NOT NULL,
    published_at INTEGER NOT NULL,  -- unix ms
    PRIMARY KEY (queue, id)
);
CREATE INDEX seen_by_age ON seen (published_at);

-- Delivery tags are never reused, not even across restarts, so a stale tag is always detected.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('delivery_tag', 0);

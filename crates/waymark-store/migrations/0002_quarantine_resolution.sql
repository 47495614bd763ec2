-- Waymark store, version 2: quarantine entries are resolved (re-driven), never deleted.

-- When the entry was re-driven, under which message id, and by what (mapping and profile
-- versions). NULL while unresolved.
ALTER TABLE quarantine ADD COLUMN resolved_at TEXT;
ALTER TABLE quarantine ADD COLUMN redrive_id TEXT;
ALTER TABLE quarantine ADD COLUMN resolved_by TEXT;
-- How many times the entry has been resolved (re-driven): the next re-drive publishes under
-- `<message id>/redrive-<redrives + 1>`, so an entry refused again after a re-drive can be
-- re-driven again, and a re-drive repeated after a crash reuses the same id (the bus dedupes).
ALTER TABLE quarantine ADD COLUMN redrives INTEGER NOT NULL DEFAULT 0;
CREATE INDEX quarantine_unresolved ON quarantine(stage, resolved_at, quarantined_at);

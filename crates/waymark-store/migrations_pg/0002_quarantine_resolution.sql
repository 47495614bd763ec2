-- Waymark store, version 2: quarantine entries are resolved (re-driven), never deleted.

-- When the entry was re-driven, under which message id, and by what (mapping and profile
-- versions). NULL while unresolved.
ALTER TABLE quarantine ADD COLUMN resolved_at TIMESTAMPTZ;
ALTER TABLE quarantine ADD COLUMN redrive_id TEXT COLLATE "C";
ALTER TABLE quarantine ADD COLUMN resolved_by TEXT COLLATE "C";
-- How many times the entry has been resolved (re-driven).
ALTER TABLE quarantine ADD COLUMN redrives BIGINT NOT NULL DEFAULT 0;
CREATE INDEX quarantine_unresolved ON quarantine(stage, resolved_at, quarantined_at);
CREATE INDEX quarantine_newest ON quarantine(quarantined_at DESC, message_id);

-- Waymark store, version 3: the person's consents (FHIR R4 Consent resources), versioned.

-- Every version of every Consent of a person; the highest version of a consent id is current.
-- A withdrawal is a new version with status `inactive`, so the history is the audit trail.
CREATE TABLE consent (
    person_id   TEXT COLLATE "C" NOT NULL,
    consent_id  TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    consent     TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, consent_id, version)
);

-- Past recipients of a person: subscription events joined to pathway events by event id.
CREATE INDEX subscription_event_event ON subscription_event(event_id);
CREATE INDEX pathway_event_person ON pathway_event(person_id);

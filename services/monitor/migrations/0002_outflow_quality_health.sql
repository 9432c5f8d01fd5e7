-- Outflow by diagnosis chapter, data quality per facility and pipeline health.
-- Still no names, ID numbers or phones: codes, counts and times only.

-- The principal diagnosis of a settlement (first of `diagnoses`) and its ICD-10 chapter, and the
-- time the hub received the source message (provenance.received_at) on every fact.
ALTER TABLE monitor_settlement
    ADD COLUMN dx_code     TEXT,
    ADD COLUMN dx_system   TEXT,
    ADD COLUMN dx_chapter  TEXT,
    ADD COLUMN received_at BIGINT;
ALTER TABLE monitor_encounter ADD COLUMN received_at BIGINT;
ALTER TABLE monitor_referral ADD COLUMN received_at BIGINT;
-- Lab results also keep the reporting facility and whether their test code stayed unmapped.
ALTER TABLE monitor_diagnostic
    ADD COLUMN facility_code TEXT,
    ADD COLUMN code_unmapped BOOLEAN,
    ADD COLUMN received_at   BIGINT;

CREATE INDEX monitor_settlement_received ON monitor_settlement (received_at);
CREATE INDEX monitor_encounter_received ON monitor_encounter (received_at);
CREATE INDEX monitor_referral_received ON monitor_referral (received_at);
CREATE INDEX monitor_diagnostic_received ON monitor_diagnostic (received_at);

-- EMPI decisions (canonical.identity-link.v1) without the person: which facility's message
-- was resolved how. `source` is the raw record (topic/partition/offset) the decision came from.
CREATE TABLE monitor_identity (
    event_id      TEXT PRIMARY KEY,
    facility_code TEXT NOT NULL,
    action        TEXT NOT NULL,
    match_method  TEXT NOT NULL,
    review_id     TEXT,
    source        TEXT NOT NULL,
    event_time    BIGINT NOT NULL,
    received_at   BIGINT NOT NULL
);
CREATE INDEX monitor_identity_facility ON monitor_identity (facility_code, received_at);
CREATE INDEX monitor_identity_review ON monitor_identity (review_id);

-- Dead letters of the other stages (dlq.<stage>), from their headers only (never the payload).
-- Keyed by the dead letter's own position, so a redelivery replaces the row.
CREATE TABLE monitor_dead_letter (
    position      TEXT PRIMARY KEY,
    stage         TEXT NOT NULL,
    facility_code TEXT,
    error_code    TEXT NOT NULL,
    written_at    BIGINT NOT NULL
);
CREATE INDEX monitor_dead_letter_facility ON monitor_dead_letter (facility_code, written_at);

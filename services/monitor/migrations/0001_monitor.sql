-- Compact per-event facts for the county indicators. One row per canonical event (primary key
-- event_id: a redelivery or correction replaces the row). Times are epoch milliseconds (UTC).
-- No names, ID numbers or phones: only codes, amounts and times.

-- The facility registry (deploy/terminology/facilities.csv), synced on every start.
CREATE TABLE monitor_facility (
    code          TEXT PRIMARY KEY,
    level         TEXT NOT NULL,
    admdvs        TEXT NOT NULL,
    primary_care  BOOLEAN NOT NULL,
    shared_centre TEXT
);

CREATE TABLE monitor_settlement (
    event_id         TEXT PRIMARY KEY,
    setl_id          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    reverses_setl_id TEXT,
    fixmedins_code   TEXT NOT NULL,
    mdtrt_id         TEXT NOT NULL,
    insuplc_admdvs   TEXT NOT NULL,
    mdtrtarea_admvs  TEXT,
    med_type         TEXT NOT NULL,
    inpatient        BOOLEAN NOT NULL,
    setl_time        BIGINT NOT NULL,
    sign             SMALLINT NOT NULL,
    medfee_sumamt    BIGINT NOT NULL,
    fund_pay_sumamt  BIGINT NOT NULL,
    event_time       BIGINT NOT NULL
);
CREATE INDEX monitor_settlement_insuplc ON monitor_settlement (insuplc_admdvs, setl_time);
CREATE INDEX monitor_settlement_setl ON monitor_settlement (setl_id);

CREATE TABLE monitor_encounter (
    event_id        TEXT PRIMARY KEY,
    facility_code   TEXT NOT NULL,
    encounter_id    TEXT NOT NULL,
    encounter_class TEXT NOT NULL,
    action          TEXT NOT NULL,
    event_time      BIGINT NOT NULL
);
CREATE INDEX monitor_encounter_visit ON monitor_encounter (facility_code, encounter_id);

CREATE TABLE monitor_referral (
    event_id           TEXT PRIMARY KEY,
    referral_id        TEXT NOT NULL,
    direction          TEXT NOT NULL,
    status             TEXT NOT NULL,
    from_facility_code TEXT NOT NULL,
    to_facility_code   TEXT NOT NULL,
    referred_at        BIGINT NOT NULL,
    event_time         BIGINT NOT NULL
);
CREATE INDEX monitor_referral_id ON monitor_referral (from_facility_code, referral_id);

-- Lab results and imaging studies/reports reduced to order -> report times per shared centre.
CREATE TABLE monitor_diagnostic (
    event_id    TEXT PRIMARY KEY,
    service     TEXT NOT NULL,      -- lab | imaging
    order_id    TEXT NOT NULL,
    centre_code TEXT NOT NULL,
    ordered_at  BIGINT,
    reported_at BIGINT,
    cancelled   BOOLEAN NOT NULL,
    event_time  BIGINT NOT NULL
);
CREATE INDEX monitor_diagnostic_order ON monitor_diagnostic (service, order_id);

-- Clinical alerts already produced: a redelivered lab result never raises its alert twice.
CREATE TABLE monitor_alert_sent (
    alert_id        TEXT PRIMARY KEY,
    source_event_id TEXT NOT NULL,
    produced_at     BIGINT NOT NULL
);

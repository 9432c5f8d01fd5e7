-- The unified county health record.
--
-- Every entity table keeps every canonical event by its deterministic event_id (replays and
-- duplicates converge), plus:
--   natural_key  the thing the event is a version of (see src/sink/keys.rs), e.g. one lab
--                observation; a correction has a new event_id and the same natural_key;
--   is_current   true on exactly the newest version of each natural_key (event_time, then
--                received_at, then event_id), recomputed by the sink in the batch's transaction.
-- Person ids are stored as the events carry them; merges are resolved at query time through
-- person_aliases (see src/store.rs).

CREATE TABLE persons (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    action TEXT NOT NULL,
    id_number TEXT,
    id_type_code TEXT,
    name TEXT NOT NULL,
    sex_code TEXT NOT NULL,
    birth_date DATE,
    phone TEXT,
    address_division_code TEXT,
    address_text TEXT,
    insured_admdvs TEXT,
    ethnicity_code TEXT,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX persons_person ON persons (person_id, event_time DESC);
CREATE INDEX persons_nk ON persons (natural_key);
CREATE INDEX persons_id_number ON persons (id_number) WHERE id_number IS NOT NULL;
CREATE INDEX persons_name_birth ON persons (name, birth_date);

CREATE TABLE person_identifiers (
    person_id TEXT NOT NULL,
    system_oid TEXT NOT NULL,
    assigner TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (system_oid, assigner, value, person_id)
);
CREATE INDEX person_identifiers_person ON person_identifiers (person_id);

CREATE TABLE encounters (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    encounter_id TEXT NOT NULL,
    encounter_class TEXT NOT NULL,
    action TEXT NOT NULL,
    department_code TEXT,
    department_name TEXT,
    attending_doctor_code TEXT,
    admit_time TIMESTAMPTZ,
    discharge_time TIMESTAMPTZ,
    chief_complaint TEXT,
    cancels_event_id TEXT,
    -- True when a CANCEL_<action> event of the same visit cancels this event.
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX encounters_person ON encounters (person_id, event_time DESC, event_id DESC);
CREATE INDEX encounters_visit ON encounters (facility_code, encounter_id);
CREATE INDEX encounters_nk ON encounters (natural_key);

CREATE TABLE diagnoses (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    encounter_id TEXT NOT NULL,
    action TEXT NOT NULL,
    code TEXT NOT NULL,
    code_display TEXT,
    code_system TEXT NOT NULL,
    diagnosis_type TEXT NOT NULL,
    rank INT,
    diagnosed_at TIMESTAMPTZ,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX diagnoses_person ON diagnoses (person_id, event_time DESC, event_id DESC);
CREATE INDEX diagnoses_nk ON diagnoses (natural_key);

CREATE TABLE lab_results (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    order_id TEXT NOT NULL,
    report_id TEXT,
    encounter_id TEXT,
    observation_seq INT NOT NULL,
    test_code TEXT NOT NULL,
    test_system TEXT NOT NULL,
    test_display TEXT,
    value_text TEXT NOT NULL,
    value_numeric DOUBLE PRECISION,
    unit TEXT,
    reference_range TEXT,
    abnormal_flag TEXT NOT NULL,
    result_status TEXT NOT NULL,
    specimen_id TEXT,
    collected_at TIMESTAMPTZ,
    reported_at TIMESTAMPTZ,
    ordering_facility_code TEXT,
    performing_facility_code TEXT,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lab_results_person ON lab_results (person_id, event_time DESC, event_id DESC);
CREATE INDEX lab_results_person_code ON lab_results (person_id, test_code, event_time);
CREATE INDEX lab_results_nk ON lab_results (natural_key);

CREATE TABLE imaging_studies (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    order_id TEXT NOT NULL,
    accession_number TEXT,
    study_instance_uid TEXT,
    encounter_id TEXT,
    status TEXT NOT NULL,
    modality TEXT,
    body_part TEXT,
    procedure_code TEXT,
    procedure_display TEXT,
    performed_at TIMESTAMPTZ,
    series_count INT,
    instance_count INT,
    ordering_facility_code TEXT,
    performing_facility_code TEXT,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX imaging_studies_person ON imaging_studies (person_id, event_time DESC, event_id DESC);
CREATE INDEX imaging_studies_nk ON imaging_studies (natural_key);

CREATE TABLE imaging_reports (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    order_id TEXT NOT NULL,
    accession_number TEXT,
    study_instance_uid TEXT,
    report_id TEXT,
    encounter_id TEXT,
    report_status TEXT NOT NULL,
    modality TEXT,
    findings TEXT,
    impression TEXT,
    critical BOOLEAN NOT NULL,
    reported_at TIMESTAMPTZ,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX imaging_reports_person ON imaging_reports (person_id, event_time DESC, event_id DESC);
CREATE INDEX imaging_reports_nk ON imaging_reports (natural_key);

CREATE TABLE settlements (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    setl_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reverses_setl_id TEXT,
    psn_no TEXT NOT NULL,
    mdtrt_id TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    insuplc_admdvs TEXT NOT NULL,
    insutype TEXT NOT NULL,
    med_type TEXT NOT NULL,
    inpatient BOOLEAN NOT NULL,
    setl_time TIMESTAMPTZ NOT NULL,
    medfee_sumamt BIGINT NOT NULL,
    fund_pay_sumamt BIGINT NOT NULL,
    psn_cash_pay BIGINT NOT NULL,
    diagnoses JSONB NOT NULL,
    -- setl_id of the REVERSAL/CANCELLATION that reverses this settlement, if any.
    reversed_by TEXT,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX settlements_person ON settlements (person_id, event_time DESC, event_id DESC);
CREATE INDEX settlements_setl ON settlements (setl_id);
CREATE INDEX settlements_reverses ON settlements (reverses_setl_id);
CREATE INDEX settlements_psn ON settlements (psn_no);
CREATE INDEX settlements_nk ON settlements (natural_key);

CREATE TABLE referrals (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    referral_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    from_facility_code TEXT NOT NULL,
    to_facility_code TEXT NOT NULL,
    reason_code TEXT,
    reason_display TEXT,
    referred_at TIMESTAMPTZ NOT NULL,
    encounter_id TEXT,
    receiving_encounter_id TEXT,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX referrals_person ON referrals (person_id, event_time DESC, event_id DESC);
CREATE INDEX referrals_to ON referrals (to_facility_code, person_id);
CREATE INDEX referrals_nk ON referrals (natural_key);

CREATE TABLE identity_links (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    action TEXT NOT NULL,
    previous_person_id TEXT,
    surviving_person_id TEXT,
    match_method TEXT NOT NULL,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX identity_links_person ON identity_links (person_id);
CREATE INDEX identity_links_nk ON identity_links (natural_key);

-- Merges: merged_id shows under survivor_id while active. Resolved at query time, so a late event
-- for the merged-away id lands under the survivor, and an UNMERGE restores both records.
CREATE TABLE person_aliases (
    merged_id TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    event_id TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL
);
CREATE INDEX person_aliases_survivor ON person_aliases (survivor_id) WHERE active;

CREATE TABLE clinical_alerts (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_topic TEXT NOT NULL,
    source_offset BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    natural_key TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    alert_id TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    test_code TEXT,
    test_display TEXT,
    value_text TEXT,
    threshold_text TEXT,
    notify_facility_code TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX clinical_alerts_person ON clinical_alerts (person_id, event_time DESC, event_id DESC);
CREATE INDEX clinical_alerts_nk ON clinical_alerts (natural_key);

-- Every read of a person's record (and every refused attempt). Append-only: the trigger below
-- refuses UPDATE, DELETE and TRUNCATE for every role, the owner included.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    actor_facility TEXT,
    person_id TEXT,
    endpoint TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_log_person ON audit_log (person_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- The EMPI's state. It holds no plain identifiers: every identifier and the name and phone used
-- for matching are stored as keyed HMAC-SHA256 pseudonyms (the key lives in the service's secret
-- configuration), so a copy of this database alone identifies no one.

CREATE TABLE empi_persons (
    person_id   text        PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set when this person was merged into another (HL7 A40, a reviewer); lookups follow it.
    merged_into text        REFERENCES empi_persons (person_id),
    name_key    text,
    birth_date  date,
    sex_code    text,
    phone_key   text
);

-- Blocking keys for the scored match: same name and birth date, or same phone.
CREATE INDEX empi_persons_name_birth ON empi_persons (name_key, birth_date) WHERE merged_into IS NULL;
CREATE INDEX empi_persons_phone ON empi_persons (phone_key) WHERE merged_into IS NULL;

-- Deterministic identifiers: a resident ID number, a (facility, MRN) pair, an insurance number,
-- a health card. One identifier belongs to one person.
CREATE TABLE empi_identifiers (
    kind       text        NOT NULL CHECK (kind IN ('resident_id', 'insurance', 'health_card', 'facility_mrn')),
    key        text        NOT NULL,
    person_id  text        NOT NULL REFERENCES empi_persons (person_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);

CREATE INDEX empi_identifiers_person ON empi_identifiers (person_id);

-- Scored matches in the grey zone, waiting for a person to decide.
CREATE TABLE empi_reviews (
    review_id             text             PRIMARY KEY,
    provisional_person_id text             NOT NULL REFERENCES empi_persons (person_id),
    candidate_person_id   text             NOT NULL REFERENCES empi_persons (person_id),
    score                 double precision NOT NULL,
    status                text             NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'linked', 'distinct')),
    reviewer_id           text,
    created_at            timestamptz      NOT NULL DEFAULT now(),
    resolved_at           timestamptz
);

CREATE INDEX empi_reviews_open ON empi_reviews (created_at) WHERE status = 'open';

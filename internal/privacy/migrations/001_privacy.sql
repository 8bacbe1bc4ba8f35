-- One data key per data subject (person), wrapped by the master key's
-- key-encryption key. The email is held only as a keyed hash. Erasure
-- deletes the row: this is the only table rows are deleted from to make
-- data unreadable (crypto-shredding); the events are never touched.
CREATE TABLE crm_privacy_keys (
    subject_id  uuid        PRIMARY KEY,
    email_hash  bytea       NOT NULL UNIQUE,
    wrapped_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The leads and contacts whose personal data a subject's key protects;
-- they go with the key.
CREATE TABLE crm_privacy_entities (
    subject_id  uuid NOT NULL REFERENCES crm_privacy_keys (subject_id) ON DELETE CASCADE,
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_id, entity_type, entity_id)
);

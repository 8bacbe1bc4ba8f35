-- One row per analyst's report: its definition, the database role and
-- schema its statements run in, and its state for display. The report's
-- checkpoint itself lives in its own schema (crm_checkpoint), where it
-- commits with the report's rows.
CREATE TABLE crm_custom_reports (
    name            text        PRIMARY KEY,
    definition      jsonb       NOT NULL,
    tables          jsonb       NOT NULL,
    schema_name     text        NOT NULL UNIQUE,
    role_name       text        NOT NULL UNIQUE,
    role_password   text        NOT NULL,
    until           timestamptz,
    generation      bigint      NOT NULL DEFAULT 1,
    state           text        NOT NULL DEFAULT 'running',
    position        text        NOT NULL DEFAULT '',
    events_seen     bigint      NOT NULL DEFAULT 0,
    events_applied  bigint      NOT NULL DEFAULT 0,
    error           text,
    error_handler   text,
    error_position  text,
    created_by      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per projector: its checkpoint (the log cursor of the last event
-- applied, written in the same transaction as the read-model rows), its
-- state and, when it failed, the error and the event it failed on.
CREATE TABLE crm_projections (
    name             text        PRIMARY KEY,
    position         text        NOT NULL DEFAULT '',
    events_applied   bigint      NOT NULL DEFAULT 0,
    state            text        NOT NULL DEFAULT 'idle',
    error            text,
    error_position   text,
    owner            text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    rebuild_state    text,
    rebuild_done     bigint      NOT NULL DEFAULT 0,
    rebuild_total    bigint      NOT NULL DEFAULT 0,
    rebuild_error    text,
    rebuilt_at       timestamptz
);

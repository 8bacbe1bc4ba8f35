CREATE TABLE crm_workflow_checkpoints (
    name       text PRIMARY KEY,
    position   text NOT NULL DEFAULT '',
    owner      text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crm_dead_letters (
    id          uuid PRIMARY KEY,
    handler     text NOT NULL,
    topic       text NOT NULL,
    message_id  text NOT NULL,
    reason      text NOT NULL,
    payload     bytea NOT NULL,
    metadata    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);

CREATE TABLE crm_automation_settings (
    name       text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Round-robin position per assignment rule, and the owner picked for each
-- triggering event, so a redelivered event gets the same owner.
CREATE TABLE crm_assignment_counters (
    rule text PRIMARY KEY,
    next bigint NOT NULL
);
CREATE TABLE crm_assignment_picks (
    event_id uuid PRIMARY KEY,
    owner_id text NOT NULL
);

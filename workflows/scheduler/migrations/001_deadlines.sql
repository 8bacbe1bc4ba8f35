CREATE TABLE crm_deadlines (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    due_at      timestamptz NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    leased_by   text,
    attempts    int NOT NULL DEFAULT 0,
    last_error  text,
    fired_at    timestamptz
);
CREATE INDEX crm_deadlines_due ON crm_deadlines (due_at) WHERE fired_at IS NULL;

CREATE TABLE crm_webhooks (
    id         uuid PRIMARY KEY,
    url        text NOT NULL,
    events     text[] NOT NULL,
    secret     text NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE crm_webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES crm_webhooks (id),
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    payload         bytea NOT NULL,
    status          text NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX crm_webhook_deliveries_due ON crm_webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE crm_webhook_attempts (
    delivery_id uuid NOT NULL REFERENCES crm_webhook_deliveries (id),
    attempt     int NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    status_code int,
    error       text,
    duration_ms int NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

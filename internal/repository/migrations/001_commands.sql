-- Unique keys reserved by commands in the same transaction as their events:
-- an email held by one open lead or contact, a contact's account.
CREATE TABLE crm_claims (
    kind       text        NOT NULL,
    key        text        NOT NULL,
    owner_type text        NOT NULL,
    owner_id   text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);

-- Responses of commands sent with an Idempotency-Key, stored with their
-- events so a retry replays the first response and appends nothing.
CREATE TABLE crm_idempotency (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       int         NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Every command request and every refused request, for auditors.
-- Append-only, like the event log: see the triggers below.
CREATE TABLE crm_request_log (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    -- Pages are read in (transaction_id, id) order below the oldest running
    -- writer, like the event log, so concurrent writers never make a
    -- reader skip an entry that commits late.
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    at             timestamptz NOT NULL,
    key_id         text        NOT NULL DEFAULT '',
    actor          text        NOT NULL DEFAULT '',
    role           text        NOT NULL DEFAULT '',
    method         text        NOT NULL,
    route          text        NOT NULL,
    path           text        NOT NULL,
    status         integer     NOT NULL,
    correlation_id text        NOT NULL DEFAULT '',
    PRIMARY KEY (transaction_id, id)
);
CREATE INDEX crm_request_log_actor ON crm_request_log (actor, transaction_id, id);
CREATE INDEX crm_request_log_status ON crm_request_log (status, transaction_id, id);
CREATE INDEX crm_request_log_at ON crm_request_log (at);

CREATE FUNCTION crm_request_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'crm_request_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER crm_request_log_no_update_delete
    BEFORE UPDATE OR DELETE ON crm_request_log
    FOR EACH ROW EXECUTE FUNCTION crm_request_log_refuse_change();

CREATE TRIGGER crm_request_log_no_truncate
    BEFORE TRUNCATE ON crm_request_log
    FOR EACH STATEMENT EXECUTE FUNCTION crm_request_log_refuse_change();

-- Tamper evidence: every event stores a SHA-256 hash over its canonical
-- bytes and the hash of the previous event of its stream (prev_hash), so
-- editing an event, or removing one from the middle of a stream, breaks
-- the chain. Signed seals over the global order (package integrity) catch
-- what a per-stream chain cannot: a whole stream or a stream's last events
-- removed.
--
-- Canonical bytes: each field as UTF-8 text prefixed by its byte length
-- and a colon, in this order: event id, stream id, version, type, schema
-- version, actor, command id, correlation id, causation id, recorded time
-- (UTC, microseconds, "YYYY-MM-DDTHH:MM:SS.ffffffZ"), data (jsonb's text
-- form). hash = sha256(prev_hash || canonical bytes); prev_hash is empty
-- for a stream's first event. Package integrity recomputes the same in Go.

ALTER TABLE crm_events ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;

CREATE FUNCTION crm_hash_field(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT octet_length(t)::text || ':' || t
$$;

CREATE FUNCTION crm_event_hash(
    p_prev bytea, p_event_id uuid, p_stream text, p_version bigint, p_type text, p_schema int,
    p_actor text, p_command text, p_correlation text, p_causation text, p_recorded timestamptz, p_data jsonb
) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(coalesce(p_prev, ''::bytea) || convert_to(
        crm_hash_field(p_event_id::text) || crm_hash_field(p_stream) || crm_hash_field(p_version::text) ||
        crm_hash_field(p_type) || crm_hash_field(p_schema::text) || crm_hash_field(p_actor) ||
        crm_hash_field(p_command) || crm_hash_field(p_correlation) || crm_hash_field(p_causation) ||
        crm_hash_field(to_char(p_recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ||
        crm_hash_field(p_data::text), 'UTF8'))
$$;

-- Chains each new event to the previous one of its stream. Rows inserted
-- earlier by the same statement are visible here, so a multi-event append
-- chains within itself (crm_append inserts in version order).
CREATE FUNCTION crm_events_chain() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.prev_hash := NULL;
    IF NEW.version > 1 THEN
        SELECT e.hash INTO NEW.prev_hash FROM crm_events e
         WHERE e.stream_id = NEW.stream_id AND e.version = NEW.version - 1;
    END IF;
    NEW.hash := crm_event_hash(NEW.prev_hash, NEW.event_id, NEW.stream_id, NEW.version, NEW.type,
        NEW.schema_version, NEW.actor, NEW.command_id, NEW.correlation_id, NEW.causation_id,
        NEW.recorded_at, NEW.data);
    RETURN NEW;
END
$fn$;

-- Events stored before this migration are chained once, in stream order.
ALTER TABLE crm_events DISABLE TRIGGER crm_events_no_update_delete;
DO $do$
DECLARE
    r      record;
    v_prev bytea;
    v_last text := NULL;
BEGIN
    FOR r IN SELECT * FROM crm_events ORDER BY stream_id, version LOOP
        IF v_last IS DISTINCT FROM r.stream_id THEN
            v_prev := NULL;
            v_last := r.stream_id;
        END IF;
        UPDATE crm_events SET prev_hash = v_prev,
               hash = crm_event_hash(v_prev, r.event_id, r.stream_id, r.version, r.type, r.schema_version,
                                     r.actor, r.command_id, r.correlation_id, r.causation_id, r.recorded_at, r.data)
         WHERE transaction_id = r.transaction_id AND position = r.position
        RETURNING hash INTO v_prev;
    END LOOP;
END
$do$;
ALTER TABLE crm_events ENABLE TRIGGER crm_events_no_update_delete;
ALTER TABLE crm_events ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER crm_events_chain
    BEFORE INSERT ON crm_events
    FOR EACH ROW EXECUTE FUNCTION crm_events_chain();

-- Seals: signed checkpoints over the global order (see package integrity).
CREATE TABLE crm_seals (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id xid8      NOT NULL,
    position     bigint      NOT NULL,
    event_count  bigint      NOT NULL,
    running_hash bytea       NOT NULL,
    sealed_at    timestamptz NOT NULL DEFAULT now(),
    mac          bytea       NOT NULL
);

CREATE FUNCTION crm_seals_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'crm_seals is append-only: % refused', TG_OP
        USING ERRCODE = 'CR003';
END
$fn$;

CREATE TRIGGER crm_seals_no_update_delete
    BEFORE UPDATE OR DELETE ON crm_seals
    FOR EACH STATEMENT EXECUTE FUNCTION crm_seals_refuse_change();
CREATE TRIGGER crm_seals_no_truncate
    BEFORE TRUNCATE ON crm_seals
    FOR EACH STATEMENT EXECUTE FUNCTION crm_seals_refuse_change();

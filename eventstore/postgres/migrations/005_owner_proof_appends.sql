-- Appends only through crm_append, with the server's clock.
--
-- crm_append runs as its owner (SECURITY DEFINER, with a fixed
-- search_path), so the role the engine connects as needs no INSERT on
-- crm_events or write on crm_streams: it can append, never insert a row of
-- its choosing (docs/sql/roles.sql grants it SELECT only). EXECUTE is
-- taken from PUBLIC and granted by that script.
--
-- recorded_at is the server's statement time (the same for every event of
-- one append), set by the hash-chain trigger before the hash is computed.
-- A supplied time (crm_append's p_recorded_at, given only by a store with
-- a clock of its own: tests, and `crm events copy` which keeps the
-- source's times) is kept only when the database itself allows it:
-- ALTER DATABASE ... SET crm.supplied_recorded_at = on, which only the
-- database's owner or a superuser can run. The setting is read from the
-- catalog, not from the session, so a session's own SET does not count.

CREATE FUNCTION crm_supplied_times_allowed() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_catalog.pg_db_role_setting s
          JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
         WHERE d.datname = pg_catalog.current_database() AND s.setrole = 0
           AND 'crm.supplied_recorded_at=on' = ANY (s.setconfig))
$$;

CREATE OR REPLACE FUNCTION crm_events_chain() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.recorded_at IS NULL THEN
        NEW.recorded_at := statement_timestamp();
    ELSIF NOT crm_supplied_times_allowed() THEN
        NEW.recorded_at := statement_timestamp();
    END IF;
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

DO $do$
DECLARE
    v_path text := format('%I, pg_temp', current_schema());
    v_sig  text := 'crm_append(text[], bigint[], int[], int[], uuid[], text[], int[], jsonb[], text[], text[], text[], text[], timestamptz)';
BEGIN
    EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %s', v_sig, v_path);
    EXECUTE format('ALTER FUNCTION crm_append_stored(text[], int[], uuid[]) SET search_path = %s', v_path);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', v_sig);
END
$do$;

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON crm_events, crm_streams FROM PUBLIC;

-- Seals are chained: each one's MAC covers its sequence number, its time
-- and the previous seal's MAC (format 2, package integrity), so a seal
-- removed from the middle or the start, or seals reordered, break the
-- chain. seq is given by the sealer (the previous seal's + 1), not by a
-- sequence, whose gaps after a rollback would read as removed seals.
-- next_xid is the first transaction id not yet assigned when the seal's
-- snapshot was taken: events of later transactions cannot have been
-- recorded before the seal, so one recorded well before it was inserted
-- back-dated. Seals made before this migration (format 1) keep their old
-- MAC and have neither.
ALTER TABLE crm_seals ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE crm_seals ADD COLUMN format smallint NOT NULL DEFAULT 1,
                      ADD COLUMN prev_mac bytea,
                      ADD COLUMN next_xid xid8;
ALTER TABLE crm_seals ALTER COLUMN format SET DEFAULT 2;

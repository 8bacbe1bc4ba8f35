-- The event log. Append-only: see the triggers at the end.
CREATE TABLE crm_streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL CHECK (version >= 0)
);

CREATE TABLE crm_events (
    -- Global order is (transaction_id, position). position comes from a
    -- sequence (no lock shared by writers); transaction_id is the appending
    -- transaction's xid8, so readers can stop below the oldest transaction
    -- still running and never skip an event that commits late.
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id       uuid        NOT NULL,
    stream_id      text        NOT NULL,
    version        bigint      NOT NULL CHECK (version >= 1),
    type           text        NOT NULL,
    schema_version int         NOT NULL CHECK (schema_version >= 1),
    data           jsonb       NOT NULL,
    actor          text        NOT NULL,
    command_id     text        NOT NULL DEFAULT '',
    correlation_id text        NOT NULL DEFAULT '',
    causation_id   text        NOT NULL DEFAULT '',
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (transaction_id, position),
    CONSTRAINT crm_events_event_id_key UNIQUE (event_id),
    CONSTRAINT crm_events_stream_version_key UNIQUE (stream_id, version)
);

-- crm_append stores the events of one or more streams in one statement, so a
-- single-stream or multi-stream append costs one round trip and is atomic.
-- Only appends to the same stream wait for each other.
--
-- Per-stream order must match the global (transaction_id, position) order.
-- A transaction's xid is assigned at its first write, so the stream locks are
-- transaction-level advisory locks (which need no xid) taken, in one fixed
-- order, before anything is written: an append that waits for a stream gets
-- its xid only after the previous append to that stream committed. For the
-- same reason the append must be its transaction's first write (CR004).
--
-- p_expected per stream: >= 0 exact version (0: no stream), -1 any,
-- -2 stream exists. Events are given in order, each with the 1-based index of
-- its stream (p_stream_idx) and its 1-based ordinal within that stream
-- (p_offset).
--
-- Errors: SQLSTATE CR001 version conflict (DETAIL stream id, HINT actual
-- version); CR002 duplicate event id (stored elsewhere, or only some ids);
-- CR004 the transaction already wrote something before the append.
-- Appending exactly the stored events of a stream again returns them without
-- storing anything (idempotent retry).
CREATE FUNCTION crm_append(
    p_streams     text[],
    p_expected    bigint[],
    p_stream_idx  int[],
    p_offset      int[],
    p_ids         uuid[],
    p_types       text[],
    p_schema      int[],
    p_data        jsonb[],
    p_actor       text[],
    p_command     text[],
    p_correlation text[],
    p_causation   text[],
    p_recorded_at timestamptz
) RETURNS TABLE (
    out_ord         int,
    out_version     bigint,
    out_tx          xid8,
    out_position    bigint,
    out_recorded_at timestamptz
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_base     bigint[] := array_fill(0::bigint, ARRAY[cardinality(p_streams)]);
    v_existing int;
    v_matching int;
    v_count    int;
    v_new      bigint;
    v_actual   bigint;
    k          int;
BEGIN
    SELECT count(*), count(*) FILTER (WHERE e.stream_id = p_streams[u.k])
      INTO v_existing, v_matching
      FROM unnest(p_ids, p_stream_idx) AS u(id, k)
      JOIN crm_events e ON e.event_id = u.id;
    IF v_existing > 0 THEN
        IF v_matching = cardinality(p_ids) THEN
            RETURN QUERY
                SELECT u.ord::int, e.version, e.transaction_id, e.position, e.recorded_at
                  FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
                  JOIN crm_events e ON e.event_id = u.id
                 ORDER BY u.ord;
            RETURN;
        END IF;
        RAISE EXCEPTION 'duplicate event id' USING ERRCODE = 'CR002';
    END IF;

    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction' USING ERRCODE = 'CR004';
    END IF;
    PERFORM pg_advisory_xact_lock(h)
       FROM (SELECT DISTINCT hashtextextended(id, 0) AS h FROM unnest(p_streams) AS id) AS locks
      ORDER BY h;

    FOR k IN SELECT s.i FROM unnest(p_streams) WITH ORDINALITY AS s(id, i) ORDER BY s.id LOOP
        SELECT count(*) INTO v_count FROM unnest(p_stream_idx) AS x WHERE x = k;
        IF p_expected[k] = -1 THEN
            INSERT INTO crm_streams AS s (stream_id, version) VALUES (p_streams[k], v_count)
            ON CONFLICT (stream_id) DO UPDATE SET version = s.version + v_count
            RETURNING s.version INTO v_new;
        ELSIF p_expected[k] = 0 THEN
            INSERT INTO crm_streams (stream_id, version) VALUES (p_streams[k], v_count)
            ON CONFLICT (stream_id) DO NOTHING
            RETURNING version INTO v_new;
        ELSIF p_expected[k] = -2 THEN
            UPDATE crm_streams SET version = version + v_count
             WHERE stream_id = p_streams[k]
            RETURNING version INTO v_new;
        ELSE
            UPDATE crm_streams SET version = version + v_count
             WHERE stream_id = p_streams[k] AND version = p_expected[k]
            RETURNING version INTO v_new;
        END IF;
        IF v_new IS NULL THEN
            SELECT version INTO v_actual FROM crm_streams WHERE stream_id = p_streams[k];
            RAISE EXCEPTION 'version conflict'
                USING ERRCODE = 'CR001', DETAIL = p_streams[k], HINT = coalesce(v_actual, 0)::text;
        END IF;
        v_base[k] := v_new - v_count;
    END LOOP;

    RETURN QUERY
    WITH ins AS (
        INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data,
                                actor, command_id, correlation_id, causation_id, recorded_at)
        SELECT u.id, p_streams[u.k], v_base[u.k] + u.off, u.typ, u.sv, u.dat,
               u.act, u.cmd, u.cor, u.cau, p_recorded_at
          FROM unnest(p_ids, p_stream_idx, p_offset, p_types, p_schema, p_data,
                      p_actor, p_command, p_correlation, p_causation)
               WITH ORDINALITY AS u(id, k, off, typ, sv, dat, act, cmd, cor, cau, ord)
         ORDER BY u.ord
        RETURNING crm_events.event_id, crm_events.version, crm_events.transaction_id,
                  crm_events.position, crm_events.recorded_at
    )
    SELECT u.ord::int, ins.version, ins.transaction_id, ins.position, ins.recorded_at
      FROM ins JOIN unnest(p_ids) WITH ORDINALITY AS u(id, ord) ON u.id = ins.event_id
     ORDER BY u.ord;
END
$fn$;

-- History is append-only: no UPDATE, DELETE or TRUNCATE of events, ever.
CREATE FUNCTION crm_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'crm_events is append-only: % refused', TG_OP
        USING ERRCODE = 'CR003';
END
$fn$;

CREATE TRIGGER crm_events_no_update_delete
    BEFORE UPDATE OR DELETE ON crm_events
    FOR EACH STATEMENT EXECUTE FUNCTION crm_events_refuse_change();

CREATE TRIGGER crm_events_no_truncate
    BEFORE TRUNCATE ON crm_events
    FOR EACH STATEMENT EXECUTE FUNCTION crm_events_refuse_change();

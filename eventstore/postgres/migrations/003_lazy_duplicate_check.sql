-- crm_append looked up every appended event id before appending, for
-- the idempotent retry of a stored append; that lookup was a third of the
-- append's time. With exact expectations (NoStream or a version, as every
-- aggregate states) a retry conflicts on its first stream's version, so
-- the lookup moves there, behind the conflict; an id stored in another
-- stream is then refused by the unique index on event_id (same error,
-- ErrDuplicateEvent). With Any or StreamExists it still runs first.

-- crm_append_stored returns the stored events when every id in p_ids is
-- stored in its own stream (an idempotent retry), nothing when none is
-- stored, and raises CR002 otherwise (ids stored elsewhere, or only some).
CREATE FUNCTION crm_append_stored(p_streams text[], p_stream_idx int[], p_ids uuid[])
RETURNS TABLE (
    out_ord         int,
    out_version     bigint,
    out_tx          xid8,
    out_position    bigint,
    out_recorded_at timestamptz
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_existing int;
    v_matching int;
BEGIN
    SELECT count(*), count(*) FILTER (WHERE e.stream_id = p_streams[u.k])
      INTO v_existing, v_matching
      FROM unnest(p_ids, p_stream_idx) AS u(id, k)
      JOIN crm_events e ON e.event_id = u.id;
    IF v_existing = 0 THEN
        RETURN;
    END IF;
    IF v_matching <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'duplicate event id' USING ERRCODE = 'CR002';
    END IF;
    RETURN QUERY
        SELECT u.ord::int, e.version, e.transaction_id, e.position, e.recorded_at
          FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
          JOIN crm_events e ON e.event_id = u.id
         ORDER BY u.ord;
END
$fn$;

CREATE OR REPLACE FUNCTION crm_append(
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
    v_base    bigint[] := array_fill(0::bigint, ARRAY[cardinality(p_streams)]);
    v_checked boolean := false;
    v_count   int;
    v_new     bigint;
    v_actual  bigint;
    k         int;
BEGIN
    -- Without an exact expectation (any, stream exists) a retry of stored
    -- events would not conflict: look for their ids first.
    IF -1 = ANY (p_expected) OR -2 = ANY (p_expected) THEN
        v_checked := true;
        RETURN QUERY SELECT * FROM crm_append_stored(p_streams, p_stream_idx, p_ids);
        IF FOUND THEN
            RETURN;
        END IF;
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
            -- Every stream holding events of a stored append has moved past
            -- its exact expectation, so a retry conflicts here, on its
            -- first stream, before anything is written.
            IF NOT v_checked THEN
                RETURN QUERY SELECT * FROM crm_append_stored(p_streams, p_stream_idx, p_ids);
                IF FOUND THEN
                    RETURN;
                END IF;
            END IF;
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

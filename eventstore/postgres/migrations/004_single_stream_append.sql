-- A command appends to one stream with an exact expectation; crm_append
-- now does that with plain PL/pgSQL expressions where it ran a query for
-- the stream lock, the event count and the stream loop. The hash-chain
-- trigger builds the canonical bytes in one expression instead of eleven
-- calls of a SQL function (each call set up an executor); the bytes, and
-- so every hash, are the same (migration 002 defines them).

CREATE OR REPLACE FUNCTION crm_event_hash(
    p_prev bytea, p_event_id uuid, p_stream text, p_version bigint, p_type text, p_schema int,
    p_actor text, p_command text, p_correlation text, p_causation text, p_recorded timestamptz, p_data jsonb
) RETURNS bytea LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v_id   text := p_event_id::text;
    v_ver  text := p_version::text;
    v_sv   text := p_schema::text;
    v_at   text := to_char(p_recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    v_data text := p_data::text;
BEGIN
    RETURN sha256(coalesce(p_prev, ''::bytea) || convert_to(
        octet_length(v_id) || ':' || v_id ||
        octet_length(p_stream) || ':' || p_stream ||
        octet_length(v_ver) || ':' || v_ver ||
        octet_length(p_type) || ':' || p_type ||
        octet_length(v_sv) || ':' || v_sv ||
        octet_length(p_actor) || ':' || p_actor ||
        octet_length(p_command) || ':' || p_command ||
        octet_length(p_correlation) || ':' || p_correlation ||
        octet_length(p_causation) || ':' || p_causation ||
        octet_length(v_at) || ':' || v_at ||
        octet_length(v_data) || ':' || v_data, 'UTF8'));
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
    -- One stream with an exact expectation (what every command appends):
    -- the same steps as below as plain PL/pgSQL expressions, which skip
    -- the executor for the lock, the count and the stream loop.
    IF cardinality(p_streams) = 1 AND p_expected[1] >= 0 THEN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'an append must be the first write of its transaction' USING ERRCODE = 'CR004';
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended(p_streams[1], 0));
        v_count := cardinality(p_ids);
        IF p_expected[1] = 0 THEN
            INSERT INTO crm_streams (stream_id, version) VALUES (p_streams[1], v_count)
            ON CONFLICT (stream_id) DO NOTHING
            RETURNING version INTO v_new;
        ELSE
            UPDATE crm_streams SET version = version + v_count
             WHERE stream_id = p_streams[1] AND version = p_expected[1]
            RETURNING version INTO v_new;
        END IF;
        IF v_new IS NULL THEN
            RETURN QUERY SELECT * FROM crm_append_stored(p_streams, p_stream_idx, p_ids);
            IF FOUND THEN
                RETURN;
            END IF;
            SELECT version INTO v_actual FROM crm_streams WHERE stream_id = p_streams[1];
            RAISE EXCEPTION 'version conflict'
                USING ERRCODE = 'CR001', DETAIL = p_streams[1], HINT = coalesce(v_actual, 0)::text;
        END IF;
        v_new := v_new - v_count;
        -- The offsets of one stream are its events' ordinals.
        RETURN QUERY
            INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data,
                                    actor, command_id, correlation_id, causation_id, recorded_at)
            SELECT u.id, p_streams[1], v_new + u.off, u.typ, u.sv, u.dat, u.act, u.cmd, u.cor, u.cau, p_recorded_at
              FROM unnest(p_ids, p_offset, p_types, p_schema, p_data, p_actor, p_command, p_correlation, p_causation)
                   AS u(id, off, typ, sv, dat, act, cmd, cor, cau)
             ORDER BY u.off
            RETURNING (crm_events.version - v_new)::int, crm_events.version, crm_events.transaction_id,
                      crm_events.position, crm_events.recorded_at;
        RETURN;
    END IF;

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

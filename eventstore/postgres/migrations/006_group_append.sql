-- Group commit: crm_append_group stores the appends of several
-- independent requests in one transaction. Each request (a group of
-- streams, all with exact expectations) is checked and stored on its
-- own: a request whose stream moved is reported as a conflict row and
-- stores nothing, and the others are stored. Every stream is locked
-- before the transaction writes anything, as in crm_append, so each
-- stream's versions appear in the global log in order; requests on the
-- same stream are taken in order, the later one expecting the version the
-- earlier one left.
--
-- The streams of request g are p_streams[p_first[g] .. p_last[g]] (the
-- arrays are in request order); p_count[k] is stream k's number of events
-- and p_stream_idx[e] the stream of event e. Rows returned: one per stored
-- event (out_group, out_ord = its ordinal in p_ids, its version,
-- transaction and position) and one per refused request (out_group,
-- out_conflict = the stream that moved, out_actual = its version).
--
-- Like crm_append (migration 005) it runs as its owner with a fixed
-- search_path, is not executable by PUBLIC, and the hash-chain trigger
-- stamps recorded_at with the server's clock unless the database allows
-- supplied times.

CREATE FUNCTION crm_append_group(
    p_first       int[],
    p_last        int[],
    p_streams     text[],
    p_expected    bigint[],
    p_count       int[],
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
    out_group       int,
    out_ord         int,
    out_version     bigint,
    out_tx          xid8,
    out_position    bigint,
    out_recorded_at timestamptz,
    out_conflict    text,
    out_actual      bigint
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_ids     text[];
    v_ver     bigint[];
    v_changed boolean[];
    v_base    bigint[] := array_fill(0::bigint, ARRAY[cardinality(p_streams)]);
    v_ok      boolean[] := array_fill(false, ARRAY[cardinality(p_first)]);
    v_group   int[] := array_fill(0, ARRAY[cardinality(p_streams)]);
    v_bad     int;
    g         int;
    j         int;
    k         int;
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction' USING ERRCODE = 'CR004';
    END IF;
    PERFORM pg_advisory_xact_lock(h)
       FROM (SELECT DISTINCT hashtextextended(id, 0) AS h FROM unnest(p_streams) AS id) AS locks
      ORDER BY h;
    -- Each distinct stream's version, as the locks leave it.
    SELECT array_agg(d.id), array_agg(coalesce(s.version, 0)), array_agg(false)
      INTO v_ids, v_ver, v_changed
      FROM (SELECT DISTINCT id FROM unnest(p_streams) AS id) AS d
      LEFT JOIN crm_streams s ON s.stream_id = d.id;

    FOR g IN 1 .. cardinality(p_first) LOOP
        v_bad := NULL;
        FOR k IN p_first[g] .. p_last[g] LOOP
            v_group[k] := g;
        END LOOP;
        FOR k IN p_first[g] .. p_last[g] LOOP
            j := array_position(v_ids, p_streams[k]);
            IF v_ver[j] <> p_expected[k] THEN
                v_bad := k;
                EXIT;
            END IF;
        END LOOP;
        IF v_bad IS NOT NULL THEN
            out_group := g;
            out_conflict := p_streams[v_bad];
            out_actual := v_ver[array_position(v_ids, p_streams[v_bad])];
            RETURN NEXT;
            CONTINUE;
        END IF;
        v_ok[g] := true;
        FOR k IN p_first[g] .. p_last[g] LOOP
            j := array_position(v_ids, p_streams[k]);
            v_base[k] := v_ver[j];
            v_ver[j] := v_ver[j] + p_count[k];
            v_changed[j] := true;
        END LOOP;
    END LOOP;
    out_group := NULL;
    out_conflict := NULL;
    out_actual := NULL;

    INSERT INTO crm_streams AS s (stream_id, version)
    SELECT v_ids[i], v_ver[i] FROM generate_subscripts(v_ids, 1) AS i WHERE v_changed[i]
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version;

    RETURN QUERY
    WITH ev AS (
        SELECT u.*, v_group[u.k] AS grp
          FROM unnest(p_ids, p_stream_idx, p_offset, p_types, p_schema, p_data,
                      p_actor, p_command, p_correlation, p_causation)
               WITH ORDINALITY AS u(id, k, off, typ, sv, dat, act, cmd, cor, cau, ord)
         WHERE v_ok[v_group[u.k]]
    ), ins AS (
        INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data,
                                actor, command_id, correlation_id, causation_id, recorded_at)
        SELECT ev.id, p_streams[ev.k], v_base[ev.k] + ev.off, ev.typ, ev.sv, ev.dat,
               ev.act, ev.cmd, ev.cor, ev.cau, p_recorded_at
          FROM ev
         ORDER BY ev.ord
        RETURNING crm_events.event_id, crm_events.version, crm_events.transaction_id,
                  crm_events.position, crm_events.recorded_at
    )
    SELECT ev.grp, ev.ord::int, ins.version, ins.transaction_id, ins.position, ins.recorded_at,
           NULL::text, NULL::bigint
      FROM ins JOIN ev ON ev.id = ins.event_id
     ORDER BY ev.ord;
END
$fn$;

DO $do$
DECLARE
    v_sig text := 'crm_append_group(int[], int[], text[], bigint[], int[], int[], int[], uuid[], text[], int[], jsonb[], text[], text[], text[], text[], timestamptz)';
BEGIN
    EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %s', v_sig, format('%I, pg_temp', current_schema()));
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', v_sig);
END
$do$;

package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// schemaFingerprintSQL digests the shape of schema $1: its tables'
// columns (name, position, type, nullability, default), constraints,
// indexes, views and functions, with the schema's own name taken out of
// every definition so that a live schema and a scratch copy of the same
// Setup compare equal.
const schemaFingerprintSQL = `
WITH s AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = $1),
q AS (SELECT quote_ident($1) || '.' AS q1, $1 || '.' AS q2),
parts AS (
	SELECT 'col ' || c.relname || ' ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	       || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x
	FROM s JOIN pg_class c ON c.relnamespace = s.oid
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	WHERE c.relkind IN ('r', 'p', 'v', 'm')
	UNION ALL
	SELECT 'con ' || rel.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
	FROM s JOIN pg_constraint con ON con.connamespace = s.oid JOIN pg_class rel ON rel.oid = con.conrelid
	UNION ALL
	SELECT 'idx ' || i.indexname || ' ' || i.indexdef FROM pg_indexes i WHERE i.schemaname = $1
	UNION ALL
	SELECT 'view ' || v.viewname || ' ' || v.definition FROM pg_views v WHERE v.schemaname = $1
	UNION ALL
	SELECT 'fn ' || p.proname || ' ' || pg_get_function_identity_arguments(p.oid) || ' ' || md5(p.prosrc)
	FROM s JOIN pg_proc p ON p.pronamespace = s.oid
)
SELECT coalesce(md5(string_agg(replace(replace(x, q.q1, ''), q.q2, ''), E'\n' ORDER BY x)), '')
FROM parts, q`

// schemaFingerprint is the digest of schema's shape (schemaFingerprintSQL).
func schemaFingerprint(ctx context.Context, tx pgx.Tx, schema string) (string, error) {
	var fp string
	if err := tx.QueryRow(ctx, schemaFingerprintSQL, schema).Scan(&fp); err != nil {
		return "", fmt.Errorf("fingerprint schema %s: %w", schema, err)
	}
	return fp, nil
}

// errProbeDone rolls back the probe's transaction.
var errProbeDone = errors.New("schema probe done")

// schemaChanged reports whether p's live schema has another shape than p's
// Setup creates today: it runs Setup into a scratch schema, compares the
// two, and rolls the scratch schema back. A read model whose tables an
// upgrade changed is then rebuilt before its projector follows the log,
// instead of failing on the first event that needs a new column.
func (e *Engine) schemaChanged(ctx context.Context, db session, p Projector) (bool, error) {
	live := SchemaName(p.Name())
	probe := live + "_probe"
	var changed bool
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{probe}.Sanitize()+` CASCADE`); err != nil {
			return err
		}
		if err := createSchema(ctx, tx, p, probe); err != nil {
			return err
		}
		want, err := schemaFingerprint(ctx, tx, probe)
		if err != nil {
			return err
		}
		have, err := schemaFingerprint(ctx, tx, live)
		if err != nil {
			return err
		}
		changed = want != have
		return errProbeDone
	})
	if err != nil && !errors.Is(err, errProbeDone) {
		return false, fmt.Errorf("compare the %s schema with its definition: %w", p.Name(), err)
	}
	return changed, nil
}

// upgradeSchema rebuilds p's read model when its live schema no longer
// matches p's Setup (schemaChanged), once per engine and projector, and
// reports whether it did. The live tables keep serving during the rebuild
// (Rebuild). When an operator's rebuild is already running, it leaves the
// schema to that rebuild.
func (e *Engine) upgradeSchema(ctx context.Context, db session, p Projector) (bool, error) {
	if _, done := e.schemaChecked.Load(p.Name()); done {
		return false, nil
	}
	changed, err := e.schemaChanged(ctx, db, p)
	if err != nil {
		return false, err
	}
	if !changed {
		e.schemaChecked.Store(p.Name(), true)
		return false, nil
	}
	log := e.opts.Logger.With("projector", p.Name())
	log.Info("read-model schema differs from this build's definition; rebuilding it from the log while the old tables keep serving")
	if err := e.Rebuild(ctx, p.Name(), nil); err != nil {
		if errors.Is(err, ErrRebuildRunning) {
			log.Info("a rebuild is already running; following the log on the current schema meanwhile")
			return false, nil
		}
		return false, fmt.Errorf("rebuild %s for its new schema: %w", p.Name(), err)
	}
	e.schemaChecked.Store(p.Name(), true)
	log.Info("read-model schema rebuilt")
	return true, nil
}

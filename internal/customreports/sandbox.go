package customreports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// checkpointTable is the engine's table in every report schema: one row
// with the report's position in the log, written in the same transaction
// as the report's rows.
const checkpointTable = "crm_checkpoint"

// sandbox is a report's database role and schema (both have the same
// name) and the role's password.
type sandbox struct {
	name     string
	password string
}

func newSandbox(report string) (sandbox, error) {
	var b [8]byte
	var pw [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return sandbox{}, err
	}
	if _, err := rand.Read(pw[:]); err != nil {
		return sandbox{}, err
	}
	return sandbox{name: "crm_rpt_" + report + "_" + hex.EncodeToString(b[:4]), password: hex.EncodeToString(pw[:])}, nil
}

func (sb sandbox) ident() string { return pgx.Identifier{sb.name}.Sanitize() }

// create makes the role (able to log in, nothing else) and its schema
// (owned by the engine; the role may use it and create in it), takes from
// PUBLIC what every role would otherwise get (CREATE and USAGE on the
// public schema, TEMPORARY on the database), and checks that the role can
// reach no table outside its schema. ErrSandboxUnavailable names what the
// database refuses.
func (s *Service) createSandbox(ctx context.Context, sb sandbox) error {
	viaFunction, err := s.roleFunctions(ctx)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if viaFunction {
			if _, err := tx.Exec(ctx, `SELECT crm_roles.create_report_role($1, $2)`, sb.name, sb.password); err != nil {
				return fmt.Errorf("create role: %w", err)
			}
		} else if _, err := tx.Exec(ctx, `CREATE ROLE `+sb.ident()+` LOGIN PASSWORD '`+sb.password+`'
NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 32`); err != nil {
			// Only hex digits: safe to inline, as CREATE ROLE takes no parameters.
			return fmt.Errorf("create role: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+sb.ident()); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		_, err := tx.Exec(ctx, `GRANT USAGE, CREATE ON SCHEMA `+sb.ident()+` TO `+sb.ident())
		return err
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return fmt.Errorf("%w: the database role the engine connects as cannot create roles (grant it CREATEROLE, install the report-role functions of docs/sql/grants.sql, or run as a superuser): %s", ErrSandboxUnavailable, pgErr.Message)
		}
		return fmt.Errorf("create the report's role: %w", err)
	}
	// Spill files of sorts and hashes count against no table: bound them
	// per session. Only a superuser may set temp_file_limit for a role; a
	// database that refuses it keeps the server's own limit.
	if _, err := s.pool.Exec(ctx, `ALTER ROLE `+sb.ident()+` SET temp_file_limit = '`+fmt.Sprint(s.opts.MaxBytes>>10)+`kB'`); err != nil {
		s.opts.Logger.Warn("custom reports: could not bound the report role's temporary files", "role", sb.name, "err", err)
	}
	// Privileges every role gets through PUBLIC. A REVOKE by a role that
	// does not own the object only warns; the check below decides.
	var db string
	if err := s.pool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		return err
	}
	for _, stmt := range []string{
		`REVOKE CREATE, USAGE ON SCHEMA public FROM PUBLIC`,
		`REVOKE TEMPORARY ON DATABASE ` + pgx.Identifier{db}.Sanitize() + ` FROM PUBLIC`,
	} {
		if _, err := s.pool.Exec(ctx, stmt); err != nil {
			s.opts.Logger.Warn("custom reports: could not revoke a default privilege", "statement", stmt, "err", err)
		}
	}
	var (
		temp     bool
		creates  *string
		readable *string
	)
	err = s.pool.QueryRow(ctx, `SELECT has_database_privilege($1, current_database(), 'TEMPORARY'),
  (SELECT string_agg(nspname, ', ') FROM pg_namespace WHERE nspname <> $1 AND has_schema_privilege($1, oid, 'CREATE')),
  (SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY n.nspname, c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ($1, 'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))`,
		sb.name).Scan(&temp, &creates, &readable)
	if err != nil {
		return fmt.Errorf("check the report role's privileges: %w", err)
	}
	var leaks []string
	if temp {
		leaks = append(leaks, "it may create temporary tables (REVOKE TEMPORARY ON DATABASE ... FROM PUBLIC as the database owner)")
	}
	if creates != nil {
		leaks = append(leaks, "it may create objects in schemas "+*creates)
	}
	if readable != nil {
		leaks = append(leaks, "it may use tables "+*readable)
	}
	if len(leaks) > 0 {
		return fmt.Errorf("%w: a report's role would reach outside its schema: %s", ErrSandboxUnavailable, strings.Join(leaks, "; "))
	}
	return nil
}

// dropSandbox removes the schema with everything in it, then the role.
// Sessions still logged in as the role are ended first where the engine
// may (a superuser, or a member of pg_signal_backend).
func (s *Service) dropSandbox(ctx context.Context, sb sandbox) error {
	if _, err := s.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+sb.ident()+` CASCADE`); err != nil {
		return fmt.Errorf("drop schema %s: %w", sb.name, err)
	}
	viaFunction, err := s.roleFunctions(ctx)
	if err != nil {
		return err
	}
	drop, args := `DROP ROLE IF EXISTS `+sb.ident(), []any(nil)
	if viaFunction {
		drop, args = `SELECT crm_roles.drop_report_role($1)`, []any{sb.name}
	} else {
		_, _ = s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, sb.name)
	}
	for range 50 {
		if _, err = s.pool.Exec(ctx, drop, args...); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("drop role %s: %w", sb.name, err)
}

// roleFunctions tells whether the database has the narrow functions that
// create and drop report roles (docs/sql/grants.sql), through which an
// engine role without CREATEROLE makes them; without them the engine's
// role creates the roles itself.
func (s *Service) roleFunctions(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regprocedure('crm_roles.create_report_role(text, text)') IS NOT NULL`).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for the report-role functions: %w", err)
	}
	return ok, nil
}

// reportConn is a session logged in as a report's role, with the node
// trees the server showed it while the engine prepared its statements.
type reportConn struct {
	*pgx.Conn
	notices *notices
}

// connectAs opens a session logged in as the report's role, with the
// engine's connection settings otherwise: the report's schema alone on the
// search path, the statement timeout set and times in UTC. A context that
// ends while a statement runs sends the server a cancel request, so the
// statement (and its transaction) stops at once instead of running on.
func (s *Service) connectAs(ctx context.Context, report string, sb sandbox) (reportConn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	s.asRole(cfg, report, sb)
	n := &notices{}
	cfg.OnNotice = n.handle
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 2 * time.Second}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return reportConn{}, fmt.Errorf("%w: the report's role %s cannot log in with the engine's connection settings (check pg_hba.conf): %v", ErrSandboxUnavailable, sb.name, err)
	}
	return reportConn{Conn: conn, notices: n}, nil
}

// asRole points cfg at the report's role.
func (s *Service) asRole(cfg *pgx.ConnConfig, report string, sb sandbox) {
	cfg.User, cfg.Password = sb.name, sb.password
	cfg.RuntimeParams = map[string]string{
		"application_name":                    "crm report " + report,
		"search_path":                         sb.ident(),
		"statement_timeout":                   fmt.Sprint(s.statementTimeout().Milliseconds()),
		"idle_in_transaction_session_timeout": fmt.Sprint(s.opts.BatchTimeout.Milliseconds()),
		"lock_timeout":                        fmt.Sprint(s.statementTimeout().Milliseconds()),
		"TimeZone":                            "UTC",
	}
	// Statements run as sent; no statement cache keyed by text.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
}

// statementTimeout is the longest one statement of a report may run: the
// statement timeout, but never more than nine tenths of what a whole batch
// may take, so that a single statement over it fails the report at once
// rather than cutting its batch.
func (s *Service) statementTimeout() time.Duration {
	return min(s.opts.StatementTimeout, s.opts.BatchTimeout-s.opts.BatchTimeout/10)
}

// validate runs the report's DDL and prepares and plans each handler in a
// transaction that it rolls back, on a session of the report's role. It
// returns each table's primary key columns, in DDL order. Bad SQL, a table
// without a primary key and a handler that reaches any table outside the
// report's own are *InvalidError.
func (s *Service) validate(ctx context.Context, conn reportConn, p *plan, sb sandbox) ([]tableInfo, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for i, d := range p.ddl {
		if err := execOne(ctx, conn.Conn, d.sql); err != nil {
			if isConnErr(err) {
				return nil, err
			}
			return nil, invalid("table", "statement %d: %s", i+1, describe(err))
		}
	}
	tables, err := tableKeys(ctx, tx, sb.name, p.tables)
	if err != nil {
		return nil, err
	}
	if err := checkTableFunctions(ctx, tx, sb.name); err != nil {
		var fe *funcError
		if errors.As(err, &fe) {
			return nil, invalid("table", "%v", fe)
		}
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		return nil, err
	}
	for _, typ := range p.sortedTypes() {
		h := p.handlers[typ]
		field := "handlers." + typ
		if err := prepareChecked(ctx, conn.Conn, conn.notices, h.stmt, h.sql); err != nil {
			var fe *funcError
			if errors.As(err, &fe) {
				return nil, invalid(field, "%v", fe)
			}
			if isConnErr(err) {
				return nil, err
			}
			return nil, invalid(field, "%s", describe(err))
		}
		nulls := make([]string, len(h.params))
		for i := range nulls {
			nulls[i] = "NULL"
		}
		args := ""
		if len(nulls) > 0 {
			args = "(" + strings.Join(nulls, ", ") + ")"
		}
		var out []byte
		if err := tx.QueryRow(ctx, `EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE `+h.stmt+args).Scan(&out); err != nil {
			if isConnErr(err) {
				return nil, err
			}
			return nil, invalid(field, "%s", describe(err))
		}
		var plans []map[string]any
		if err := json.Unmarshal(out, &plans); err != nil {
			return nil, fmt.Errorf("read the plan of %s: %w", typ, err)
		}
		for _, pl := range plans {
			if rel := outside(pl["Plan"], sb.name); rel != "" {
				return nil, invalid(field, "reaches outside the report's own tables: %s", rel)
			}
		}
		if err := conn.Deallocate(ctx, h.stmt); err != nil {
			return nil, err
		}
	}
	return tables, nil
}

// outside returns the first relation a plan node (or one below it) reads
// or writes that is not one of the report's tables, as schema.name.
func outside(node any, schema string) string {
	m, ok := node.(map[string]any)
	if !ok {
		return ""
	}
	if rel, ok := m["Relation Name"].(string); ok {
		sch, _ := m["Schema"].(string)
		if sch != schema || rel == checkpointTable {
			return sch + "." + rel
		}
	}
	if kids, ok := m["Plans"].([]any); ok {
		for _, k := range kids {
			if r := outside(k, schema); r != "" {
				return r
			}
		}
	}
	return ""
}

// tableInfo is one of a report's tables and the columns of its primary
// key, by which its rows are paged.
type tableInfo struct {
	Name string   `json:"name"`
	Key  []string `json:"key"`
}

// tableKeys looks up the primary key of each table in schema; a table
// without one is an *InvalidError.
func tableKeys(ctx context.Context, tx pgx.Tx, schema string, names []string) ([]tableInfo, error) {
	out := make([]tableInfo, 0, len(names))
	for _, name := range names {
		var key []string
		err := tx.QueryRow(ctx, `SELECT coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relname = $2 AND c.relkind IN ('r', 'p')`, schema, name).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, invalid("table", "table %s was not created in the report's schema", name)
		}
		if err != nil {
			return nil, err
		}
		if len(key) == 0 {
			return nil, invalid("table", "table %s needs a PRIMARY KEY (rows are paged by it)", name)
		}
		out = append(out, tableInfo{Name: name, Key: key})
	}
	return out, nil
}

// setup creates the report's tables and its checkpoint at generation gen,
// replacing whatever the schema held, in one transaction of the report's
// role: readers see the old tables until it commits.
func setup(ctx context.Context, conn reportConn, p *plan, sb sandbox, gen int64) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))`, sb.name)
		if err != nil {
			return err
		}
		old, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, rel := range old {
			if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+rel+` CASCADE`); err != nil {
				return fmt.Errorf("drop %s: %w", rel, err)
			}
		}
		for i, d := range p.ddl {
			if err := execOne(ctx, conn.Conn, d.sql); err != nil {
				return fmt.Errorf("table statement %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE `+sb.ident()+`.`+checkpointTable+` (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  generation bigint NOT NULL,
  position text NOT NULL,
  events_seen bigint NOT NULL,
  events_applied bigint NOT NULL)`); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+sb.ident()+`.`+checkpointTable+` VALUES (true, $1, '', 0, 0)`, gen)
		return err
	})
}

// execOne runs one statement with the extended protocol, which refuses
// several statements in one string.
func execOne(ctx context.Context, conn *pgx.Conn, sql string) error {
	_, err := conn.PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Close()
	return err
}

// isConnErr tells a lost session from an error the server answered.
func isConnErr(err error) bool {
	var pgErr *pgconn.PgError
	return !errors.As(err, &pgErr)
}

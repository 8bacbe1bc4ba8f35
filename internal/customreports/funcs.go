package customreports

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// AllowedFunctions are the functions (of pg_catalog, by name) a report's
// handlers and table definitions may call by name. Operators and casts
// between built-in types are allowed besides (they call the function of a
// pg_catalog operator or cast); every other function is refused when the
// report is created and again whenever its statements are prepared:
// pg_sleep, the advisory locks, query_to_xml and the other *_to_xml
// functions, set_config, current_setting, dblink, large objects, file
// access, pg_terminate_backend and everything else not listed.
var AllowedFunctions = []string{
	// aggregates and window functions
	"count", "sum", "avg", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or", "every",
	"jsonb_agg", "jsonb_object_agg", "json_agg", "json_object_agg", "percentile_cont", "percentile_disc", "mode",
	"stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
	"row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value", "ntile",
	// numbers
	"abs", "ceil", "ceiling", "floor", "round", "trunc", "mod", "power", "sqrt", "exp", "ln", "log",
	"sign", "div", "width_bucket", "num_nulls", "num_nonnulls",
	// text
	"lower", "upper", "length", "char_length", "character_length", "octet_length", "substr", "substring",
	"left", "right", "split_part", "concat", "concat_ws", "replace", "btrim", "ltrim", "rtrim", "initcap",
	"strpos", "position", "starts_with", "md5", "regexp_replace", "regexp_match", "reverse", "translate",
	"to_char", "to_number", "to_date", "to_timestamp",
	// times
	"now", "date_trunc", "date_part", "extract", "age", "make_date", "make_interval", "make_timestamp",
	"make_timestamptz", "justify_days", "justify_hours", "justify_interval", "date_bin", "timezone", "isfinite",
	"statement_timestamp", "transaction_timestamp",
	// JSON
	"jsonb_build_object", "jsonb_build_array", "json_build_object", "json_build_array", "to_jsonb", "to_json",
	"jsonb_array_elements", "jsonb_array_elements_text", "jsonb_array_length", "jsonb_each", "jsonb_each_text",
	"jsonb_object_keys", "jsonb_typeof", "jsonb_extract_path", "jsonb_extract_path_text", "jsonb_set",
	"jsonb_strip_nulls", "jsonb_pretty",
	// arrays and rows
	"array_length", "cardinality", "unnest", "array_append", "array_prepend", "array_remove", "array_position",
	"array_cat", "array_to_string", "string_to_array", "generate_series",
	// ids
	"gen_random_uuid",
}

// funcRef finds the functions a PostgreSQL node tree calls: function
// expressions (calls and casts), operators, aggregates and window
// functions, by OID.
var funcRef = regexp.MustCompile(`:(?:funcid|opfuncid|aggfnoid|winfnoid) (\d+)`)

// calledOIDs adds the function OIDs a node tree calls to set.
func calledOIDs(tree string, set map[uint32]bool) {
	for _, m := range funcRef.FindAllStringSubmatch(tree, -1) {
		if n, err := strconv.ParseUint(m[1], 10, 32); err == nil && n != 0 {
			set[uint32(n)] = true
		}
	}
}

// notices collects the server's node-tree dumps (debug_print_rewritten)
// on a report's session while the engine prepares its statements.
type notices struct {
	mu    sync.Mutex
	on    bool
	trees []string
}

func (n *notices) handle(_ *pgconn.PgConn, nt *pgconn.Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.on && strings.HasPrefix(nt.Message, "rewritten parse tree") {
		n.trees = append(n.trees, nt.Detail)
	}
}

func (n *notices) start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.on, n.trees = true, nil
}

func (n *notices) stop() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.trees
	n.on, n.trees = false, nil
	return out
}

// prepareChecked prepares a handler on the report's session and refuses
// it (a *funcError) when it calls a function a report may not call. It
// reads the functions from the server's own parse tree of the statement
// (after rewriting, so with the columns' defaults filled in), so no
// spelling, quoting or syntax of a call escapes it.
func prepareChecked(ctx context.Context, conn *pgx.Conn, n *notices, name, sql string) error {
	if _, err := conn.Exec(ctx, `SELECT set_config('debug_print_rewritten', 'on', false), set_config('debug_pretty_print', 'off', false), set_config('client_min_messages', 'log', false)`); err != nil {
		return err
	}
	n.start()
	_, err := conn.Prepare(ctx, name, sql)
	trees := n.stop()
	if _, rerr := conn.Exec(ctx, `SELECT set_config('debug_print_rewritten', 'off', false), set_config('client_min_messages', 'notice', false)`); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	if len(trees) == 0 {
		_ = conn.Deallocate(ctx, name)
		return fmt.Errorf("the server did not show the statement's parse tree; cannot check the functions it calls")
	}
	oids := map[uint32]bool{}
	for _, t := range trees {
		calledOIDs(t, oids)
	}
	if err := checkFunctions(ctx, conn, oids); err != nil {
		_ = conn.Deallocate(ctx, name)
		return err
	}
	return nil
}

// checkTableFunctions refuses the functions the report's tables call in
// their defaults, generated columns, CHECK constraints and index
// expressions (which no statement's plan shows).
func checkTableFunctions(ctx context.Context, q querier, schema string) error {
	var tree string
	if err := q.QueryRow(ctx, `SELECT coalesce(string_agg(x, ' '), '') FROM (
  SELECT d.adbin::text AS x FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = $1::regnamespace
  UNION ALL SELECT conbin::text FROM pg_constraint WHERE connamespace = $1::regnamespace AND conbin IS NOT NULL
  UNION ALL SELECT coalesce(i.indexprs::text, '') || ' ' || coalesce(i.indpred::text, '')
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = $1::regnamespace) s`, schema).Scan(&tree); err != nil {
		return fmt.Errorf("read the tables' expressions: %w", err)
	}
	oids := map[uint32]bool{}
	calledOIDs(tree, oids)
	return checkFunctions(ctx, q, oids)
}

// querier is what checkFunctions needs of a session or transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// funcError is a call of a function a report may not call.
type funcError struct{ fns []string }

func (e *funcError) Error() string {
	return fmt.Sprintf("calls %s, which a report may not call (see AllowedFunctions in the documentation of custom reports)", strings.Join(e.fns, ", "))
}

// checkFunctions refuses any of oids that is not a pg_catalog function
// named in AllowedFunctions, nor the function of a pg_catalog operator or
// cast.
func checkFunctions(ctx context.Context, q querier, oids map[uint32]bool) error {
	if len(oids) == 0 {
		return nil
	}
	list := make([]uint32, 0, len(oids))
	for o := range oids {
		list = append(list, o)
	}
	slices.Sort(list)
	var refused []string
	err := q.QueryRow(ctx, `SELECT coalesce(array_agg(coalesce(f.oid::regprocedure::text, u.oid::text) ORDER BY u.oid), '{}')
FROM unnest($1::oid[]) AS u(oid) LEFT JOIN pg_proc f ON f.oid = u.oid
WHERE f.oid IS NULL OR NOT (f.pronamespace = 'pg_catalog'::regnamespace AND (f.proname = ANY($2::text[])
   OR EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprcode = f.oid AND o.oprnamespace = 'pg_catalog'::regnamespace)
   OR EXISTS (SELECT 1 FROM pg_cast c WHERE c.castfunc = f.oid)))`, list, AllowedFunctions).Scan(&refused)
	if err != nil {
		return fmt.Errorf("check the functions called: %w", err)
	}
	if len(refused) > 0 {
		return &funcError{fns: refused}
	}
	return nil
}

package customreports

import (
	"slices"
	"strings"
	"testing"
)

func TestCompileHandler(t *testing.T) {
	cases := []struct {
		in, sql string
		params  []string
		err     string
	}{
		{in: "INSERT INTO t VALUES (:stream_id, :data.a.b::int, :stream_id)", sql: "INSERT INTO t VALUES ($1, $2::int, $1)", params: []string{"stream_id", "data.a.b"}},
		{in: "INSERT INTO t VALUES (':not_a_param', \"col:x\", $$ :no $$, E'\\' :no') -- :no\n", sql: "INSERT INTO t VALUES (':not_a_param', \"col:x\", $$ :no $$, E'\\' :no')", params: nil},
		{in: "update t set a = (:data.amount)::numeric /* :no /* nested */ */ where k = :event_id;", sql: "update t set a = ($1)::numeric /* :no /* nested */ */ where k = $2", params: []string{"data.amount", "event_id"}},
		{in: "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", sql: "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"},
		{in: "INSERT INTO t VALUES (:nope)", err: "unknown parameter :nope"},
		{in: "INSERT INTO t VALUES (:data.)", err: "syntax"},
		{in: "INSERT INTO t VALUES ($1)", err: "positional parameter"},
		{in: "INSERT INTO t VALUES (1); DROP TABLE t", err: "one statement"},
		{in: "DROP TABLE t", err: "not DROP"},
		{in: "SELECT 1", err: "not SELECT"},
		{in: "  ", err: "empty"},
		{in: "INSERT INTO t VALUES ('unterminated)", err: "unterminated"},
		{in: "UPDATE crm_checkpoint SET position = ''", err: "engine's table"},
		{in: `UPDATE "CRM_CHECKPOINT" SET position = ''`, err: "engine's table"},
	}
	for _, c := range cases {
		got, err := compileHandler(c.in)
		if c.err != "" {
			if c.err == "syntax" {
				// The server refuses it when the handler is prepared.
				if err == nil && strings.Contains(got.sql, "$1.") {
					continue
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got.sql != c.sql || !slices.Equal(got.params, c.params) {
			t.Errorf("%q:\n got %q %v %v\nwant %q %v", c.in, got.sql, got.params, err, c.sql, c.params)
		}
	}
}

func TestCheckDDL(t *testing.T) {
	ok := []string{
		"CREATE TABLE a (k text PRIMARY KEY, n numeric(10,2) DEFAULT 0.5); CREATE INDEX ON a (n); create unique index a_n on a (n);",
		"CREATE UNLOGGED TABLE IF NOT EXISTS \"A b\" (k int PRIMARY KEY, CHECK (k > 0))",
	}
	for _, s := range ok {
		if _, err := checkDDL(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := map[string]string{
		"":                                                               "no CREATE TABLE",
		"CREATE INDEX ON a (k)":                                          "no CREATE TABLE",
		"CREATE TABLE a AS SELECT 1":                                     "must list its columns",
		"CREATE TABLE a (k int) AS SELECT 1":                             "AS is not allowed",
		"CREATE TABLE a (LIKE b)":                                        "LIKE",
		"CREATE TABLE a (k int) INHERITS (b)":                            "INHERITS",
		"CREATE TABLE a PARTITION OF b FOR VALUES":                       "PARTITION",
		"CREATE TABLE s.a (k int)":                                       "without a schema",
		"CREATE TABLE a (k int); DROP TABLE b":                           "only CREATE TABLE and CREATE INDEX",
		"CREATE VIEW v AS SELECT 1":                                      "only CREATE TABLE and CREATE INDEX",
		"CREATE TABLE crm_x (k int)":                                     "reserved",
		"CREATE TABLE a (k int DEFAULT :stream_id)":                      "parameters",
		"CREATE TABLE a (k int); CREATE INDEX CONCURRENTLY ON a (k)":     "CONCURRENTLY",
		"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql": "only CREATE TABLE",
	}
	for s, want := range bad {
		if _, err := checkDDL(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", s, err, want)
		}
	}
}

// FuzzSQL: no input makes the checks panic, and a compiled handler names
// no parameter the server would see as a colon.
func FuzzSQL(f *testing.F) {
	for _, s := range []string{"INSERT INTO t VALUES (:stream_id)", "CREATE TABLE a (k int PRIMARY KEY)", "$a$ :x $a$", "/* /* */", "E'\\'", `"a""b"`, ":data.a.b::int", "x[1:2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = checkDDL(s)
		c, err := compileHandler(s)
		if err != nil {
			return
		}
		toks, err := lex(c.sql)
		if err != nil {
			t.Fatalf("compiled %q to %q, which does not lex: %v", s, c.sql, err)
		}
		for _, tk := range toks {
			if tk.kind == tokParam {
				t.Fatalf("compiled %q to %q, which still has :%s", s, c.sql, tk.text)
			}
		}
	})
}

package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/commands"
	"crm/internal/app"
	"crm/internal/customreports"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// asUser returns the connection string u logged in as role.
func asUser(t *testing.T, u, role string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		return u + " user=" + role
	}
	parsed.User = url.User(role)
	return parsed.String()
}

// inDatabase returns the connection string u for database db.
func inDatabase(u, db string) string {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		return u + " dbname=" + db
	}
	parsed.Path = "/" + db
	return parsed.String()
}

// script reads a shipped SQL script with the role names replaced by
// names unique to this run (roles are server-wide).
func script(t *testing.T, file string, names map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/sql/" + file)
	if err != nil {
		t.Fatal(err)
	}
	out := string(raw)
	for from, to := range names {
		out = regexp.MustCompile(`\b`+from+`\b`).ReplaceAllString(out, to)
	}
	return out
}

// TestAppRoleCannotRewriteHistory sets up the documented separate owner
// (docs/sql/roles.sql, the migrations as the owner, docs/sql/grants.sql)
// and connects as the engine's role: every way of rewriting the log or
// gaining a privilege fails, while commands, sealing, verification and
// analysts' reports work.
func TestAppRoleCannotRewriteHistory(t *testing.T) {
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	sfx := hex.EncodeToString(b[:])
	names := map[string]string{"crm_owner": "crm_owner_" + sfx, "crm_app": "crm_app_" + sfx, "crm_report_admin": "crm_report_admin_" + sfx}
	owner, appRole, admin := names["crm_owner"], names["crm_app"], names["crm_report_admin"]

	// Registered first, so it runs after the database is dropped.
	var super string
	t.Cleanup(func() {
		if super == "" {
			return
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, inDatabase(super, "postgres"))
		if err != nil {
			t.Errorf("connect to drop the roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, r := range []string{appRole, owner, admin} {
			if _, err := conn.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{r}.Sanitize()); err != nil {
				t.Errorf("drop role %s: %v", r, err)
			}
		}
	})
	super = testdb.NewDatabase(t)
	adminPool, err := pgxpool.New(ctx, super)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adminPool.Close)
	var dbName string
	if err := adminPool.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	// A report role left by a failed run is dropped before the database.
	t.Cleanup(func() {
		rows, err := adminPool.Query(context.Background(), `SELECT name FROM crm_roles.report_roles`)
		if err != nil {
			return
		}
		left, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, r := range left {
			_, _ = adminPool.Exec(context.Background(), `DROP ROLE IF EXISTS `+pgx.Identifier{r}.Sanitize())
		}
	})
	if _, err := adminPool.Exec(ctx, script(t, "roles.sql", names)); err != nil {
		t.Fatalf("roles.sql: %v", err)
	}
	ownerPool, err := pgxpool.New(ctx, asUser(t, super, owner))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(ctx, ownerPool); err != nil {
		t.Fatalf("migrations as the owner: %v", err)
	}
	ownerPool.Close()
	if _, err := adminPool.Exec(ctx, script(t, "grants.sql", names)); err != nil {
		t.Fatalf("grants.sql: %v", err)
	}
	// Test databases allow supplied recorded times; production ones do not.
	if _, err := adminPool.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbName}.Sanitize()+` RESET crm.supplied_recorded_at`); err != nil {
		t.Fatal(err)
	}

	appURL := asUser(t, super, appRole)
	a, err := app.Build(ctx, app.Config{
		Database:  app.DatabaseConfig{URL: appURL},
		MasterKey: app.StaticKey([]byte("a master key of thirty-two bytes or more")),
		SealKey:   app.StaticKey([]byte("a seal key of thirty-two bytes or more!!")),
		Commands:  true,
		Reports:   &customreports.Options{},
	})
	if err != nil {
		t.Fatalf("the engine as %s: %v", appRole, err)
	}
	defer a.Close()
	var who string
	if err := a.DB.Pool.QueryRow(ctx, `SELECT current_user`).Scan(&who); err != nil || who != appRole {
		t.Fatalf("connected as %q (%v), want %s", who, err, appRole)
	}

	// Commands append through crm_append.
	capture := &commands.CaptureLead{Envelope: commands.Envelope{Metadata: commands.Metadata{Actor: "key:test"}},
		CaptureLead: aggregates.CaptureLead{Name: "Ada", Company: "Acme", Email: "ada@example.com", Source: "web"}}
	if err := a.Commands.CaptureLead(ctx, capture); err != nil {
		t.Fatalf("capture a lead as the engine's role: %v", err)
	}
	if err := a.Commands.QualifyLead(ctx, &commands.QualifyLead{Envelope: commands.Envelope{Metadata: commands.Metadata{Actor: "key:test"}},
		LeadID: capture.Result.ID}); err != nil {
		t.Fatalf("qualify the lead: %v", err)
	}

	var eventID string
	if err := a.DB.Pool.QueryRow(ctx, `SELECT event_id::text FROM crm_events LIMIT 1`).Scan(&eventID); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER TABLE crm_events DISABLE TRIGGER crm_events_no_update_delete`,
		`ALTER TABLE crm_events DISABLE TRIGGER ALL`,
		`DROP TRIGGER crm_events_no_update_delete ON crm_events`,
		`CREATE OR REPLACE FUNCTION crm_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$`,
		`UPDATE crm_events SET actor = 'key:nobody'`,
		`DELETE FROM crm_events`,
		`TRUNCATE crm_events`,
		`INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, recorded_at)
			VALUES (gen_random_uuid(), 'backdated', 1, 'thing.happened.v1', 1, '{}', 'key:test', now() - interval '1 day')`,
		`INSERT INTO crm_streams VALUES ('backdated', 1)`,
		`UPDATE crm_streams SET version = 0`,
		`UPDATE crm_seals SET event_count = 0`,
		`DELETE FROM crm_seals`,
		`TRUNCATE crm_seals`,
		`ALTER TABLE crm_seals DISABLE TRIGGER ALL`,
		`GRANT ` + owner + ` TO ` + appRole,
		`GRANT ` + admin + ` TO ` + appRole,
		`SET ROLE ` + owner,
		`ALTER ROLE ` + appRole + ` CREATEROLE`,
		`ALTER ROLE ` + appRole + ` SUPERUSER`,
		`CREATE ROLE crm_intruder_` + sfx,
		`ALTER DATABASE ` + pgx.Identifier{dbName}.Sanitize() + ` SET crm.supplied_recorded_at = on`,
		`SELECT crm_roles.create_report_role('` + owner + `x', '0123456789abcdef0123456789abcdef')`,
		`SELECT crm_roles.drop_report_role('` + owner + `')`,
		`INSERT INTO crm_roles.report_roles VALUES ('` + owner + `')`,
		`ALTER FUNCTION crm_append(text[], bigint[], int[], int[], uuid[], text[], int[], jsonb[], text[], text[], text[], text[], timestamptz) SECURITY INVOKER`,
	} {
		if _, err := a.DB.Pool.Exec(ctx, stmt); err == nil {
			t.Errorf("as %s: %s succeeded", appRole, stmt)
		}
	}

	// A GRANT without the grant option only warns: check what it left.
	_, _ = a.DB.Pool.Exec(ctx, `GRANT ALL ON crm_events, crm_seals, crm_streams TO `+appRole)
	var writable string
	if err := a.DB.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(t || ' ' || p, ', '), '') FROM unnest(ARRAY['crm_events', 'crm_streams', 'crm_seals']) t,
		unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES']) p
		WHERE has_table_privilege(current_user, t, p) AND NOT (t = 'crm_seals' AND p = 'INSERT')`).Scan(&writable); err != nil {
		t.Fatal(err)
	}
	if writable != "" {
		t.Errorf("the engine's role holds %s", writable)
	}

	// crm_append itself with a back-dated time: the server's clock wins.
	var at time.Time
	if err := a.DB.Pool.QueryRow(ctx, `SELECT out_recorded_at FROM crm_append(ARRAY['backdated'], ARRAY[0::bigint], ARRAY[1], ARRAY[1],
		ARRAY[gen_random_uuid()], ARRAY['thing.happened.v1'], ARRAY[1], ARRAY['{}'::jsonb], ARRAY['key:test'], ARRAY[''], ARRAY[''], ARRAY[''],
		now() - interval '1 day')`).Scan(&at); err != nil {
		t.Fatalf("crm_append as the engine's role: %v", err)
	}
	if time.Since(at) > time.Hour {
		t.Errorf("crm_append kept the supplied recorded time %s", at)
	}

	// Sealing and verification work as the engine's role.
	for deadline := time.Now().Add(time.Minute); ; {
		if _, _, err := a.Integrity.Seal(ctx); err != nil {
			t.Fatalf("seal as the engine's role: %v", err)
		}
		s, _, err := a.Integrity.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.EventCount == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rep, err := a.Integrity.Verify(ctx); err != nil || !rep.OK || rep.SealsChecked == 0 {
		t.Errorf("verify: %+v %v", rep, err)
	}

	// An analysts' report gets its role through the narrow function.
	def, err := os.ReadFile("../customreports/examples/stage_velocity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := customreports.ParseYAML(def)
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.Reports.Create(ctx, d, "key:test")
	if err != nil {
		t.Fatalf("create a report as the engine's role: %v", err)
	}
	var role string
	var super2, createRole bool
	if err := adminPool.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolcreaterole FROM crm_roles.report_roles c
		JOIN pg_roles r ON r.rolname = c.name`).Scan(&role, &super2, &createRole); err != nil {
		t.Fatalf("the report's role: %v", err)
	}
	if !strings.HasPrefix(role, "crm_rpt_stage_velocity_") || super2 || createRole {
		t.Errorf("report role %s (superuser %v, createrole %v)", role, super2, createRole)
	}
	if err := a.Reports.Drop(ctx, st.Name); err != nil {
		t.Fatalf("drop the report: %v", err)
	}
	var left int
	if err := adminPool.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, role).Scan(&left); err != nil || left != 0 {
		t.Errorf("report role %s left after the drop (%d, %v)", role, left, err)
	}
}

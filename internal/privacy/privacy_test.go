package privacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/internal/pgmigrate"
	"crm/internal/privacy"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

const masterKey = "privacy-test-master-key-0123456789abcdef"

func setup(t *testing.T) (*pgxpool.Pool, *privacy.Vault) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgmigrate.Migrate(ctx, pool, privacy.Migrations); err != nil {
		t.Fatal(err)
	}
	v, err := privacy.New(pool, []byte(masterKey))
	if err != nil {
		t.Fatal(err)
	}
	return pool, v
}

// seal seals one event's data and stores its subject in a transaction of
// its own, sealing again when told the subject changed, and returns the
// event as stored.
func seal(t *testing.T, pool *pgxpool.Pool, v *privacy.Vault, typ, data, streamEmail string) eventstore.Event {
	t.Helper()
	e, err := trySeal(pool, v, typ, data, streamEmail)
	if errors.Is(err, privacy.ErrSubjectChanged) {
		e, err = trySeal(pool, v, typ, data, streamEmail)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func trySeal(pool *pgxpool.Pool, v *privacy.Vault, typ, data, streamEmail string) (eventstore.Event, error) {
	ctx := context.Background()
	evs := []eventstore.EventData{{Type: typ, SchemaVersion: 1, Data: json.RawMessage(data)}}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return eventstore.Event{}, err
	}
	defer tx.Rollback(ctx)
	sealed, err := v.Seal(ctx, tx, []privacy.Stream{{Events: evs, Email: streamEmail}})
	if err != nil {
		return eventstore.Event{}, err
	}
	if err := v.Store(ctx, tx, sealed); err != nil {
		return eventstore.Event{}, err
	}
	return eventstore.Event{ID: evs[0].ID, Type: typ, Data: evs[0].Data}, tx.Commit(ctx)
}

func field(t *testing.T, data json.RawMessage, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[name].(string)
	return s
}

// TestSealRevealErase: personal fields leave Seal encrypted (no plaintext
// in the stored bytes), other fields untouched; Reveal gives them back
// while the key exists and "[erased]" once it is shredded; notes follow the
// stream's person; blank values stay plain.
func TestSealRevealErase(t *testing.T) {
	ctx := context.Background()
	pool, v := setup(t)
	leadID := uuid.NewString()
	captured := seal(t, pool, v, "lead.captured.v1", `{"lead_id":"`+leadID+`","name":"Grace Hopper","company":"Navy","email":"grace@example.com","phone":"+1 555 0100","source":"web"}`, "")
	note := seal(t, pool, v, "lead.contact_attempted.v1", `{"lead_id":"`+leadID+`","channel":"call","outcome":"reached","note":"prefers mornings","attempt_number":1}`, "Grace@Example.com")
	blank := seal(t, pool, v, "lead.qualified.v1", `{"lead_id":"`+leadID+`","note":"   ","previous_status":"contacted"}`, "grace@example.com")
	other := seal(t, pool, v, "lead.assigned.v1", `{"lead_id":"`+leadID+`","owner_id":"u1"}`, "grace@example.com")
	for _, secret := range []string{"Grace Hopper", "grace@example.com", "555 0100", "prefers mornings"} {
		for _, e := range []eventstore.Event{captured, note} {
			if bytes.Contains(e.Data, []byte(secret)) {
				t.Errorf("sealed %s holds %q: %s", e.Type, secret, e.Data)
			}
		}
	}
	if field(t, captured.Data, "company") != "Navy" || field(t, blank.Data, "note") != "   " || string(other.Data) != `{"lead_id":"`+leadID+`","owner_id":"u1"}` {
		t.Errorf("non-personal or blank values changed: %s %s %s", captured.Data, blank.Data, other.Data)
	}
	if !strings.HasPrefix(field(t, captured.Data, "email"), "enc:v1:") {
		t.Fatalf("email not in an envelope: %s", captured.Data)
	}

	// A second vault (another process) with the same master key reads it.
	v2, err := privacy.New(pool, []byte(masterKey))
	if err != nil {
		t.Fatal(err)
	}
	evs := []eventstore.Event{captured, note, blank}
	subjects, err := v2.Reveal(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 1 || field(t, evs[0].Data, "name") != "Grace Hopper" || field(t, evs[0].Data, "email") != "grace@example.com" ||
		field(t, evs[0].Data, "phone") != "+1 555 0100" || field(t, evs[1].Data, "note") != "prefers mornings" {
		t.Fatalf("revealed: %v %s %s", subjects, evs[0].Data, evs[1].Data)
	}

	// A value moved to another field (or event) does not decrypt.
	var m map[string]json.RawMessage
	_ = json.Unmarshal(captured.Data, &m)
	m["name"] = m["phone"]
	swapped, _ := json.Marshal(m)
	if _, err := v2.Reveal(ctx, []eventstore.Event{{ID: captured.ID, Type: captured.Type, Data: swapped}}); err == nil {
		t.Error("a ciphertext moved to another field decrypted")
	}

	id, entities, ok, err := v.Subject(ctx, " GRACE@example.com ")
	if err != nil || !ok || id != subjects[0] || len(entities) != 1 || entities[0] != (privacy.Entity{EntityType: "lead", EntityID: leadID}) {
		t.Fatalf("subject: %s %v %v %v", id, entities, ok, err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Shred(ctx, tx, id, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	v.Forget(id)
	for name, vault := range map[string]*privacy.Vault{"erasing process": v, "fresh process": mustVault(t, pool)} {
		evs := []eventstore.Event{captured, note}
		if _, err := vault.Reveal(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"name", "email", "phone"} {
			if got := field(t, evs[0].Data, f); got != privacy.Erased {
				t.Errorf("%s: %s after erasure = %q", name, f, got)
			}
		}
		if got := field(t, evs[0].Data, "company"); got != "Navy" {
			t.Errorf("%s: company after erasure = %q", name, got)
		}
		if got := field(t, evs[1].Data, "note"); got != privacy.Erased {
			t.Errorf("%s: note after erasure = %q", name, got)
		}
		if erased, err := vault.AnyErased(ctx, []string{id}); err != nil || !erased {
			t.Errorf("%s: AnyErased = %v, %v", name, erased, err)
		}
	}
	if _, _, ok, _ := v.Subject(ctx, "grace@example.com"); ok {
		t.Error("the erased subject is still found by email")
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_privacy_entities`).Scan(&n); err != nil || n != 0 {
		t.Errorf("entities left after erasure: %d %v", n, err)
	}
	// A note on a lead whose person was erased is not kept.
	late := seal(t, pool, v, "lead.qualified.v1", `{"lead_id":"`+leadID+`","note":"call her mother","previous_status":"contacted"}`, privacy.Erased)
	if got := field(t, late.Data, "note"); got != privacy.Erased {
		t.Errorf("a note on an erased person was stored as %q", got)
	}
	// The same email afterwards is a new subject with a new key.
	again := seal(t, pool, v, "lead.captured.v1", `{"lead_id":"`+uuid.NewString()+`","name":"Grace","company":"Navy","email":"grace@example.com","source":"web"}`, "")
	evs = []eventstore.Event{again}
	if subjects, err := v.Reveal(ctx, evs); err != nil || len(subjects) != 1 || subjects[0] == id || field(t, evs[0].Data, "name") != "Grace" {
		t.Errorf("new subject after erasure: %v %v %s", subjects, err, evs[0].Data)
	}
}

func mustVault(t *testing.T, pool *pgxpool.Pool) *privacy.Vault {
	t.Helper()
	v, err := privacy.New(pool, []byte(masterKey))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWrongMasterKey: another master key cannot read the data, and says
// so instead of showing anything.
func TestWrongMasterKey(t *testing.T) {
	pool, v := setup(t)
	e := seal(t, pool, v, "account.contact_added.v1", `{"account_id":"a","contact_id":"c","name":"Ada","email":"ada@example.com"}`, "")
	other, err := privacy.New(pool, []byte("another-master-key-0123456789abcdef!"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Reveal(context.Background(), []eventstore.Event{e}); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("reveal under another master key: %v", err)
	}
	if _, err := privacy.New(pool, []byte("short")); err == nil {
		t.Error("a short master key was accepted")
	}
}

// TestConcurrentFirstUse: many transactions creating the same subject at
// once end with one subject whose key reads every value.
func TestConcurrentFirstUse(t *testing.T) {
	ctx := context.Background()
	pool, v := setup(t)
	const n = 16
	out := make([]eventstore.Event, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vault := mustVault(t, pool)
			out[i] = seal(t, pool, vault, "account.contact_added.v1", `{"account_id":"a","contact_id":"`+uuid.NewString()+`","name":"Lin","email":"lin@example.com"}`, "")
		}()
	}
	wg.Wait()
	subjects, err := v.Reveal(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 1 {
		t.Errorf("%d subjects for one email", len(subjects))
	}
	for _, e := range out {
		if field(t, e.Data, "name") != "Lin" {
			t.Errorf("not revealed: %s", e.Data)
		}
	}
	if _, entities, _, err := v.Subject(ctx, "lin@example.com"); err != nil || len(entities) != n {
		t.Errorf("entities: %d, %v", len(entities), err)
	}
}

// TestSubjectChanged: a process that does not know an email's subject
// seals under a new one; storing it finds the existing subject, says so
// and learns it, and sealing again uses it. A process still caching an
// erased subject is told too, and then creates a new one.
func TestSubjectChanged(t *testing.T) {
	ctx := context.Background()
	pool, a := setup(t)
	b := mustVault(t, pool)
	data := func() string {
		return `{"account_id":"a","contact_id":"` + uuid.NewString() + `","name":"Mo","email":"mo@example.com"}`
	}
	first := seal(t, pool, a, "account.contact_added.v1", data(), "")
	if _, err := trySeal(pool, b, "account.contact_added.v1", data(), ""); !errors.Is(err, privacy.ErrSubjectChanged) {
		t.Fatalf("second process, new subject for a known email: %v", err)
	}
	second, err := trySeal(pool, b, "account.contact_added.v1", data(), "")
	if err != nil {
		t.Fatal(err)
	}
	evs := []eventstore.Event{first, second}
	subjects, err := a.Reveal(ctx, evs)
	if err != nil || len(subjects) != 1 {
		t.Fatalf("subjects %v, %v", subjects, err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Shred(ctx, tx, subjects[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// b still caches the erased subject.
	if _, err := trySeal(pool, b, "account.contact_added.v1", data(), ""); !errors.Is(err, privacy.ErrSubjectChanged) {
		t.Fatalf("sealing under an erased subject: %v", err)
	}
	third, err := trySeal(pool, b, "account.contact_added.v1", data(), "")
	if err != nil {
		t.Fatal(err)
	}
	evs = []eventstore.Event{third}
	if got, err := b.Reveal(ctx, evs); err != nil || len(got) != 1 || got[0] == subjects[0] || field(t, evs[0].Data, "name") != "Mo" {
		t.Errorf("after erasure: %v %v %s", got, err, evs[0].Data)
	}
}

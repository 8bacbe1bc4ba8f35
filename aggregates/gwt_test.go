package aggregates

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// t0 is the fixed "now" of the Given/When/Then tests.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// applier is any aggregate.
type applier interface{ Apply(Event) }

// given folds history into a.
func given[A applier](a A, history ...Event) A {
	for _, e := range history {
		a.Apply(e)
	}
	return a
}

// then checks a command's outcome: either exactly want, or an *Error with
// the given code (and field, for Invalid errors).
type outcome struct {
	events []Event
	code   string
	field  string
}

func expectEvents(events ...Event) outcome { return outcome{events: events} }
func expectRefused(code string) outcome    { return outcome{code: code} }
func expectInvalid(field string) outcome   { return outcome{code: "invalid", field: field} }
func expectNotFound() outcome              { return outcome{code: "not_found"} }

func check(t *testing.T, got []Event, err error, want outcome) {
	t.Helper()
	if want.code != "" {
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("want error %s, got events %#v, err %v", want.code, got, err)
		}
		if de.Code != want.code || (want.field != "" && de.Field != want.field) {
			t.Fatalf("want error %s (field %q), got %s (field %q): %v", want.code, want.field, de.Code, de.Field, de)
		}
		if got != nil {
			t.Fatalf("an error came with events %#v", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if len(got) == 0 && len(want.events) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want.events) {
		t.Fatalf("events\n got %#v\nwant %#v", got, want.events)
	}
}

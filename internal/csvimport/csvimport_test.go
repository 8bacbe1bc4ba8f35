package csvimport

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	file := "\ufeffFull name,E-mail,Ignored\n" +
		"\"Zhang, Wei\",zhang@example.cn,x\n" +
		"\n" +
		"\"Multi\nline\",m@example.com,y\n" +
		"Short\n"
	rows, err := Parse(strings.NewReader(file), "leads", map[string]string{"Full name": "name", "E-mail": "email"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	if r := rows[0]; r.Row != 2 || r.Values["name"].Value != "Zhang, Wei" || r.Values["email"].Column != "E-mail" {
		t.Errorf("first row: %+v", r)
	}
	if _, ok := rows[0].Values["Ignored"]; ok {
		t.Error("an unmapped column was read")
	}
	if r := rows[1]; r.Values["name"].Value != "Multi\nline" {
		t.Errorf("multi-line cell: %+v", r)
	}
	if r := rows[2]; r.Values["email"].Value != "" || r.Values["name"].Value != "Short" {
		t.Errorf("short row: %+v", r)
	}
	// Without a mapping, headers named like fields map to themselves.
	rows, err = Parse(strings.NewReader("name,email,colour\nA,a@b.co,red\n"), "leads", nil)
	if err != nil || len(rows) != 1 || rows[0].Values["email"].Value != "a@b.co" || len(rows[0].Values) != 2 {
		t.Errorf("default mapping: %+v %v", rows, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct {
		name, kind, file string
		mapping          map[string]string
		field            string
		row              int
	}{
		{"an unknown kind", "deals", "a\n", nil, "kind", 0},
		{"an empty file", "leads", "", nil, "csv", 0},
		{"not UTF-8", "leads", "name\n\xff\n", nil, "csv", 0},
		{"a NUL", "leads", "name\na\x00\n", nil, "csv", 0},
		{"an unclosed quote", "leads", "name\nok\n\"open\n", nil, "csv", 3},
		{"a header twice", "leads", "name,name\n", nil, "csv", 1},
		{"a mapping to no field", "leads", "a\n", map[string]string{"a": "salary"}, "mapping.a", 0},
		{"a mapping of no column", "leads", "a\n", map[string]string{"b": "name"}, "mapping.b", 0},
		{"two columns to one field", "leads", "a,b\n", map[string]string{"a": "email", "b": "email"}, "mapping.b", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.file), c.kind, c.mapping)
			var e *Error
			if !errors.As(err, &e) || e.Field != c.field || e.Row != c.row || e.ErrorKind() != "invalid" {
				t.Fatalf("err %#v, want field %s row %d", err, c.field, c.row)
			}
		})
	}
}

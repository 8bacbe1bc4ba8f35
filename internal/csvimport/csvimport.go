package csvimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"crm/commands"
)

// MaxRows is the most data rows one file may hold.
const MaxRows = 1_000_000

// Error is a file or mapping that cannot be read: it names the request
// field (csv, mapping.<column>), the row and the column when there are
// any. Its kind is "invalid".
type Error struct {
	Field, Column, Message string
	Row                    int
}

func (e *Error) Error() string {
	if e.Row > 0 {
		return fmt.Sprintf("%s: row %d: %s", e.Field, e.Row, e.Message)
	}
	return e.Field + ": " + e.Message
}

// ErrorKind is "invalid".
func (e *Error) ErrorKind() string { return "invalid" }

// ErrorField names the field and what is wrong.
func (e *Error) ErrorField() (name, message string) {
	if e.Row > 0 {
		return e.Field, fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return e.Field, e.Message
}

// Parse reads a CSV file (UTF-8, an optional byte-order mark, comma
// separated, a header row) and returns its data rows mapped to the
// fields of kind. mapping maps a header to a field; a nil mapping maps
// every header that is a field name to itself. Headers that are not
// mapped are ignored. Rows are numbered as a spreadsheet shows them: the
// header is row 1.
func Parse(r io.Reader, kind string, mapping map[string]string) ([]commands.ImportRow, error) {
	fields, ok := commands.ImportFields[kind]
	if !ok {
		return nil, &Error{Field: "kind", Message: "must be one of " + strings.Join(commands.ImportKinds, ", ")}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &Error{Field: "csv", Message: "is not UTF-8 text; save the file as CSV UTF-8"}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Error{Field: "csv", Message: "contains a NUL character"}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{Field: "csv", Message: "is empty; the first row must name the columns"}
	}
	if err != nil {
		return nil, parseError(err)
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := index[h]; dup && h != "" {
			return nil, &Error{Field: "csv", Row: 1, Column: h, Message: fmt.Sprintf("column %q appears twice in the header", h)}
		}
		index[h] = i
	}
	if mapping == nil {
		mapping = map[string]string{}
		for _, h := range header {
			if h = strings.TrimSpace(h); slices.Contains(fields, h) {
				mapping[h] = h
			}
		}
	}
	cols := make([]string, 0, len(mapping))
	for c := range mapping {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	used := map[string]string{}
	for _, c := range cols {
		f := mapping[c]
		if !slices.Contains(fields, f) {
			return nil, &Error{Field: "mapping." + c, Column: c, Message: "maps to " + fmt.Sprintf("%q", f) + ", not a field of " + kind + " (" + strings.Join(fields, ", ") + ")"}
		}
		if _, ok := index[c]; !ok {
			return nil, &Error{Field: "mapping." + c, Column: c, Message: "is not a column of the file's header"}
		}
		if other, ok := used[f]; ok {
			return nil, &Error{Field: "mapping." + c, Column: c, Message: "maps to " + f + ", which column " + fmt.Sprintf("%q", other) + " fills already"}
		}
		used[f] = c
	}
	var rows []commands.ImportRow
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseError(err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rows) == MaxRows {
			return nil, &Error{Field: "csv", Message: fmt.Sprintf("holds more than %d rows", MaxRows)}
		}
		row := commands.ImportRow{Row: n, Values: make(map[string]commands.Cell, len(used))}
		for f, c := range used {
			v := ""
			if i := index[c]; i < len(rec) {
				v = rec[i]
			}
			row.Values[f] = commands.Cell{Column: c, Value: v}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// parseError names the row of a malformed CSV record.
func parseError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{Field: "csv", Row: pe.StartLine, Message: pe.Err.Error()}
	}
	return &Error{Field: "csv", Message: err.Error()}
}

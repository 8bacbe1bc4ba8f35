package readmodels

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// SortValues lists the values ?sort= takes for keys: each key and its
// descending "-key".
func SortValues(keys []string) []string {
	out := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, "-"+k)
	}
	return out
}

// sortNames are the names of keys, in order.
func sortNames[T any](keys []sortKey[T]) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// sortKey is one order of a list: the SQL expression it orders by, the
// SQL type its cursor value is cast to, and the row's value as that text.
type sortKey[T any] struct {
	name, expr, typ string
	value           func(T) string
}

// timeKey is a sort key over a timestamptz column.
func timeKey[T any](name, column string, at func(T) time.Time) sortKey[T] {
	return sortKey[T]{name: name, expr: column, typ: "timestamptz",
		value: func(r T) string { return at(r).UTC().Format(time.RFC3339Nano) }}
}

// textKey is a sort key over a text column.
func textKey[T any](name, column string, v func(T) string) sortKey[T] {
	return sortKey[T]{name: name, expr: column, typ: "text", value: v}
}

// ticketPriorityRank orders ticket priorities, the most urgent first.
const ticketPriorityRank = `(CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END)`

// priorityRank is ticketPriorityRank in Go.
func priorityRank(p string) string {
	switch p {
	case "urgent":
		return "0"
	case "high":
		return "1"
	case "normal":
		return "2"
	}
	return "3"
}

// pickSort returns the key named by sort ("" for the first of keys) and
// whether it is descending; an unknown sort is ErrInvalid.
func pickSort[T any](keys []sortKey[T], sort string) (sortKey[T], bool, error) {
	if sort == "" {
		return keys[0], false, nil
	}
	name, desc := strings.CutPrefix(sort, "-")
	for _, k := range keys {
		if k.name == name {
			return k, desc, nil
		}
	}
	return sortKey[T]{}, false, fmt.Errorf("%w: sort must be one of %s, each optionally prefixed with -", ErrInvalid, strings.Join(sortNames(keys), ", "))
}

// listCursor is what a page's cursor holds: the order it belongs to, and
// the sort value and id of the last row.
type listCursor struct {
	Sort  string `json:"s"`
	Value string `json:"v"`
	ID    string `json:"id"`
}

// encodeCursor makes the opaque cursor after the row with value and id in
// the order sort.
func encodeCursor(sort, value, id string) string {
	b, _ := json.Marshal(listCursor{Sort: sort, Value: value, ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrCursor is the error of a malformed list cursor; it wraps ErrInvalid.
var ErrCursor = fmt.Errorf("%w: cursor is malformed; pass next_cursor of an earlier page unchanged", ErrInvalid)

// decodeCursor parses a cursor of encodeCursor made for the order sort.
func decodeCursor(c, sort string) (listCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return listCursor{}, ErrCursor
	}
	var lc listCursor
	if json.Unmarshal(b, &lc) != nil || lc.ID == "" || lc.Sort != sort {
		return listCursor{}, ErrCursor
	}
	for _, s := range []string{lc.Value, lc.ID} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return listCursor{}, ErrCursor
		}
	}
	return lc, nil
}

// encodeTimeCursor is the cursor after the row at (at, id) of a list kept
// in one order by time.
func encodeTimeCursor(at time.Time, id string) string {
	return encodeCursor("created", at.UTC().Format(time.RFC3339Nano), id)
}

// decodeTimeCursor parses a cursor of encodeTimeCursor.
func decodeTimeCursor(c string) (time.Time, string, error) {
	lc, err := decodeCursor(c, "created")
	if err != nil {
		return time.Time{}, "", err
	}
	at, err := time.Parse(time.RFC3339Nano, lc.Value)
	if err != nil {
		return time.Time{}, "", ErrCursor
	}
	return at, lc.ID, nil
}

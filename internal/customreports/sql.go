package customreports

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// tokenKind classifies a lexical token of PostgreSQL SQL.
type tokenKind int

const (
	tokWord   tokenKind = iota // keyword or unquoted identifier (folded to lower case)
	tokQuoted                  // "quoted identifier" (text without quotes)
	tokString                  // string literal of any kind
	tokNumber                  // numeric literal
	tokParam                   // :name parameter (text is the name)
	tokDollar                  // $1 positional parameter
	tokSemi                    // ;
	tokOpen                    // (
	tokClose                   // )
	tokOther                   // operators and other punctuation
)

// token is one token of a statement and where it starts and ends.
type token struct {
	kind       tokenKind
	text       string
	start, end int
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'
}

// lex splits sql into tokens, skipping white space and comments. It knows
// standard strings ('it”s'), escape strings (E'\n'), dollar quoting
// ($tag$...$tag$), quoted identifiers, nested block comments, the cast
// operator :: and named parameters (:name, :data.a.b).
func lex(sql string) ([]token, error) {
	var out []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			depth, j := 0, i
			for j < len(sql) {
				if strings.HasPrefix(sql[j:], "/*") {
					depth++
					j += 2
				} else if strings.HasPrefix(sql[j:], "*/") {
					depth--
					j += 2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			if depth != 0 {
				return nil, errors.New("unterminated /* comment")
			}
			i = j
		case (c == 'E' || c == 'e') && i+1 < len(sql) && sql[i+1] == '\'':
			j, err := scanQuoted(sql, i+1, '\'', true)
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokString, sql[i:j], i, j})
			i = j
		case c == '\'':
			j, err := scanQuoted(sql, i, '\'', false)
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokString, sql[i:j], i, j})
			i = j
		case c == '"':
			j, err := scanQuoted(sql, i, '"', false)
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokQuoted, strings.ReplaceAll(sql[i+1:j-1], `""`, `"`), i, j})
			i = j
		case c == '$':
			j := i + 1
			if j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
					j++
				}
				out = append(out, token{tokDollar, sql[i:j], i, j})
				i = j
				continue
			}
			for j < len(sql) && sql[j] != '$' && isIdentChar(sql[j]) {
				j++
			}
			if j >= len(sql) || sql[j] != '$' {
				return nil, fmt.Errorf("unexpected $ at offset %d", i)
			}
			tag := sql[i : j+1]
			end := strings.Index(sql[j+1:], tag)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %s string", tag)
			}
			k := j + 1 + end + len(tag)
			out = append(out, token{tokString, sql[i:k], i, k})
			i = k
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':':
			out = append(out, token{tokOther, "::", i, i + 2})
			i += 2
		case c == ':' && i+1 < len(sql) && isIdentStart(sql[i+1]):
			j := i + 1
			for {
				for j < len(sql) && isIdentChar(sql[j]) && sql[j] != '$' {
					j++
				}
				if j+1 < len(sql) && sql[j] == '.' && isIdentStart(sql[j+1]) {
					j++
					continue
				}
				break
			}
			out = append(out, token{tokParam, sql[i+1 : j], i, j})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(sql) && isIdentChar(sql[j]) {
				j++
			}
			out = append(out, token{tokWord, strings.ToLower(sql[i:j]), i, j})
			i = j
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9'):
			j := i
			for j < len(sql) && (sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.' || sql[j] == 'e' || sql[j] == 'E' || sql[j] == '_') {
				j++
			}
			out = append(out, token{tokNumber, sql[i:j], i, j})
			i = j
		case c == ';':
			out = append(out, token{tokSemi, ";", i, i + 1})
			i++
		case c == '(':
			out = append(out, token{tokOpen, "(", i, i + 1})
			i++
		case c == ')':
			out = append(out, token{tokClose, ")", i, i + 1})
			i++
		default:
			out = append(out, token{tokOther, string(c), i, i + 1})
			i++
		}
	}
	return out, nil
}

// scanQuoted returns the end (exclusive) of the quoted text starting at
// sql[i] == q; a doubled q is an escaped q, and with backslash so is \q.
func scanQuoted(sql string, i int, q byte, backslash bool) (int, error) {
	for j := i + 1; j < len(sql); j++ {
		switch {
		case backslash && sql[j] == '\\':
			j++
		case sql[j] == q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated %c quote", q)
}

// statements splits sql into its statements (without the semicolons),
// dropping empty ones.
func statements(sql string) ([]string, [][]token, error) {
	toks, err := lex(sql)
	if err != nil {
		return nil, nil, err
	}
	var (
		texts  []string
		groups [][]token
		cur    []token
	)
	flush := func() {
		if len(cur) > 0 {
			texts = append(texts, sql[cur[0].start:cur[len(cur)-1].end])
			base := cur[0].start
			g := make([]token, len(cur))
			for i, t := range cur {
				t.start, t.end = t.start-base, t.end-base
				g[i] = t
			}
			groups = append(groups, g)
		}
		cur = nil
	}
	for _, t := range toks {
		if t.kind == tokSemi {
			flush()
			continue
		}
		cur = append(cur, t)
	}
	flush()
	return texts, groups, nil
}

// Parameter names a handler may use; ":data.<path>" and ":data" are the
// event body.
var fixedParams = map[string]bool{
	"stream_id": true, "version": true, "type": true, "recorded_at": true,
	"actor": true, "correlation_id": true, "causation_id": true, "event_id": true, "position": true,
}

// compiled is a handler rewritten for the server: its named parameters
// replaced by $1..$n, and the names in that order.
type compiled struct {
	sql    string
	params []string
}

// compileHandler checks a handler statement and rewrites its parameters.
// It must be exactly one INSERT, UPDATE, DELETE, MERGE or WITH statement,
// name no positional parameter and only known named ones, and never name
// the checkpoint table.
func compileHandler(sql string) (compiled, error) {
	toks, err := lex(sql)
	if err != nil {
		return compiled{}, err
	}
	for len(toks) > 0 && toks[len(toks)-1].kind == tokSemi {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return compiled{}, errors.New("the statement is empty")
	}
	switch toks[0].text {
	case "insert", "update", "delete", "merge", "with":
	default:
		return compiled{}, fmt.Errorf("a handler must be one INSERT, UPDATE, DELETE, MERGE or WITH statement, not %s", strings.ToUpper(toks[0].text))
	}
	var (
		b     strings.Builder
		names []string
		index = map[string]int{}
		last  = 0
	)
	for _, t := range toks {
		switch t.kind {
		case tokSemi:
			return compiled{}, errors.New("a handler is one statement: remove the ';' in the middle")
		case tokDollar:
			return compiled{}, fmt.Errorf("positional parameter %s: use named parameters such as :stream_id", t.text)
		case tokWord, tokQuoted:
			if strings.EqualFold(t.text, checkpointTable) {
				return compiled{}, fmt.Errorf("%s is the engine's table, not the report's", checkpointTable)
			}
		case tokParam:
			if err := checkParam(t.text); err != nil {
				return compiled{}, err
			}
			n, ok := index[t.text]
			if !ok {
				names = append(names, t.text)
				n = len(names)
				index[t.text] = n
			}
			b.WriteString(sql[last:t.start])
			b.WriteString("$" + strconv.Itoa(n))
			last = t.end
		}
	}
	b.WriteString(sql[last:toks[len(toks)-1].end])
	return compiled{sql: b.String(), params: names}, nil
}

// checkParam refuses a parameter name that is not one of the event's
// fields.
func checkParam(name string) error {
	if fixedParams[name] || name == "data" {
		return nil
	}
	if path, ok := strings.CutPrefix(name, "data."); ok && path != "" {
		for _, p := range strings.Split(path, ".") {
			if p == "" {
				return fmt.Errorf("unknown parameter :%s", name)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown parameter :%s (known: :stream_id, :version, :type, :recorded_at, :actor, :correlation_id, :causation_id, :event_id, :position, :data and :data.<path>)", name)
}

// ddlStatement is one checked statement of a report's DDL.
type ddlStatement struct {
	sql   string
	table string // the table a CREATE TABLE creates ("" for an index)
}

// checkDDL splits a report's DDL and accepts only CREATE TABLE and CREATE
// INDEX statements on unqualified names, without AS (a query), LIKE,
// INHERITS, PARTITION OF or parameters. Names must not start with "crm_".
func checkDDL(sql string) ([]ddlStatement, error) {
	texts, groups, err := statements(sql)
	if err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, errors.New("no CREATE TABLE statement")
	}
	var out []ddlStatement
	tables := 0
	for i, toks := range groups {
		words := func(at int, want ...string) bool {
			for k, w := range want {
				if at+k >= len(toks) || toks[at+k].kind != tokWord || toks[at+k].text != w {
					return false
				}
			}
			return true
		}
		for _, t := range toks {
			switch {
			case t.kind == tokParam || t.kind == tokDollar:
				return nil, fmt.Errorf("statement %d: parameters belong in handlers, not in the tables", i+1)
			case t.kind == tokOther && t.text == ".":
				return nil, fmt.Errorf("statement %d: name tables without a schema (they live in the report's own schema)", i+1)
			case (t.kind == tokWord || t.kind == tokQuoted) && strings.HasPrefix(strings.ToLower(t.text), "crm_"):
				return nil, fmt.Errorf("statement %d: names starting with crm_ are reserved", i+1)
			case t.kind == tokWord && (t.text == "inherits" || t.text == "like" || t.text == "partition" || t.text == "tablespace"):
				return nil, fmt.Errorf("statement %d: %s is not allowed in a report's tables", i+1, strings.ToUpper(t.text))
			}
		}
		at := 1
		if !words(0, "create") {
			return nil, fmt.Errorf("statement %d: only CREATE TABLE and CREATE INDEX are allowed", i+1)
		}
		switch {
		case words(at, "unlogged", "table"), words(at, "table"):
			if words(at, "unlogged") {
				at++
			}
			at++
			if words(at, "if", "not", "exists") {
				at += 3
			}
			if at >= len(toks) || (toks[at].kind != tokWord && toks[at].kind != tokQuoted) {
				return nil, fmt.Errorf("statement %d: CREATE TABLE needs a table name", i+1)
			}
			name := toks[at].text
			if at+1 >= len(toks) || toks[at+1].kind != tokOpen {
				return nil, fmt.Errorf("statement %d: CREATE TABLE %s must list its columns (CREATE TABLE ... AS and OF are not allowed)", i+1, name)
			}
			depth := 0
			for _, t := range toks[at+1:] {
				switch {
				case t.kind == tokOpen:
					depth++
				case t.kind == tokClose:
					depth--
				case depth == 0 && t.kind == tokWord && (t.text == "as" || t.text == "select" || t.text == "execute"):
					return nil, fmt.Errorf("statement %d: CREATE TABLE ... AS is not allowed; declare the columns and fill them from handlers", i+1)
				}
			}
			out = append(out, ddlStatement{sql: texts[i], table: name})
			tables++
		case words(at, "unique", "index"), words(at, "index"):
			if words(at, "index", "concurrently") || words(at, "unique", "index", "concurrently") {
				return nil, fmt.Errorf("statement %d: CREATE INDEX CONCURRENTLY is not allowed", i+1)
			}
			out = append(out, ddlStatement{sql: texts[i]})
		default:
			return nil, fmt.Errorf("statement %d: only CREATE TABLE and CREATE INDEX are allowed", i+1)
		}
	}
	if tables == 0 {
		return nil, errors.New("no CREATE TABLE statement")
	}
	return out, nil
}

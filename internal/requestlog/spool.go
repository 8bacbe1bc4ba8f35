package requestlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// spoolFile is the spool's file name inside Options.SpoolDir.
const spoolFile = "request-audit.spool"

// spooled is one line of the spool: an entry and the id it is written
// under, once and only once.
type spooled struct {
	SpoolID uuid.UUID `json:"spool_id"`
	Entry
}

// refusedRow reports whether err is the database refusing a row's data
// (a data exception or an integrity violation) rather than the database
// being unreachable or failing.
func refusedRow(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	class := pgErr.Code[:2]
	return class == "22" || class == "23"
}

// spool appends batch to the spool file and syncs it to disk.
func (l *Log) spool(batch []Entry) error {
	if err := os.MkdirAll(l.opts.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("request audit spool: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range batch {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("request audit spool: %w", err)
		}
		if err := enc.Encode(spooled{SpoolID: id, Entry: e}); err != nil {
			return fmt.Errorf("request audit spool: %w", err)
		}
	}
	path := filepath.Join(l.opts.SpoolDir, spoolFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("request audit spool: %w", err)
	}
	_, werr := f.Write(buf.Bytes())
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("request audit spool %s: %w", path, err)
	}
	if d, err := os.Open(l.opts.SpoolDir); err == nil {
		_ = d.Sync() // the file's directory entry, on its first write
		_ = d.Close()
	}
	return nil
}

// replay writes the spooled entries to the database, in the order they
// were spooled, and then empties the spool. An entry written before (a
// replay cut short) is not written again. It reports how many entries
// the spool held; nothing happens without SpoolDir or spool.
func (l *Log) replay(ctx context.Context) (int, error) {
	if l.opts.SpoolDir == "" {
		return 0, nil
	}
	path := filepath.Join(l.opts.SpoolDir, spoolFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(b) == 0) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("request audit spool: %w", err)
	}
	var entries []spooled
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var s spooled
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil || s.SpoolID == uuid.Nil {
			// Only a write cut short by a crash leaves such a line.
			l.opts.Logger.Error("request audit spool: unreadable line skipped", "file", path, "line", line, "err", err)
			continue
		}
		entries = append(entries, s)
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("request audit spool %s: %w", path, err)
	}
	for start := 0; start < len(entries); start += 1000 {
		if err := l.insertSpooled(ctx, entries[start:min(start+1000, len(entries))]); err != nil {
			return len(entries), err
		}
	}
	if err := os.Truncate(path, 0); err != nil {
		return len(entries), fmt.Errorf("request audit spool: %w", err)
	}
	l.opts.Logger.Info("request audit: spooled entries written", "entries", len(entries))
	return len(entries), nil
}

func (l *Log) insertSpooled(ctx context.Context, batch []spooled) error {
	var (
		ids                                                []uuid.UUID
		ats                                                []any
		keyIDs, actors, roles, methods, routes, paths, cor []string
		statuses                                           []int32
	)
	for _, s := range batch {
		ids = append(ids, s.SpoolID)
		ats = append(ats, s.At.UTC())
		keyIDs, actors, roles = append(keyIDs, s.KeyID), append(actors, s.Actor), append(roles, s.Role)
		methods, routes, paths = append(methods, s.Method), append(routes, s.Route), append(paths, s.Path)
		statuses, cor = append(statuses, int32(s.Status)), append(cor, s.CorrelationID)
	}
	_, err := l.pool.Exec(ctx, `INSERT INTO crm_request_log (spool_id, at, key_id, actor, role, method, route, path, status, correlation_id)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[])
ON CONFLICT (spool_id) WHERE spool_id IS NOT NULL DO NOTHING`,
		ids, ats, keyIDs, actors, roles, methods, routes, paths, statuses, cor)
	if err != nil {
		return fmt.Errorf("write spooled request log entries: %w", err)
	}
	return nil
}

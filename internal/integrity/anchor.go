package integrity

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"crm/eventstore"
)

// Anchor is a seal as kept outside the database (a file, a ticket, an
// e-mail, a WORM bucket): whoever owns the database can remove seals and
// rewrite the log after them, but cannot make the log match an anchor it
// cannot reach. Verify with Options.Anchor checks that the log's seals
// include it and that the log matches it.
type Anchor struct {
	Format      int       `json:"format"`
	Seq         int64     `json:"sequence"`
	Position    string    `json:"position"`
	EventCount  int64     `json:"count"`
	RunningHash string    `json:"running_hash"`
	PrevMAC     string    `json:"prev_mac"`
	MAC         string    `json:"mac"`
	SealedAt    time.Time `json:"time"`
	NextXID     uint64    `json:"next_xid"`
}

// AnchorOf returns the anchor of s.
func AnchorOf(s Seal) Anchor {
	return Anchor{Format: s.Format, Seq: s.Seq, Position: s.Cursor.String(), EventCount: s.EventCount,
		RunningHash: hex.EncodeToString(s.RunningHash), PrevMAC: hex.EncodeToString(s.PrevMAC),
		MAC: hex.EncodeToString(s.MAC), SealedAt: s.SealedAt.UTC(), NextXID: s.NextXID}
}

// Seal returns the seal the anchor records, or an error naming the field
// that is malformed.
func (a Anchor) Seal() (Seal, error) {
	cur, err := eventstore.ParseCursor(a.Position)
	if err != nil {
		return Seal{}, fmt.Errorf("anchor position: %w", err)
	}
	s := Seal{Seq: a.Seq, Format: a.Format, Cursor: cur, EventCount: a.EventCount, SealedAt: a.SealedAt.UTC(), NextXID: a.NextXID}
	for _, f := range []struct {
		name string
		hex  string
		dst  *[]byte
	}{{"running_hash", a.RunningHash, &s.RunningHash}, {"prev_mac", a.PrevMAC, &s.PrevMAC}, {"mac", a.MAC, &s.MAC}} {
		b, err := hex.DecodeString(f.hex)
		if err != nil {
			return Seal{}, fmt.Errorf("anchor %s: %w", f.name, err)
		}
		*f.dst = b
	}
	switch {
	case a.Seq < 1:
		return Seal{}, errors.New("anchor sequence: must be at least 1")
	case a.Format != formatUnchained && a.Format != formatChained:
		return Seal{}, fmt.Errorf("anchor format: %d is not a seal format", a.Format)
	case len(s.MAC) == 0 || len(s.RunningHash) == 0:
		return Seal{}, errors.New("anchor mac and running_hash: must be set")
	}
	if len(s.PrevMAC) == 0 {
		s.PrevMAC = nil
	}
	return s, nil
}

// ReadAnchorFile reads an anchor written by WriteAnchorFile.
func ReadAnchorFile(path string) (*Seal, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("anchor %s: %w", path, err)
	}
	var a Anchor
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("anchor %s: %w", path, err)
	}
	s, err := a.Seal()
	if err != nil {
		return nil, fmt.Errorf("anchor %s: %w", path, err)
	}
	return &s, nil
}

// AnchorFile is an Options.Anchor that reads path, or no anchor while
// path does not exist yet (a sealer that will write it).
func AnchorFile(path string, mustExist bool) func() (*Seal, error) {
	return func() (*Seal, error) {
		s, err := ReadAnchorFile(path)
		if !mustExist && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return s, err
	}
}

// WriteAnchorFile writes s's anchor to path as JSON, atomically (a
// temporary file renamed into place, synced first).
func WriteAnchorFile(path string, s Seal) error {
	out, err := json.MarshalIndent(AnchorOf(s), "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("anchor %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(out, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("anchor %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("anchor %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("anchor %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("anchor %s: %w", path, err)
	}
	return nil
}

package eventstore

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Cursor is a position in the global log. Cursors are totally ordered (see
// Compare); the zero Cursor lies before every event. What the two parts mean
// belongs to the backend: PostgreSQL uses (transaction id, sequence
// position), EventStoreDB (commit position, prepare position).
type Cursor struct {
	Major uint64
	Minor uint64
}

// IsZero reports whether c is the start of the log.
func (c Cursor) IsZero() bool { return c.Major == 0 && c.Minor == 0 }

// Compare returns -1, 0 or +1 as c is before, equal to or after d.
func (c Cursor) Compare(d Cursor) int {
	switch {
	case c.Major < d.Major:
		return -1
	case c.Major > d.Major:
		return 1
	case c.Minor < d.Minor:
		return -1
	case c.Minor > d.Minor:
		return 1
	}
	return 0
}

// After reports whether c lies strictly after d.
func (c Cursor) After(d Cursor) bool { return c.Compare(d) > 0 }

// String encodes the cursor as 32 lowercase hex digits. The encoding is
// opaque to clients and sorts like the cursor itself. The zero cursor
// encodes as the empty string.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.Major)
	binary.BigEndian.PutUint64(b[8:], c.Minor)
	return hex.EncodeToString(b[:])
}

// ParseCursor decodes a cursor produced by Cursor.String. The empty string
// is the zero cursor. It returns an error wrapping ErrInvalidCursor for any
// other malformed input.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) != 32 {
		return Cursor{}, fmt.Errorf("%w: want 32 hex digits, got %d characters", ErrInvalidCursor, len(s))
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return Cursor{}, fmt.Errorf("%w: %v", ErrInvalidCursor, err)
	}
	return Cursor{Major: binary.BigEndian.Uint64(b[:8]), Minor: binary.BigEndian.Uint64(b[8:])}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (c Cursor) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Cursor) UnmarshalText(b []byte) error {
	v, err := ParseCursor(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

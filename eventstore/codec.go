package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// ErrUnknownEventType is returned when encoding a Go type or decoding a type
// name that was never registered (or is not a versioned type name). Readers
// pass such events over.
var ErrUnknownEventType = errors.New("unknown event type")

// ErrUnreadableVersion is returned when decoding a stored event of a
// registered family whose schema version this binary cannot bring to the
// current one: stored by a newer release, or with no upcaster path. The
// event is known, so readers must stop at it rather than pass it over.
var ErrUnreadableVersion = errors.New("unreadable event version")

// Upcaster turns the JSON body of one schema version of an event into the
// body of the next version. It must be pure: stored events are never
// rewritten, so it runs on every read of an old event.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// TypeName returns the stored type name of an event: "lead.captured" at
// version 1 is "lead.captured.v1".
func TypeName(name string, version int) string {
	return name + ".v" + strconv.Itoa(version)
}

// ParseTypeName splits a stored type name such as "lead.captured.v2" into
// its name and schema version. It returns an error for names without a
// ".vN" suffix.
func ParseTypeName(typ string) (name string, version int, err error) {
	i := strings.LastIndex(typ, ".v")
	if i <= 0 {
		return "", 0, fmt.Errorf("%w: %q has no .vN suffix", ErrUnknownEventType, typ)
	}
	v, err := strconv.Atoi(typ[i+2:])
	if err != nil || v < 1 {
		return "", 0, fmt.Errorf("%w: %q has a bad version suffix", ErrUnknownEventType, typ)
	}
	return typ[:i], v, nil
}

// Encoded is an event body ready to append.
type Encoded struct {
	Type          string
	SchemaVersion int
	Data          json.RawMessage
}

// Registry maps versioned event type names to Go types and upcasts bodies
// stored under older schema versions to the version registered now. Register
// every type and upcaster before use; after that a Registry is safe for
// concurrent use.
type Registry struct {
	mu       sync.RWMutex
	families map[string]*family
	byGoType map[reflect.Type]Encoded
}

type family struct {
	current   int
	goType    reflect.Type
	upcasters map[int]Upcaster // from version -> next version
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: map[string]*family{}, byGoType: map[reflect.Type]Encoded{}}
}

// Register maps the event name at the given schema version to the Go type of
// sample (a struct value, not a pointer). The registered version becomes the
// one that Decode produces for that name; older versions reach it through
// upcasters. Registering a name twice, a Go type twice or a version below 1
// is an error.
func (r *Registry) Register(name string, version int, sample any) error {
	t := reflect.TypeOf(sample)
	if t == nil || t.Kind() != reflect.Struct {
		return fmt.Errorf("register %s: sample must be a struct value, got %v", name, t)
	}
	if name == "" || strings.Contains(name, " ") || version < 1 {
		return fmt.Errorf("register %q v%d: bad name or version", name, version)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.families[name]; ok && f.goType != nil {
		return fmt.Errorf("register %s: already registered at v%d", name, f.current)
	}
	if _, ok := r.byGoType[t]; ok {
		return fmt.Errorf("register %s: Go type %v already registered", name, t)
	}
	f := r.families[name]
	if f == nil {
		f = &family{upcasters: map[int]Upcaster{}}
		r.families[name] = f
	}
	f.current, f.goType = version, t
	r.byGoType[t] = Encoded{Type: TypeName(name, version), SchemaVersion: version}
	return nil
}

// AddUpcaster registers fn to turn version from of the named event into
// version from+1. Registering the same step twice is an error.
func (r *Registry) AddUpcaster(name string, from int, fn Upcaster) error {
	if fn == nil || from < 1 {
		return fmt.Errorf("upcaster %s v%d: nil function or bad version", name, from)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.families[name]
	if f == nil {
		f = &family{upcasters: map[int]Upcaster{}}
		r.families[name] = f
	}
	if _, ok := f.upcasters[from]; ok {
		return fmt.Errorf("upcaster %s v%d: already registered", name, from)
	}
	f.upcasters[from] = fn
	return nil
}

// Encode marshals a registered event value (or pointer to one) and names its
// type and schema version.
func (r *Registry) Encode(v any) (Encoded, error) {
	t := reflect.TypeOf(v)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.mu.RLock()
	enc, ok := r.byGoType[t]
	r.mu.RUnlock()
	if !ok {
		return Encoded{}, fmt.Errorf("%w: Go type %v", ErrUnknownEventType, t)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Encoded{}, fmt.Errorf("encode %s: %w", enc.Type, err)
	}
	enc.Data = data
	return enc, nil
}

// Decode turns a stored event body into the registered Go value (not a
// pointer), upcasting it first when it was stored under an older schema
// version. typ is the stored type name ("lead.captured.v1").
func (r *Registry) Decode(typ string, data json.RawMessage) (any, error) {
	name, version, err := ParseTypeName(typ)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	f := r.families[name]
	r.mu.RUnlock()
	if f == nil || f.goType == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownEventType, typ)
	}
	if version > f.current {
		return nil, fmt.Errorf("%w: %s is newer than the registered v%d", ErrUnreadableVersion, typ, f.current)
	}
	for v := version; v < f.current; v++ {
		up := f.upcasters[v]
		if up == nil {
			return nil, fmt.Errorf("%w: no upcaster from %s", ErrUnreadableVersion, TypeName(name, v))
		}
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("upcast %s: %w", TypeName(name, v), err)
		}
	}
	p := reflect.New(f.goType)
	if err := json.Unmarshal(data, p.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	return p.Elem().Interface(), nil
}

// Types lists every registered stored type name at its current version, in
// no particular order.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.byGoType))
	for _, e := range r.byGoType {
		out = append(out, e.Type)
	}
	return out
}

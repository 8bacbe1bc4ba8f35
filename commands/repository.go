package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// Metadata says who issued a command and why; it lands on every event the
// command appends.
type Metadata struct {
	Actor         string
	CommandID     string
	CorrelationID string
	CausationID   string
}

// Recorded is a stored event as the command side sees it.
type Recorded struct {
	ID         string
	Event      aggregates.Event
	Type       string
	Version    int64
	RecordedAt time.Time
	Metadata   Metadata
	Position   string
}

// Change is the new events of one stream, appended only if the stream is
// still at Expected (0: the stream must not exist yet).
type Change struct {
	Stream   string
	Expected int64
	Events   []aggregates.Event
	// Subject is the email of the person the stream is about (a lead's),
	// whose key protects personal values of events that name no email
	// (notes); empty for streams about no person.
	Subject string
}

// Claim reserves a unique key for an owner in the same transaction as the
// events, such as an email address for the lead that holds it.
type Claim struct {
	Kind      string
	Key       string
	OwnerType string
	OwnerID   string
}

// Claim kinds.
const (
	// ClaimEmail reserves an email for one open lead or contact.
	ClaimEmail = "email"
	// ClaimContact maps a contact id to its account id.
	ClaimContact = "contact"
)

// Idempotency names the client's key a command's result is stored under,
// in the same transaction as its events.
type Idempotency struct {
	// Scope separates keys of different API keys.
	Scope string
	// Key is the client's Idempotency-Key.
	Key string
	// RequestHash identifies the request body.
	RequestHash string
}

// StoredResponse is the idempotency record a batch stores: the command's
// result, as data. The repository completes it with what the batch saved
// (Result.Completed) and stores it; a replay renders from it exactly as
// the first response was rendered.
type StoredResponse struct {
	Scope, Key, RequestHash string
	// Target is the stream whose version the result reports.
	Target string
	// Result is the command's result before the append.
	Result Result
}

// Replay is an idempotency record as stored. Records hold the command's
// Result; records stored before results were kept hold the rendered
// response instead (Result nil, Status and Body set).
type Replay struct {
	// RequestHash identifies the request the record answers.
	RequestHash string
	// Result is the command's result.
	Result *Result
	// Status and Body are the rendered response of an older record.
	Status int
	Body   []byte
}

// Batch is everything one command stores atomically. Claims of a key the
// same owner already holds succeed; releases only remove keys the named
// owner holds.
type Batch struct {
	Changes  []Change
	Claims   []Claim
	Releases []Claim
	// Erase lists data subjects whose keys are deleted in the same
	// transaction (crypto-shredding), each with the entities the erasure
	// names: if the subject's entities differ by then, Save returns
	// ErrVersionConflict.
	Erase    []DataSubject
	Metadata Metadata
	Response *StoredResponse
}

// EventRef names one appended event.
type EventRef struct {
	Stream string `json:"stream"`
	Type   string `json:"type"`
	ID     string `json:"id"`
}

// Saved is what storing a batch returned.
type Saved struct {
	// Position is the log cursor of the batch's last event.
	Position string
	// Versions maps each changed stream to its new version.
	Versions map[string]int64
	// Events are the appended events, in order.
	Events []EventRef
}

// Repository loads streams and stores batches. Implementations map
// aggregates' events to and from the event store.
type Repository interface {
	// Load returns a stream's events in order, only those recorded at or
	// before asOf when it is non-zero. A missing stream has no events.
	Load(ctx context.Context, stream string, asOf time.Time) ([]Recorded, error)
	// Current returns a stream's events as a command decides on them: from
	// a cache when it holds the stream (cached true), which another
	// writer may have moved past. Save's expected version rejects a
	// decision on such a state as a version conflict.
	Current(ctx context.Context, stream string) (recs []Recorded, cached bool, err error)
	// Save appends every change and applies claims, releases and the
	// idempotency record in one transaction. Errors: ErrVersionConflict
	// (wrapped) when a stream moved, *ClaimTakenError when a claim's key is
	// held by another owner, ErrIdempotencyRace when another request stored
	// the same idempotency key first.
	Save(ctx context.Context, b Batch) (Saved, error)
	// ClaimOwner returns the owner of a claimed key.
	ClaimOwner(ctx context.Context, kind, key string) (ownerType, ownerID string, ok bool, err error)
	// Subject returns the data subject an email belongs to and the leads
	// and contacts whose personal data its key protects; ok is false when
	// there is none (never seen, or erased).
	Subject(ctx context.Context, email string) (s DataSubject, ok bool, err error)
}

// DataSubject is a person whose personal data is encrypted under one key.
type DataSubject struct {
	ID       string
	Entities []aggregates.ErasedEntity
}

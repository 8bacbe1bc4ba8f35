package privacy

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"crm/eventstore"
)

// envelopePrefix starts every encrypted value.
const envelopePrefix = "enc:v1:"

// marker finds events that may hold an encrypted value.
var marker = []byte(`"` + envelopePrefix)

// aad binds a value to its event and field.
func aad(event uuid.UUID, field string) []byte {
	return append(append(make([]byte, 0, 16+len(field)), event[:]...), field...)
}

// seal encrypts one value into its envelope.
func seal(a cipher.AEAD, subject, event uuid.UUID, field, plain string) (string, error) {
	buf := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("privacy: nonce: %w", err)
	}
	buf = a.Seal(buf, buf, []byte(plain), aad(event, field))
	return envelopePrefix + subject.String() + ":" + base64.RawStdEncoding.EncodeToString(buf), nil
}

// parseEnvelope splits an envelope into its subject and sealed bytes; ok
// is false for a value that is not one.
func parseEnvelope(v string) (subject uuid.UUID, sealed []byte, ok bool) {
	rest, found := strings.CutPrefix(v, envelopePrefix)
	if !found {
		return uuid.Nil, nil, false
	}
	s, b64, found := strings.Cut(rest, ":")
	if !found {
		return uuid.Nil, nil, false
	}
	subject, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, nil, false
	}
	sealed, err = base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return uuid.Nil, nil, false
	}
	return subject, sealed, true
}

// open decrypts a sealed value.
func open(a cipher.AEAD, event uuid.UUID, field string, sealed []byte) (string, error) {
	ns := a.NonceSize()
	if len(sealed) < ns+a.Overhead() {
		return "", fmt.Errorf("privacy: %s of event %s: truncated ciphertext", field, event)
	}
	plain, err := a.Open(nil, sealed[:ns], sealed[ns:], aad(event, field))
	if err != nil {
		return "", fmt.Errorf("privacy: %s of event %s: %w", field, event, err)
	}
	return string(plain), nil
}

// Stream is one stream's events to seal and the email of the person the
// stream is about (a lead's email), which notes on it are encrypted for.
type Stream struct {
	Events []eventstore.EventData
	// Email is the subject of personal fields whose event does not name
	// one; Erased when that person was erased (their values are then
	// stored as Erased), empty when the stream is about no person.
	Email string
}

// Seal encrypts the personal fields of the streams' events in place. A
// subject this process knows (from values it revealed or stored) is used;
// any other person gets a new subject and key, which the returned Sealed
// holds for Store to create in the same transaction, after the append.
// Seal reads (with q, the append's transaction; reads only, so the append
// is still its first write) only the subjects of emails Store found
// changed (see ErrSubjectChanged). Events without an id get one, since the id is bound into
// the ciphertext. Empty values (and blank free text) stay as they are.
func (v *Vault) Seal(ctx context.Context, q Querier, streams []Stream) (*Sealed, error) {
	type resolved struct {
		id   uuid.UUID
		aead cipher.AEAD
	}
	out := &Sealed{}
	bySubject := map[string]resolved{}
	entities := map[entityRow]bool{}
	for _, s := range streams {
		for i := range s.Events {
			e := &s.Events[i]
			p, ok := personalOf(e.Type)
			if !ok {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(e.Data, &m); err != nil {
				return nil, fmt.Errorf("privacy: seal %s: %w", e.Type, err)
			}
			entityType := p.entityType
			if p.typeField != "" {
				if str(m[p.typeField]) != EntityLead {
					continue
				}
				entityType = EntityLead
			}
			email := s.Email
			if p.emailField != "" {
				email = str(m[p.emailField])
			}
			if email == "" {
				continue
			}
			var r resolved
			if email != Erased {
				email = NormalizeEmail(email)
				var found bool
				if r, found = bySubject[email]; !found {
					id, a, created, err := v.subjectOf(ctx, q, email)
					if err != nil {
						return nil, err
					}
					r = resolved{id, a}
					bySubject[email] = r
					out.emails = append(out.emails, [sha256.Size]byte(v.EmailHash(email)))
					if created != nil {
						out.subjects = append(out.subjects, *created)
					}
				}
				if row := (entityRow{r.id, entityType, str(m[p.entityField])}); row.entity != "" && !entities[row] {
					entities[row] = true
					out.entities = append(out.entities, row)
				}
			}
			if e.ID == uuid.Nil {
				id, err := uuid.NewV7()
				if err != nil {
					return nil, fmt.Errorf("privacy: event id: %w", err)
				}
				e.ID = id
			}
			changed := false
			for _, f := range p.fields {
				plain := str(m[f])
				if p.keepsPlain(plain) {
					continue
				}
				sealed := Erased
				if r.aead != nil {
					var err error
					if sealed, err = seal(r.aead, r.id, e.ID, f, plain); err != nil {
						return nil, err
					}
				}
				b, err := json.Marshal(sealed)
				if err != nil {
					return nil, fmt.Errorf("privacy: seal %s: %w", f, err)
				}
				m[f], changed = b, true
			}
			var sealErr error
			inChanges, err := p.eachChange(m, func(name string, raw json.RawMessage) (json.RawMessage, bool) {
				plain := str(raw)
				if p.keepsPlain(plain) || sealErr != nil {
					return nil, false
				}
				sealed := Erased
				if r.aead != nil {
					if sealed, sealErr = seal(r.aead, r.id, e.ID, name, plain); sealErr != nil {
						return nil, false
					}
				}
				b, _ := json.Marshal(sealed)
				return b, true
			})
			if err == nil {
				err = sealErr
			}
			if err != nil {
				return nil, fmt.Errorf("privacy: seal %s: %w", e.Type, err)
			}
			changed = changed || inChanges
			if changed {
				data, err := json.Marshal(m)
				if err != nil {
					return nil, fmt.Errorf("privacy: seal %s: %w", e.Type, err)
				}
				e.Data = data
			}
		}
	}
	return out, nil
}

// str is a JSON string's value, or "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// sealedField is one encrypted value found in an event.
type sealedField struct {
	event   int
	field   string
	raw     json.RawMessage
	subject uuid.UUID
	sealed  []byte
	// email marks the field holding the subject's email.
	email bool
}

// Subjects returns the subjects (ids) whose keys sealed personal values
// of the events, as Seal left them, without decrypting anything.
func (v *Vault) Subjects(events []eventstore.EventData) ([]string, error) {
	var out []string
	seen := map[uuid.UUID]bool{}
	for _, e := range events {
		err := eachSealed(e.Type, e.Data, func(f sealedField) {
			if !seen[f.subject] {
				seen[f.subject] = true
				out = append(out, f.subject.String())
			}
		})
		if err != nil {
			return nil, fmt.Errorf("privacy: subjects of %s: %w", e.Type, err)
		}
	}
	return out, nil
}

// eachSealed calls fn with every personal field of an event of type typ
// whose value is a sealed envelope (event left zero).
func eachSealed(typ string, data []byte, fn func(sealedField)) error {
	p, ok := personalOf(typ)
	if !ok || !bytes.Contains(data, marker) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	for _, f := range p.fields {
		raw := m[f]
		if subject, sealed, ok := parseEnvelope(str(raw)); ok {
			fn(sealedField{field: f, raw: raw, subject: subject, sealed: sealed, email: f == p.emailField})
		}
	}
	_, err := p.eachChange(m, func(name string, raw json.RawMessage) (json.RawMessage, bool) {
		if subject, sealed, ok := parseEnvelope(str(raw)); ok {
			fn(sealedField{field: name, raw: raw, subject: subject, sealed: sealed, email: strings.HasPrefix(name, "changes.email.")})
		}
		return nil, false
	})
	return err
}

// Reveal replaces the encrypted values of events, in place, by their
// plaintext while the subject's key exists and by Erased after, and
// returns the subjects (ids) whose values it met. Keys not cached are
// fetched in one query for the whole slice. Plain values (events written
// before encryption, or of other types) are left as they are. Only the
// personal fields of each type are decrypted, so a value a client sent
// that merely looks like an envelope is shown as sent.
func (v *Vault) Reveal(ctx context.Context, events []eventstore.Event) (subjects []string, err error) {
	var found []sealedField
	need := map[uuid.UUID]bool{}
	for i := range events {
		e := &events[i]
		err := eachSealed(e.Type, e.Data, func(f sealedField) {
			f.event = i
			found = append(found, f)
			need[f.subject] = true
		})
		if err != nil {
			return nil, fmt.Errorf("privacy: reveal %s: %w", e.Type, err)
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	keys, err := v.keysOf(ctx, need)
	if err != nil {
		return nil, err
	}
	for s := range need {
		subjects = append(subjects, s.String())
	}
	for _, f := range found {
		e := &events[f.event]
		plain := Erased
		if k := keys[f.subject]; !k.erased {
			if plain, err = open(k.aead, e.ID, f.field, f.sealed); err != nil {
				return nil, err
			}
			if f.email {
				v.mapEmail(v.EmailHash(plain), f.subject)
			}
		}
		b, err := json.Marshal(plain)
		if err != nil {
			return nil, fmt.Errorf("privacy: reveal %s: %w", f.field, err)
		}
		// The envelope (random nonce) occurs once in the event.
		e.Data = json.RawMessage(bytes.Replace(e.Data, f.raw, b, 1))
	}
	return subjects, nil
}

package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"crm/aggregates"
)

// What an import creates.
const (
	ImportLeads    = "leads"
	ImportAccounts = "accounts"
	ImportContacts = "contacts"
)

// ImportKinds are the kinds of record an import creates.
var ImportKinds = []string{ImportLeads, ImportAccounts, ImportContacts}

// ImportFields are the fields each kind of import maps columns to.
var ImportFields = map[string][]string{
	ImportLeads:    {"name", "company", "email", "phone", "source", "campaign", "region", "industry", "company_size", "owner_id"},
	ImportAccounts: {"name", "industry", "size", "region", "tier", "owner_id"},
	ImportContacts: {"account_id", "name", "email", "phone", "title", "role"},
}

// What an import does with a row.
const (
	// RowCreate: the row is valid and new; a dry run would create it.
	RowCreate = "create"
	// RowCreated: the real run created it.
	RowCreated = "created"
	// RowDuplicate: an existing record (or an earlier row) has its email,
	// or for accounts its normalised name; nothing is created for it.
	RowDuplicate = "duplicate"
	// RowInvalid: the row is refused; Problems say why.
	RowInvalid = "invalid"
	// RowAlreadyImported: the same rows were imported by an earlier run.
	RowAlreadyImported = "already_imported"
)

// Cell is one mapped CSV value: the field it fills and the column it
// came from.
type Cell struct {
	Column, Value string
}

// ImportRow is one data row: its row number in the file (the header is
// row 1) and its values by target field.
type ImportRow struct {
	Row    int
	Values map[string]Cell
}

func (r ImportRow) get(field string) string { return strings.TrimSpace(r.Values[field].Value) }

// RowProblem names one bad value: the row, the column it came from (""
// when the field was not mapped), the target field and what is wrong.
type RowProblem struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// RowResult is what the import does (or, in a dry run, would do) with
// one row. Duplicates name the record or the earlier row they repeat.
type RowResult struct {
	Row          int    `json:"row"`
	Action       string `json:"action"`
	ID           string `json:"id,omitempty"`
	DuplicateOf  string `json:"duplicate_of,omitempty"`
	DuplicateRow int    `json:"duplicate_row,omitempty"`
	Field        string `json:"field,omitempty"`
}

// ImportReport sums an import up.
type ImportReport struct {
	Kind            string       `json:"kind"`
	DryRun          bool         `json:"dry_run"`
	Rows            int          `json:"rows"`
	Created         int          `json:"created"`
	WouldCreate     int          `json:"would_create"`
	Duplicates      int          `json:"duplicates"`
	Invalid         int          `json:"invalid"`
	AlreadyImported int          `json:"already_imported"`
	Problems        []RowProblem `json:"problems"`
	Results         []RowResult  `json:"results"`
}

// ImportInvalidError refuses a real run with invalid rows: nothing is
// stored. It is an Invalid error listing every bad value.
type ImportInvalidError struct{ Problems []RowProblem }

func (e *ImportInvalidError) Error() string {
	return fmt.Sprintf("%d invalid values in the file; nothing was imported (first: row %d, column %q: %s)",
		len(e.Problems), e.Problems[0].Row, e.Problems[0].Column, e.Problems[0].Message)
}

// ErrorKind is "invalid".
func (e *ImportInvalidError) ErrorKind() string { return "invalid" }

// AccountNames finds existing accounts by normalised name (see
// aggregates.NormalizeCompanyName): a map from each name found to an account id.
type AccountNames interface {
	AccountsByNormalizedName(ctx context.Context, names []string) (map[string]string, error)
}

// ClaimHolder is the owner of a claimed key.
type ClaimHolder struct{ OwnerType, OwnerID string }

// bulkClaims is a repository that looks up many claims in one round trip.
type bulkClaims interface {
	ClaimOwners(ctx context.Context, kind string, keys []string) (map[string]ClaimHolder, error)
}

// Import creates leads, accounts or contacts from mapped CSV rows. A dry
// run validates every row and finds duplicates, storing nothing. A real
// run with an invalid row is refused whole (*ImportInvalidError); else it
// creates the new rows' records in chunks, each chunk one atomic append
// recorded under a key derived from its rows, so running the same file
// again (after an interruption, or twice) creates nothing it created
// before. Report is set on success.
type Import struct {
	Envelope
	Kind   string
	Rows   []ImportRow
	DryRun bool
	// Accounts finds accounts by name (duplicates of account rows).
	Accounts AccountNames
	// ChunkSize is the number of rows per append (default 500); Workers
	// the chunks stored at once (default 4).
	ChunkSize, Workers int
	// Progress, when set, is called after each chunk with the rows done.
	Progress func(done, total int)
	Report   ImportReport
}

// importPlan is one valid row ready to store.
type importPlan struct {
	row    ImportRow
	result int // index in Report.Results
	id     string
	key    string // the duplicate key: email or normalised name
	lead   aggregates.CaptureLead
	acct   aggregates.OpenAccount
	cont   aggregates.AddContact
	acctID string
}

// Import handles Import.
func (h *Handler) Import(ctx context.Context, c *Import) error {
	if !slices.Contains(ImportKinds, c.Kind) {
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "kind", Message: "must be one of leads, accounts, contacts"}
	}
	rep := ImportReport{Kind: c.Kind, DryRun: c.DryRun, Rows: len(c.Rows), Problems: []RowProblem{}, Results: make([]RowResult, len(c.Rows))}
	now := h.now().UTC()
	plans := make([]*importPlan, 0, len(c.Rows))
	for i, r := range c.Rows {
		rep.Results[i] = RowResult{Row: r.Row}
		p, prob := h.planRow(c.Kind, r, now)
		if prob != nil {
			rep.Results[i].Action, rep.Results[i].Field = RowInvalid, prob.Field
			rep.Problems = append(rep.Problems, *prob)
			rep.Invalid++
			continue
		}
		p.result = i
		plans = append(plans, p)
	}
	if c.Kind == ImportContacts {
		if err := h.checkAccounts(ctx, plans, &rep); err != nil {
			return err
		}
		plans = dropInvalid(plans, &rep)
	}
	if !c.DryRun && len(rep.Problems) > 0 {
		return &ImportInvalidError{Problems: rep.Problems}
	}
	existing, err := h.existing(ctx, c, plans)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	fresh := plans[:0:0]
	for _, p := range plans {
		res := &rep.Results[p.result]
		if id, ok := existing[p.key]; ok {
			res.Action, res.DuplicateOf, res.Field = RowDuplicate, id, duplicateField(c.Kind)
			rep.Duplicates++
			continue
		}
		if row, ok := seen[p.key]; ok {
			res.Action, res.DuplicateRow, res.Field = RowDuplicate, row, duplicateField(c.Kind)
			rep.Duplicates++
			continue
		}
		seen[p.key] = p.row.Row
		fresh = append(fresh, p)
	}
	if c.DryRun {
		for _, p := range fresh {
			rep.Results[p.result].Action = RowCreate
		}
		rep.WouldCreate = len(fresh)
		c.Report = rep
		return nil
	}
	if err := h.storeImport(ctx, c, fresh, &rep); err != nil {
		return err
	}
	c.Report = rep
	return nil
}

// duplicateField is the field duplicates of a kind are found by.
func duplicateField(kind string) string {
	if kind == ImportAccounts {
		return "name"
	}
	return "email"
}

// dropInvalid removes plans whose result became invalid.
func dropInvalid(plans []*importPlan, rep *ImportReport) []*importPlan {
	out := plans[:0]
	for _, p := range plans {
		if rep.Results[p.result].Action != RowInvalid {
			out = append(out, p)
		}
	}
	return out
}

// problemOf turns an aggregate's validation error into a row problem.
func problemOf(r ImportRow, err error) *RowProblem {
	var de *aggregates.Error
	if errors.As(err, &de) && de.Kind == aggregates.Invalid {
		return &RowProblem{Row: r.Row, Column: r.Values[de.Field].Column, Field: de.Field, Message: de.Message}
	}
	return &RowProblem{Row: r.Row, Message: err.Error()}
}

// planRow validates one row through its aggregate.
func (h *Handler) planRow(kind string, r ImportRow, now time.Time) (*importPlan, *RowProblem) {
	p := &importPlan{row: r, id: h.newID()}
	switch kind {
	case ImportLeads:
		p.lead = aggregates.CaptureLead{Name: r.get("name"), Company: r.get("company"), Email: r.get("email"), Phone: r.get("phone"),
			Source: r.get("source"), Campaign: r.get("campaign"), Region: r.get("region"), Industry: r.get("industry"),
			CompanySize: r.get("company_size"), OwnerID: r.get("owner_id")}
		evs, err := aggregates.NewLead(p.id).Capture(p.lead, now)
		if err != nil {
			return nil, problemOf(r, err)
		}
		p.key = evs[0].(aggregates.LeadCapturedEvent).Email
	case ImportAccounts:
		p.acct = aggregates.OpenAccount{Name: r.get("name"), Industry: r.get("industry"), Size: r.get("size"), Region: r.get("region"),
			Tier: r.get("tier"), OwnerID: r.get("owner_id")}
		if _, err := aggregates.NewAccount(p.id).Open(p.acct, now); err != nil {
			return nil, problemOf(r, err)
		}
		p.key = aggregates.NormalizeCompanyName(p.acct.Name)
	case ImportContacts:
		p.acctID = strings.ToLower(r.get("account_id"))
		if p.acctID == "" {
			return nil, &RowProblem{Row: r.Row, Column: r.Values["account_id"].Column, Field: "account_id", Message: "is required"}
		}
		p.cont = aggregates.AddContact{ContactID: p.id, Name: r.get("name"), Email: r.get("email"), Phone: r.get("phone"),
			Title: r.get("title"), Role: r.get("role")}
		// The contact's own rules, on an account that exists.
		probe := aggregates.NewAccount(p.acctID)
		probe.Apply(aggregates.AccountOpenedEvent{AccountID: p.acctID, Name: "probe", Tier: "standard"})
		evs, err := probe.AddContact(p.cont, now)
		if err != nil {
			return nil, problemOf(r, err)
		}
		p.key = evs[0].(aggregates.ContactAddedEvent).Email
	}
	return p, nil
}

// checkAccounts marks contact rows whose account does not exist invalid.
func (h *Handler) checkAccounts(ctx context.Context, plans []*importPlan, rep *ImportReport) error {
	known := map[string]bool{}
	for _, p := range plans {
		ok, seen := known[p.acctID]
		if !seen {
			recs, err := h.repo.Load(ctx, streamOf(TypeAccount, p.acctID), time.Time{})
			if err != nil {
				return err
			}
			ok = len(recs) > 0
			known[p.acctID] = ok
		}
		if !ok {
			res := &rep.Results[p.result]
			res.Action, res.Field = RowInvalid, "account_id"
			rep.Problems = append(rep.Problems, RowProblem{Row: p.row.Row, Column: p.row.Values["account_id"].Column, Field: "account_id",
				Message: "no account " + p.acctID})
			rep.Invalid++
		}
	}
	return nil
}

// existing maps each plan's duplicate key held by a stored record to that
// record's id.
func (h *Handler) existing(ctx context.Context, c *Import, plans []*importPlan) (map[string]string, error) {
	keys := make([]string, 0, len(plans))
	for _, p := range plans {
		keys = append(keys, p.key)
	}
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	if c.Kind == ImportAccounts {
		if c.Accounts == nil {
			return out, nil
		}
		return c.Accounts.AccountsByNormalizedName(ctx, keys)
	}
	if bc, ok := h.repo.(bulkClaims); ok {
		for start := 0; start < len(keys); start += 5000 {
			held, err := bc.ClaimOwners(ctx, ClaimEmail, keys[start:min(start+5000, len(keys))])
			if err != nil {
				return nil, err
			}
			for k, o := range held {
				out[k] = o.OwnerID
			}
		}
		return out, nil
	}
	for _, k := range keys {
		_, id, ok, err := h.repo.ClaimOwner(ctx, ClaimEmail, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = id
		}
	}
	return out, nil
}

// storeImport appends the fresh rows chunk by chunk, several chunks at a
// time.
func (h *Handler) storeImport(ctx context.Context, c *Import, fresh []*importPlan, rep *ImportReport) error {
	size, workers := c.ChunkSize, c.Workers
	if size <= 0 {
		size = 500
	}
	if workers <= 0 {
		workers = 4
	}
	var chunks [][]*importPlan
	for start := 0; start < len(fresh); start += size {
		chunks = append(chunks, fresh[start:min(start+size, len(fresh))])
	}
	var (
		mu       sync.Mutex
		done     = len(c.Rows) - len(fresh)
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan []*importPlan)
	)
	report := func(chunk []*importPlan, stored bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range chunk {
			res := &rep.Results[p.result]
			if stored {
				res.Action, res.ID = RowCreated, p.id
				rep.Created++
			} else {
				res.Action = RowAlreadyImported
				rep.AlreadyImported++
			}
		}
		done += len(chunk)
		if c.Progress != nil {
			c.Progress(done, len(c.Rows))
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range next {
				stored, err := h.storeChunk(ctx, c, chunk)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				report(chunk, stored)
			}
		}()
	}
	if c.Progress != nil && done > 0 {
		c.Progress(done, len(c.Rows))
	}
feed:
	for _, ch := range chunks {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case next <- ch:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("import %s: %w", c.Kind, firstErr)
	}
	return ctx.Err()
}

// chunkKey identifies a chunk's rows, so a chunk stored once is never
// stored again.
func chunkKey(kind string, chunk []*importPlan) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range chunk {
		h.Write([]byte{0})
		h.Write([]byte(p.key))
		for _, f := range ImportFields[kind] {
			h.Write([]byte{1})
			h.Write([]byte(p.row.get(f)))
		}
	}
	return "import:" + kind + ":" + hex.EncodeToString(h.Sum(nil))
}

// importScope is the idempotency scope of import chunks.
const importScope = "import"

// storeChunk appends one chunk atomically; stored is false when an
// earlier run stored the same chunk. Version conflicts (contacts of an
// account another chunk changed) are retried.
func (h *Handler) storeChunk(ctx context.Context, c *Import, chunk []*importPlan) (stored bool, err error) {
	key := chunkKey(c.Kind, chunk)
	for attempt := 0; ; attempt++ {
		b, err := h.chunkBatch(ctx, c, chunk)
		if err != nil {
			return false, err
		}
		b.Response = &StoredResponse{Scope: importScope, Key: key, RequestHash: key, Target: b.Changes[0].Stream,
			Result: Result{ID: chunk[0].id, Created: true, Events: []EventRef{}}}
		_, err = h.repo.Save(ctx, b)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, ErrIdempotencyRace):
			return false, nil
		case errors.Is(err, ErrVersionConflict) && attempt < h.maxRetries:
			continue
		default:
			return false, err
		}
	}
}

// chunkBatch builds one chunk's append.
func (h *Handler) chunkBatch(ctx context.Context, c *Import, chunk []*importPlan) (Batch, error) {
	now := h.now().UTC()
	b := Batch{Metadata: c.Metadata}
	switch c.Kind {
	case ImportLeads:
		for _, p := range chunk {
			evs, err := aggregates.NewLead(p.id).Capture(p.lead, now)
			if err != nil {
				return Batch{}, err
			}
			b.Changes = append(b.Changes, Change{Stream: streamOf(TypeLead, p.id), Expected: 0, Events: evs})
			b.Claims = append(b.Claims, Claim{Kind: ClaimEmail, Key: p.key, OwnerType: TypeLead, OwnerID: p.id})
		}
	case ImportAccounts:
		for _, p := range chunk {
			evs, err := aggregates.NewAccount(p.id).Open(p.acct, now)
			if err != nil {
				return Batch{}, err
			}
			b.Changes = append(b.Changes, Change{Stream: streamOf(TypeAccount, p.id), Expected: 0, Events: evs})
		}
	case ImportContacts:
		byAccount := map[string]int{}
		accounts := map[string]*aggregates.Account{}
		for _, p := range chunk {
			stream := streamOf(TypeAccount, p.acctID)
			a, ok := accounts[p.acctID]
			if !ok {
				a = aggregates.NewAccount(p.acctID)
				recs, err := h.repo.Load(ctx, stream, time.Time{})
				if err != nil {
					return Batch{}, err
				}
				for _, r := range recs {
					a.Apply(r.Event)
				}
				var v int64
				if len(recs) > 0 {
					v = recs[len(recs)-1].Version
				}
				accounts[p.acctID] = a
				byAccount[p.acctID] = len(b.Changes)
				b.Changes = append(b.Changes, Change{Stream: stream, Expected: v})
			}
			evs, err := a.AddContact(p.cont, now)
			if err != nil {
				return Batch{}, fmt.Errorf("row %s: %w", strconv.Itoa(p.row.Row), err)
			}
			for _, e := range evs {
				a.Apply(e)
			}
			ch := &b.Changes[byAccount[p.acctID]]
			ch.Events = append(ch.Events, evs...)
			b.Claims = append(b.Claims,
				Claim{Kind: ClaimEmail, Key: p.key, OwnerType: "contact", OwnerID: p.id},
				Claim{Kind: ClaimContact, Key: p.id, OwnerType: TypeAccount, OwnerID: p.acctID})
		}
	}
	return b, nil
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

// SegmentQueries count and list a segment's members from the read
// models; a bad argument wraps readmodels.ErrInvalid.
type SegmentQueries interface {
	SegmentCount(ctx context.Context, s readmodels.SegmentQuery) (int, error)
	SegmentLeads(ctx context.Context, s readmodels.SegmentQuery) (readmodels.Page[readmodels.LeadRow], error)
	SegmentAccounts(ctx context.Context, s readmodels.SegmentQuery) (readmodels.Page[readmodels.AccountRow], error)
	SegmentContacts(ctx context.Context, s readmodels.SegmentQuery) (readmodels.Page[readmodels.ContactRow], error)
}

// SegmentCommands are the segment use cases.
type SegmentCommands interface {
	DefineSegment(ctx context.Context, c *commands.DefineSegment) error
	RedefineSegment(ctx context.Context, c *commands.RedefineSegment) error
	ArchiveSegment(ctx context.Context, c *commands.ArchiveSegment) error
	Segment(ctx context.Context, id string, asOf time.Time) (aggregates.SegmentView, int64, error)
}

type segmentFilterRequest struct {
	Region             string   `json:"region"`
	Industry           string   `json:"industry"`
	Size               string   `json:"size"`
	Tier               string   `json:"tier"`
	Tags               []string `json:"tags"`
	ScoreMin           *int     `json:"score_min"`
	ScoreMax           *int     `json:"score_max"`
	Source             string   `json:"source"`
	Campaign           string   `json:"campaign"`
	Status             string   `json:"status"`
	LastActivityBefore *string  `json:"last_activity_before"`
	LastActivityAfter  *string  `json:"last_activity_after"`
}

// filter returns the request's filter, or a 400 naming a malformed time.
func (f segmentFilterRequest) filter() (aggregates.SegmentFilter, error) {
	out := aggregates.SegmentFilter{Region: f.Region, Industry: f.Industry, Size: f.Size, Tier: f.Tier, Tags: f.Tags,
		ScoreMin: f.ScoreMin, ScoreMax: f.ScoreMax, Source: f.Source, Campaign: f.Campaign, Status: f.Status}
	for _, t := range []struct {
		name string
		in   *string
		out  **time.Time
	}{{"filter.last_activity_before", f.LastActivityBefore, &out.LastActivityBefore}, {"filter.last_activity_after", f.LastActivityAfter, &out.LastActivityAfter}} {
		if t.in == nil {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, *t.in)
		if err != nil {
			return out, badField(t.name, "must be an RFC 3339 time")
		}
		*t.out = &v
	}
	return out, nil
}

// segmentQuery is the read-model query of a segment's view.
func segmentQuery(v aggregates.SegmentView) readmodels.SegmentQuery {
	f := v.Filter
	return readmodels.SegmentQuery{Entity: v.Entity, Region: f.Region, Industry: f.Industry, Size: f.Size, Tier: f.Tier, Tags: f.Tags,
		ScoreMin: f.ScoreMin, ScoreMax: f.ScoreMax, Source: f.Source, Campaign: f.Campaign, Status: f.Status,
		LastActivityBefore: f.LastActivityBefore, LastActivityAfter: f.LastActivityAfter}
}

// segmentRoutes mounts the segments: commands, by-id read, count and
// members.
func (s *server) segmentRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/segments", func(w http.ResponseWriter, r *http.Request) {
			var c commands.DefineSegment
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						Name   string               `json:"name"`
						Entity string               `json:"entity"`
						Filter segmentFilterRequest `json:"filter"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					f, err := req.Filter.filter()
					c.Name, c.Entity, c.Filter = req.Name, req.Entity, f
					return err
				},
				exec: bind(&c, s.cmds.DefineSegment),
			})
		})
		r.Post("/segments/{id}/definition", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Name   string               `json:"name"`
				Filter segmentFilterRequest `json:"filter"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			f, err := req.Filter.filter()
			if err != nil {
				return nil, err
			}
			c := commands.RedefineSegment{SegmentID: id, Name: req.Name, Filter: f}
			return bind(&c, s.cmds.RedefineSegment), nil
		}))
		r.Post("/segments/{id}/archive", s.entityCommand(true, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct{}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ArchiveSegment{SegmentID: id}
			return bind(&c, s.cmds.ArchiveSegment), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesRead))
		r.Get("/segments/{id}", readByID(s, s.cmds.Segment))
		r.Get("/segments/{id}/history", s.history(commands.TypeSegment))
		r.Get("/segments/{id}/count", func(w http.ResponseWriter, r *http.Request) {
			v, ok := s.segment(w, r)
			if !ok {
				return
			}
			n, err := s.segments.SegmentCount(r.Context(), segmentQuery(v))
			s.answer(w, r, map[string]any{"segment_id": v.ID, "entity": v.Entity, "count": n}, err)
		})
		r.Get("/segments/{id}/members", func(w http.ResponseWriter, r *http.Request) {
			p := &listParams{r: r}
			limit, cursor := p.page()
			if p.err != nil {
				s.errs.write(w, r, p.err)
				return
			}
			v, ok := s.segment(w, r)
			if !ok {
				return
			}
			q := segmentQuery(v)
			q.Limit, q.Cursor = limit, cursor
			switch v.Entity {
			case aggregates.SegmentLeads:
				page, err := s.segments.SegmentLeads(r.Context(), q)
				writePage(s, w, r, page, err)
			case aggregates.SegmentAccounts:
				page, err := s.segments.SegmentAccounts(r.Context(), q)
				writePage(s, w, r, page, err)
			default:
				page, err := s.segments.SegmentContacts(r.Context(), q)
				writePage(s, w, r, page, err)
			}
		})
	})
}

// segment reads the segment of the request's {id} and waits for the read
// models its members come from.
func (s *server) segment(w http.ResponseWriter, r *http.Request) (aggregates.SegmentView, bool) {
	id, err := pathID(r, "id")
	if err != nil {
		s.errs.write(w, r, err)
		return aggregates.SegmentView{}, false
	}
	v, _, err := s.cmds.Segment(r.Context(), id, time.Time{})
	if err != nil {
		s.errs.write(w, r, err)
		return v, false
	}
	if !s.caughtUp(w, r, listsProjector, engagementProjector) {
		return v, false
	}
	return v, true
}

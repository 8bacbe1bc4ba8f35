package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

type articleRequest struct {
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Tags    []string `json:"tags"`
	Publish bool     `json:"publish"`
}

// maxSuggestions is the most articles a ticket's page suggests.
const maxSuggestions = 20

// knowledgeRoutes mounts the knowledge base: articles, search, a ticket's
// suggested and linked articles, and GET /reports/knowledge.
func (s *server) knowledgeRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permServiceWrite))
		r.Post("/articles", func(w http.ResponseWriter, r *http.Request) {
			var c commands.DraftArticle
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req articleRequest
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.ArticleContent = aggregates.ArticleContent{Title: req.Title, Body: req.Body, Tags: req.Tags}
					c.Publish = req.Publish
					return nil
				},
				exec: bind(&c, s.cmds.DraftArticle),
			})
		})
		r.Post("/articles/{id}/revisions", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Title string   `json:"title"`
				Body  string   `json:"body"`
				Tags  []string `json:"tags"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ReviseArticle{ArticleID: id, ArticleContent: aggregates.ArticleContent{Title: req.Title, Body: req.Body, Tags: req.Tags}}
			return bind(&c, s.cmds.ReviseArticle), nil
		}))
		r.Post("/articles/{id}/publish", s.entityCommand(true, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct{}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.PublishArticle{ArticleID: id}
			return bind(&c, s.cmds.PublishArticle), nil
		}))
		r.Post("/tickets/{id}/articles", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				ArticleID string `json:"article_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			if !isUUID(req.ArticleID) {
				return nil, badField("article_id", "must be an article id")
			}
			c := commands.LinkArticle{TicketID: id, ArticleID: req.ArticleID}
			return bind(&c, s.cmds.LinkArticle), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permServiceRead))
		r.Get("/articles/{id}", readByID(s, s.cmds.Article))
		r.Get("/articles/{id}/history", s.history(commands.TypeArticle))
		r.Get("/articles", func(w http.ResponseWriter, r *http.Request) {
			p := &listParams{r: r}
			search := readmodels.ArticleSearch{Q: p.text("q"), Published: p.enum("status", aggregates.ArticleDraft, aggregates.ArticlePublished) == aggregates.ArticlePublished}
			status := r.URL.Query().Get("status")
			search.Limit, _ = p.page()
			if p.err != nil {
				s.errs.write(w, r, p.err)
				return
			}
			if !s.caughtUp(w, r, engagementProjector) {
				return
			}
			hits, err := s.engagement.Queries.SearchArticles(r.Context(), search)
			if err == nil && status == aggregates.ArticleDraft {
				kept := hits[:0]
				for _, h := range hits {
					if h.Status == aggregates.ArticleDraft {
						kept = append(kept, h)
					}
				}
				hits = kept
			}
			writePage(s, w, r, readmodels.Page[readmodels.ArticleHit]{Items: hits}, err)
		})
		r.Get("/tickets/{id}/suggested-articles", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			limit := 5
			if v := r.URL.Query().Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > maxSuggestions {
					s.errs.write(w, r, badField("limit", "must be an integer from 1 to 20"))
					return
				}
				limit = n
			}
			if !s.caughtUp(w, r, engagementProjector) {
				return
			}
			t, _, err := s.cmds.Ticket(r.Context(), id, time.Time{})
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			hits, err := s.engagement.Queries.SearchArticles(r.Context(), readmodels.ArticleSearch{Q: t.Subject, Published: true, Limit: limit})
			if err == nil {
				kept := hits[:0]
				for _, h := range hits {
					if h.Rank > 0 {
						kept = append(kept, h)
					}
				}
				hits = kept
			}
			writePage(s, w, r, readmodels.Page[readmodels.ArticleHit]{Items: hits}, err)
		})
		r.Get("/tickets/{id}/articles", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			if !s.caughtUp(w, r, engagementProjector) {
				return
			}
			linked, err := s.engagement.Queries.TicketArticles(r.Context(), id)
			writePage(s, w, r, readmodels.Page[readmodels.LinkedArticle]{Items: linked}, err)
		})
	})
	r.With(require(permReports)).Get("/reports/knowledge", func(w http.ResponseWriter, r *http.Request) {
		if !s.caughtUp(w, r, listsProjector, engagementProjector) {
			return
		}
		st, err := s.engagement.Queries.KnowledgeStats(r.Context())
		s.answer(w, r, st, err)
	})
}

package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// TypeArticle is the entity type of knowledge-base articles.
const TypeArticle = "article"

// DraftArticle creates a knowledge-base article as a draft (version 1),
// published at once when Publish is set.
type DraftArticle struct {
	Envelope
	aggregates.ArticleContent
	Publish bool
}

// DraftArticle handles DraftArticle.
func (h *Handler) DraftArticle(ctx context.Context, c *DraftArticle) error {
	id := h.newID()
	stream := streamOf(TypeArticle, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		a := aggregates.NewArticle(id)
		if err := u.loadNew(stream, a); err != nil {
			return err
		}
		evs, err := a.Draft(c.ArticleContent, u.now)
		if err != nil {
			return err
		}
		if c.Publish {
			for _, e := range evs {
				a.Apply(e)
			}
			pub, err := a.Publish(u.now)
			if err != nil {
				return err
			}
			evs = append(evs, pub...)
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}

// Article returns an article's current state (as of asOf when it is not
// zero) and its version.
func (h *Handler) Article(ctx context.Context, id string, asOf time.Time) (aggregates.ArticleView, int64, error) {
	a := aggregates.NewArticle(id)
	v, err := h.fold(ctx, TypeArticle, id, asOf, a)
	return a.View(), v, err
}

package commands

import (
	"context"

	"crm/aggregates"
)

// PublishArticle publishes an article's current version.
type PublishArticle struct {
	Envelope
	ArticleID string
}

// PublishArticle handles PublishArticle.
func (h *Handler) PublishArticle(ctx context.Context, c *PublishArticle) error {
	return existingCommand(ctx, h, &c.Envelope, TypeArticle, c.ArticleID, aggregates.NewArticle,
		func(u *unit, a *aggregates.Article) ([]aggregates.Event, error) {
			return a.Publish(u.now)
		})
}

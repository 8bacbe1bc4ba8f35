package commands

import (
	"context"

	"crm/aggregates"
)

// ReviseArticle records a new version of an article.
type ReviseArticle struct {
	Envelope
	ArticleID string
	aggregates.ArticleContent
}

// ReviseArticle handles ReviseArticle.
func (h *Handler) ReviseArticle(ctx context.Context, c *ReviseArticle) error {
	return existingCommand(ctx, h, &c.Envelope, TypeArticle, c.ArticleID, aggregates.NewArticle,
		func(u *unit, a *aggregates.Article) ([]aggregates.Event, error) {
			return a.Revise(c.ArticleContent, u.now)
		})
}

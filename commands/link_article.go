package commands

import (
	"context"

	"crm/aggregates"
)

// LinkArticle links a published knowledge-base article to a ticket.
type LinkArticle struct {
	Envelope
	TicketID, ArticleID string
}

// LinkArticle handles LinkArticle. An article that does not exist or is
// not published is an Invalid error naming article_id.
func (h *Handler) LinkArticle(ctx context.Context, c *LinkArticle) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		a := aggregates.NewArticle(c.ArticleID)
		if _, err := u.load(streamOf(TypeArticle, c.ArticleID), a); err != nil {
			return nil, err
		}
		if !a.Exists() {
			return nil, &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "article_id", Message: "no article " + c.ArticleID}
		}
		if a.Status() != aggregates.ArticlePublished {
			return nil, &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "article_id", Message: "article " + c.ArticleID + " is not published"}
		}
		return t.LinkArticle(c.ArticleID, a.Version(), u.now)
	})
}

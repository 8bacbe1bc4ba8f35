package aggregates

import (
	"slices"
	"strings"
	"time"
)

// Article statuses.
const (
	ArticleDraft     = "draft"
	ArticlePublished = "published"
)

// maxTags bounds an article's tags.
const maxTags = 50

// ArticleDraftedEvent records a new knowledge-base article, as version 1.
type ArticleDraftedEvent struct {
	ArticleID string    `json:"article_id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Tags      []string  `json:"tags"`
	Version   int       `json:"version"`
	DraftedAt time.Time `json:"drafted_at"`
}

// ArticleRevisedEvent records a new version of an article: its whole
// content, and the previous version's number.
type ArticleRevisedEvent struct {
	ArticleID       string    `json:"article_id"`
	Title           string    `json:"title"`
	Body            string    `json:"body"`
	Tags            []string  `json:"tags"`
	Version         int       `json:"version"`
	PreviousVersion int       `json:"previous_version"`
	RevisedAt       time.Time `json:"revised_at"`
}

// ArticlePublishedEvent records that an article's current version is
// published.
type ArticlePublishedEvent struct {
	ArticleID   string    `json:"article_id"`
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
}

// TicketArticleLinkedEvent records that a knowledge-base article (at a
// version) was linked to a ticket, as what helps resolve it.
type TicketArticleLinkedEvent struct {
	TicketID       string    `json:"ticket_id"`
	ArticleID      string    `json:"article_id"`
	ArticleVersion int       `json:"article_version"`
	LinkedAt       time.Time `json:"linked_at"`
}

// TypeName implements Event.
func (ArticleDraftedEvent) TypeName() string { return "article.drafted" }

// TypeName implements Event.
func (ArticleRevisedEvent) TypeName() string { return "article.revised" }

// TypeName implements Event.
func (ArticlePublishedEvent) TypeName() string { return "article.published" }

// TypeName implements Event.
func (TicketArticleLinkedEvent) TypeName() string { return "ticket.article_linked" }

// SchemaVersion implements Event.
func (ArticleDraftedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (ArticleRevisedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (ArticlePublishedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketArticleLinkedEvent) SchemaVersion() int { return 1 }

// ArticleEvents lists a sample of every knowledge-base event type,
// including the ticket's link to an article.
func ArticleEvents() []Event {
	return []Event{ArticleDraftedEvent{}, ArticleRevisedEvent{}, ArticlePublishedEvent{}, TicketArticleLinkedEvent{}}
}

// ArticleContent is an article version's content.
type ArticleContent struct {
	Title, Body string
	Tags        []string
}

// validate checks the content and returns its tags trimmed, deduplicated
// and sorted.
func (c ArticleContent) validate() ([]string, error) {
	if err := required("title", c.Title); err != nil {
		return nil, err
	}
	if err := requiredLong("body", c.Body); err != nil {
		return nil, err
	}
	if len(c.Tags) > maxTags {
		return nil, invalid("tags", "lists more than %d tags", maxTags)
	}
	tags := []string{}
	for _, t := range c.Tags {
		t = strings.TrimSpace(t)
		if err := required("tags", t); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// Article is a knowledge-base article with numbered versions.
type Article struct {
	id        string
	exists    bool
	content   ArticleContent
	version   int
	status    string
	published int
	created   time.Time
	updated   time.Time
}

// NewArticle returns an empty article with the given id.
func NewArticle(id string) *Article { return &Article{id: id} }

// Exists reports whether the article was drafted.
func (a *Article) Exists() bool { return a.exists }

// Version is the article's current version.
func (a *Article) Version() int { return a.version }

// Status is draft or published.
func (a *Article) Status() string { return a.status }

// Apply folds one event into the article's state.
func (a *Article) Apply(e Event) {
	switch e := e.(type) {
	case ArticleDraftedEvent:
		a.exists, a.status, a.version = true, ArticleDraft, e.Version
		a.content = ArticleContent{Title: e.Title, Body: e.Body, Tags: e.Tags}
		a.created, a.updated = e.DraftedAt, e.DraftedAt
	case ArticleRevisedEvent:
		a.version, a.updated = e.Version, e.RevisedAt
		a.content = ArticleContent{Title: e.Title, Body: e.Body, Tags: e.Tags}
	case ArticlePublishedEvent:
		a.status, a.published = ArticlePublished, e.Version
	}
}

func (a *Article) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "article " + a.id + " not found"}
}

// Draft validates c and returns the event that creates the article.
func (a *Article) Draft(c ArticleContent, now time.Time) ([]Event, error) {
	if a.exists {
		return nil, refused("article_exists", "article %s already exists", a.id)
	}
	tags, err := c.validate()
	if err != nil {
		return nil, err
	}
	return []Event{ArticleDraftedEvent{ArticleID: a.id, Title: c.Title, Body: c.Body, Tags: tags, Version: 1, DraftedAt: utc(now)}}, nil
}

// Revise records a new version with content c; content equal to the
// current version's changes nothing. A published article stays published
// with its new version.
func (a *Article) Revise(c ArticleContent, now time.Time) ([]Event, error) {
	if !a.exists {
		return nil, a.notFound()
	}
	tags, err := c.validate()
	if err != nil {
		return nil, err
	}
	if c.Title == a.content.Title && c.Body == a.content.Body && slices.Equal(tags, a.content.Tags) {
		return nil, nil
	}
	return []Event{ArticleRevisedEvent{ArticleID: a.id, Title: c.Title, Body: c.Body, Tags: tags, Version: a.version + 1,
		PreviousVersion: a.version, RevisedAt: utc(now)}}, nil
}

// Publish publishes the current version; publishing it again changes
// nothing.
func (a *Article) Publish(now time.Time) ([]Event, error) {
	if !a.exists {
		return nil, a.notFound()
	}
	if a.status == ArticlePublished && a.published == a.version {
		return nil, nil
	}
	return []Event{ArticlePublishedEvent{ArticleID: a.id, Version: a.version, PublishedAt: utc(now)}}, nil
}

// ArticleView is an article's current state as the API shows it.
// ArticleVersion numbers its content (1, 2, ... per revision), apart from
// the stream version reads add.
type ArticleView struct {
	ID               string    `json:"id"`
	Title            string    `json:"title"`
	Body             string    `json:"body"`
	Tags             []string  `json:"tags"`
	Status           string    `json:"status"`
	ArticleVersion   int       `json:"article_version"`
	PublishedVersion *int      `json:"published_version"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// View returns the article's current state.
func (a *Article) View() ArticleView {
	v := ArticleView{ID: a.id, Title: a.content.Title, Body: a.content.Body, Tags: a.content.Tags, Status: a.status,
		ArticleVersion: a.version, CreatedAt: a.created, UpdatedAt: a.updated}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if a.published > 0 {
		p := a.published
		v.PublishedVersion = &p
	}
	return v
}

// LinkArticle links a published article at version to the ticket; an
// article already linked is refused.
func (t *Ticket) LinkArticle(articleID string, version int, now time.Time) ([]Event, error) {
	if !t.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "ticket " + t.id + " not found"}
	}
	if err := required("article_id", articleID); err != nil {
		return nil, err
	}
	if slices.Contains(t.articles, articleID) {
		return nil, refused("article_already_linked", "article %s is already linked to ticket %s", articleID, t.id)
	}
	return []Event{TicketArticleLinkedEvent{TicketID: t.id, ArticleID: articleID, ArticleVersion: version, LinkedAt: utc(now)}}, nil
}

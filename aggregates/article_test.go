package aggregates

import (
	"strings"
	"testing"
	"time"
)

var articleDrafted = ArticleDraftedEvent{ArticleID: "K1", Title: "Reset a password", Body: "Use the login page.",
	Tags: []string{"account", "login"}, Version: 1, DraftedAt: t0}

func TestArticle(t *testing.T) {
	content := ArticleContent{Title: "Reset a password", Body: "Use the login page.", Tags: []string{"login", " account ", "login"}}
	published := ArticlePublishedEvent{ArticleID: "K1", Version: 1, PublishedAt: t0}
	tests := []struct {
		name    string
		history []Event
		when    func(*Article) ([]Event, error)
		want    outcome
	}{
		{"draft with tags trimmed, sorted, once", nil, func(a *Article) ([]Event, error) { return a.Draft(content, t0) }, expectEvents(articleDrafted)},
		{"draft twice", []Event{articleDrafted}, func(a *Article) ([]Event, error) { return a.Draft(content, t0) }, expectRefused("article_exists")},
		{"no title", nil, func(a *Article) ([]Event, error) { return a.Draft(ArticleContent{Body: "x"}, t0) }, expectInvalid("title")},
		{"no body", nil, func(a *Article) ([]Event, error) { return a.Draft(ArticleContent{Title: "x", Body: " "}, t0) }, expectInvalid("body")},
		{"a huge body", nil, func(a *Article) ([]Event, error) {
			return a.Draft(ArticleContent{Title: "x", Body: strings.Repeat("x", 10001)}, t0)
		}, expectInvalid("body")},
		{"an empty tag", nil, func(a *Article) ([]Event, error) {
			return a.Draft(ArticleContent{Title: "x", Body: "y", Tags: []string{""}}, t0)
		}, expectInvalid("tags")},
		{"revise", []Event{articleDrafted}, func(a *Article) ([]Event, error) {
			return a.Revise(ArticleContent{Title: "Reset a password", Body: "Use the login page or call us."}, t0.Add(time.Hour))
		}, expectEvents(ArticleRevisedEvent{ArticleID: "K1", Title: "Reset a password", Body: "Use the login page or call us.", Tags: []string{},
			Version: 2, PreviousVersion: 1, RevisedAt: t0.Add(time.Hour)})},
		{"revise to the same content", []Event{articleDrafted}, func(a *Article) ([]Event, error) { return a.Revise(content, t0) }, expectEvents()},
		{"revise a missing article", nil, func(a *Article) ([]Event, error) { return a.Revise(content, t0) }, expectNotFound()},
		{"publish", []Event{articleDrafted}, func(a *Article) ([]Event, error) { return a.Publish(t0) }, expectEvents(published)},
		{"publish again", []Event{articleDrafted, published}, func(a *Article) ([]Event, error) { return a.Publish(t0) }, expectEvents()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewArticle("K1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
	v := given(NewArticle("K1"), articleDrafted, published, ArticleRevisedEvent{ArticleID: "K1", Title: "T2", Body: "B2", Version: 2, RevisedAt: t0}).View()
	if v.Status != ArticlePublished || v.ArticleVersion != 2 || v.PublishedVersion == nil || *v.PublishedVersion != 1 || v.Title != "T2" {
		t.Errorf("view after a revision of a published article: %+v", v)
	}
}

func TestTicketLinkArticle(t *testing.T) {
	opened := TicketOpenedEvent{TicketID: "T1", Subject: "Cannot log in", Priority: "normal", Channel: "email"}
	linked := TicketArticleLinkedEvent{TicketID: "T1", ArticleID: "K1", ArticleVersion: 2, LinkedAt: t0}
	tests := []struct {
		name    string
		history []Event
		want    outcome
	}{
		{"link", []Event{opened}, expectEvents(linked)},
		{"link twice", []Event{opened, linked}, expectRefused("article_already_linked")},
		{"link on a missing ticket", nil, expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := given(NewTicket("T1"), tt.history...).LinkArticle("K1", 2, t0)
			check(t, got, err, tt.want)
		})
	}
}

func TestTasks(t *testing.T) {
	due := t0.Add(2 * time.Hour)
	logged := ActivityLoggedEvent{ActivityID: "A1", EntityType: "account", EntityID: "X1", Kind: "task", Subject: "Send the contract",
		DueAt: &due, OwnerID: "rep-1", LoggedAt: t0}
	reminded := TaskReminderEvent{ActivityID: "A1", EntityType: "account", EntityID: "X1", OwnerID: "rep-1", Subject: "Send the contract",
		DueAt: due, RemindedAt: due}
	done := TaskCompletedEvent{ActivityID: "A1", EntityType: "account", EntityID: "X1", CompletedAt: due}
	note := ActivityLoggedEvent{ActivityID: "N1", EntityType: "account", EntityID: "X1", Kind: "note", Subject: "n", LoggedAt: t0}
	tests := []struct {
		name    string
		history []Event
		when    func(*Tasks) ([]Event, error)
		want    outcome
	}{
		{"remind when due", []Event{logged}, func(ts *Tasks) ([]Event, error) { return ts.Remind("A1", due) }, expectEvents(reminded)},
		{"not before it is due", []Event{logged}, func(ts *Tasks) ([]Event, error) { return ts.Remind("A1", due.Add(-time.Second)) }, expectEvents()},
		{"once", []Event{logged, reminded}, func(ts *Tasks) ([]Event, error) { return ts.Remind("A1", due.Add(time.Hour)) }, expectEvents()},
		{"never when done", []Event{logged, done}, func(ts *Tasks) ([]Event, error) { return ts.Remind("A1", due) }, expectEvents()},
		{"not a task", []Event{note}, func(ts *Tasks) ([]Event, error) { return ts.Remind("N1", due) }, expectNotFound()},
		{"complete", []Event{logged}, func(ts *Tasks) ([]Event, error) { return ts.Complete("A1", due) }, expectEvents(done)},
		{"complete twice", []Event{logged, done}, func(ts *Tasks) ([]Event, error) { return ts.Complete("A1", due) }, expectEvents()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewTasks(), tt.history...))
			check(t, got, err, tt.want)
		})
	}
}

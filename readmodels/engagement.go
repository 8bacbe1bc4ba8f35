package readmodels

import (
	"strings"
	"unicode"
)

// EngagementProjector builds the marketing and service read models
// (EngagementSchema): campaigns, the knowledge base, activities and
// tasks, and accounts by normalised name.
const EngagementProjector = "engagement"

// EngagementSchemaName is the live schema of the engagement read models.
const EngagementSchemaName = SchemaPrefix + EngagementProjector

// EngagementSchema is the DDL of the engagement read models. Table names
// are unqualified; the projector runs it with search_path set to its
// schema.
//
// articles.search is the article's full-text vector: its English words
// through the "english" text search configuration (stemmed, stop words
// dropped) and its Chinese, Japanese and Korean text as overlapping
// character bigrams, stored as lexemes as they are (see SearchText). A
// query is made the same way (SearchQuery), so "登录失败" finds an article
// containing "无法登录" through the shared bigram "登录".
const EngagementSchema = `
CREATE TABLE campaigns (
	id          text COLLATE "C" PRIMARY KEY,
	name        text NOT NULL,
	channel     text NOT NULL,
	start_date  date NOT NULL,
	end_date    date,
	budget      numeric NOT NULL,
	actual_cost numeric NOT NULL DEFAULT 0,
	currency    text NOT NULL,
	status      text NOT NULL,
	created_at  timestamptz NOT NULL
);
CREATE INDEX campaigns_created ON campaigns (created_at, id);

CREATE TABLE articles (
	id                text COLLATE "C" PRIMARY KEY,
	title             text NOT NULL,
	body              text NOT NULL,
	tags              text[] NOT NULL DEFAULT '{}',
	status            text NOT NULL,
	version           integer NOT NULL,
	published_version integer,
	search            tsvector NOT NULL,
	created_at        timestamptz NOT NULL,
	updated_at        timestamptz NOT NULL
);
CREATE INDEX articles_search ON articles USING gin (search);
CREATE INDEX articles_created ON articles (created_at, id);

CREATE TABLE ticket_articles (
	ticket_id       text COLLATE "C" NOT NULL,
	article_id      text COLLATE "C" NOT NULL,
	article_version integer NOT NULL,
	linked_at       timestamptz NOT NULL,
	PRIMARY KEY (ticket_id, article_id)
);
CREATE INDEX ticket_articles_article ON ticket_articles (article_id);

CREATE TABLE activities (
	id          text COLLATE "C" PRIMARY KEY,
	entity_type text NOT NULL,
	entity_id   text COLLATE "C" NOT NULL,
	kind        text NOT NULL,
	subject     text NOT NULL,
	owner_id    text NOT NULL DEFAULT '',
	due_at      timestamptz,
	done        boolean NOT NULL DEFAULT false,
	logged_at   timestamptz NOT NULL,
	reminded_at timestamptz
);
CREATE INDEX activities_entity ON activities (entity_id, logged_at);
CREATE INDEX activities_tasks ON activities (due_at, id) WHERE kind = 'task';

CREATE TABLE lead_scores (
	id    text COLLATE "C" PRIMARY KEY,
	score integer NOT NULL
);

CREATE TABLE account_names (
	id         text COLLATE "C" PRIMARY KEY,
	normalized text NOT NULL
);
CREATE INDEX account_names_normalized ON account_names (normalized, id);
`

// engagementSchema is the live schema of the engagement projector.
const engagementSchema = EngagementSchemaName

// isCJK reports whether r is written without spaces between words (Han,
// Hiragana, Katakana, Hangul).
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// SearchText splits text for the article search: the text with its CJK
// characters replaced by spaces (for the english configuration), and the
// CJK runs as overlapping bigrams (a run of one character is itself), in
// order of appearance, without repeats.
func SearchText(text string) (words string, bigrams []string) {
	var w strings.Builder
	var run []rune
	seen := map[string]bool{}
	flush := func() {
		add := func(s string) {
			if !seen[s] {
				seen[s] = true
				bigrams = append(bigrams, s)
			}
		}
		switch {
		case len(run) == 1:
			add(string(run))
		case len(run) > 1:
			for i := 0; i+1 < len(run); i++ {
				add(string(run[i : i+2]))
			}
		}
		run = run[:0]
	}
	for _, r := range text {
		if isCJK(r) {
			run = append(run, r)
			w.WriteRune(' ')
			continue
		}
		flush()
		w.WriteRune(r)
	}
	flush()
	return w.String(), bigrams
}

// SearchQuery turns free text into the two halves of an article search
// that matches any of its terms: english is a to_tsquery('english', ...)
// expression of its words joined by |, cjk a tsquery literal of its
// bigrams joined by |. Either is empty when the text has no such terms.
func SearchQuery(text string) (english, cjk string) {
	words, bigrams := SearchText(text)
	var terms []string
	for _, f := range strings.FieldsFunc(words, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		if len(terms) < 64 {
			terms = append(terms, strings.ToLower(f))
		}
	}
	english = strings.Join(terms, " | ")
	quoted := make([]string, 0, len(bigrams))
	for _, b := range bigrams {
		if len(quoted) < 64 {
			quoted = append(quoted, "'"+strings.ReplaceAll(b, "'", "''")+"'")
		}
	}
	return english, strings.Join(quoted, " | ")
}

package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"crm/readmodels"
)

// searchReadPerm is the permission that lets a caller see each searchable
// type: a search spans only the types the caller's role may list.
var searchReadPerm = map[string]string{
	readmodels.SearchLead:        permSalesRead,
	readmodels.SearchOpportunity: permSalesRead,
	readmodels.SearchAccount:     permAccountsRead,
	readmodels.SearchContact:     permAccountsRead,
	readmodels.SearchTicket:      permServiceRead,
}

// searchRoutes mounts GET /search: one search over leads, accounts,
// contacts, opportunities and tickets.
func (s *server) searchRoutes(r chi.Router) {
	r.With(checked).Get("/search", s.search)
}

// search serves GET /search?q=&types=&limit=: the best matches of q among
// the types asked for (default: every type the role may list), from the
// lists read model. Asking for a type the role may not list is 403.
func (s *server) search(w http.ResponseWriter, r *http.Request) {
	p := &listParams{r: r}
	q := strings.TrimSpace(p.text("q"))
	if q == "" && p.err == nil {
		p.fail("q", "is required: the text to look for")
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > readmodels.MaxSearchLimit {
			p.fail("limit", "must be an integer from 1 to "+strconv.Itoa(readmodels.MaxSearchLimit))
		}
		limit = n
	}
	role := principalOf(r.Context()).Role
	var types []string
	if v := r.URL.Query().Get("types"); v != "" {
		for _, t := range strings.Split(v, ",") {
			if !slices.Contains(readmodels.SearchTypes, t) {
				p.fail("types", "must be a comma-separated list of "+strings.Join(readmodels.SearchTypes, ", "))
				break
			}
			if !Allowed(role, searchReadPerm[t]) && p.err == nil {
				s.errs.write(w, r, codedErr(kindForbidden, "forbidden", "role "+role+" may not list "+t+"s (needs "+searchReadPerm[t]+")"))
				return
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	} else {
		for _, t := range readmodels.SearchTypes {
			if Allowed(role, searchReadPerm[t]) {
				types = append(types, t)
			}
		}
	}
	if p.err != nil {
		s.errs.write(w, r, p.err)
		return
	}
	if !s.caughtUp(w, r, listsProjector) {
		return
	}
	hits, err := s.lists.Search(r.Context(), readmodels.SearchFilter{Q: q, Types: types, Limit: limit})
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": hits})
}

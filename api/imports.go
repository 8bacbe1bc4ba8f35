package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"crm/commands"
	"crm/internal/csvimport"
)

type importRequest struct {
	Kind    string            `json:"kind"`
	DryRun  bool              `json:"dry_run"`
	Mapping map[string]string `json:"mapping"`
	CSV     string            `json:"csv"`
}

// importRoutes mounts POST /imports: a CSV file of leads, accounts or
// contacts, checked (dry_run) or imported.
func (s *server) importRoutes(r chi.Router) {
	r.With(require(permSalesWrite)).Post("/imports", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, false)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		var req importRequest
		if err := decodeStrict(body, &req); err != nil {
			s.errs.write(w, r, err)
			return
		}
		switch {
		case !slices.Contains(commands.ImportKinds, req.Kind):
			s.errs.write(w, r, badField("kind", "must be one of "+strings.Join(commands.ImportKinds, ", ")))
			return
		case strings.TrimSpace(req.CSV) == "":
			s.errs.write(w, r, badField("csv", "is required: the file's text, header row first"))
			return
		}
		rows, err := csvimport.Parse(strings.NewReader(req.CSV), req.Kind, req.Mapping)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		// Duplicates are looked up in the read models: they must hold
		// every record committed before this request.
		if !s.caughtUpWithLog(w, r, listsProjector, engagementProjector) {
			return
		}
		p := principalOf(r.Context())
		cmdID := uuid.Must(uuid.NewV7()).String()
		c := commands.Import{Kind: req.Kind, Rows: rows, DryRun: req.DryRun, Accounts: s.engagement.Queries}
		c.Metadata = commands.Metadata{Actor: p.Actor(), CommandID: cmdID, CorrelationID: CorrelationID(r.Context()), CausationID: cmdID}
		if err := s.cmds.Import(r.Context(), &c); err != nil {
			s.errs.write(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, c.Report)
	})
}

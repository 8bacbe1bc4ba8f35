package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
	"crm/readmodels"
)

// taskRoutes mounts GET /tasks and the completion of a task on each kind
// of entity: POST /{leads|accounts|opportunities|tickets}/{id}/tasks/{task_id}/complete.
func (s *server) taskRoutes(r chi.Router) {
	r.With(require(permSalesRead)).Get("/tasks", func(w http.ResponseWriter, r *http.Request) {
		p := &listParams{r: r}
		f := readmodels.TaskFilter{OwnerID: p.text("owner_id"), Done: p.boolean("done"), Now: s.engagement.Now()}
		f.Limit, f.Cursor = p.page()
		if p.err != nil {
			s.errs.write(w, r, p.err)
			return
		}
		due, err := timeParam(r, "due_before")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		f.DueBefore = due
		if !s.caughtUp(w, r, engagementProjector) {
			return
		}
		page, err := s.engagement.Queries.Tasks(r.Context(), f)
		writePage(s, w, r, page, err)
	})
	for _, k := range []struct{ path, entityType, perm string }{
		{"leads", commands.TypeLead, permSalesWrite}, {"accounts", commands.TypeAccount, permSalesWrite},
		{"opportunities", commands.TypeOpportunity, permSalesWrite}, {"tickets", commands.TypeTicket, permServiceWrite},
	} {
		r.With(require(k.perm)).Post("/"+k.path+"/{id}/tasks/{task_id}/complete", func(w http.ResponseWriter, r *http.Request) {
			taskID, err := pathID(r, "task_id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			s.entityCommand(true, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
				var req struct{}
				if err := decodeStrict(body, &req); err != nil {
					return nil, err
				}
				c := commands.CompleteTask{EntityType: k.entityType, EntityID: id, ActivityID: taskID}
				return bind(&c, s.cmds.CompleteTask), nil
			})(w, r)
		})
	}
}

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
	r.With(require(permSalesRead)).Get("/tasks", listOrExport(s, "tasks", taskColumns, engagementProjector, s.parseTaskFilter,
		func(ctx context.Context, f readmodels.TaskFilter) (readmodels.Page[readmodels.TaskRow], error) {
			return s.engagement.Queries.Tasks(ctx, f)
		}, func(f readmodels.TaskFilter, c string) readmodels.TaskFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		}))
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

// parseTaskFilter reads GET /tasks' filter (400 naming a bad parameter).
func (s *server) parseTaskFilter(r *http.Request) (readmodels.TaskFilter, error) {
	p := &listParams{r: r}
	f := readmodels.TaskFilter{OwnerID: p.text("owner_id"), Done: p.boolean("done"), Now: s.engagement.Now()}
	f.Limit, f.Cursor = p.page()
	if p.err != nil {
		return f, p.err
	}
	due, err := timeParam(r, "due_before")
	f.DueBefore = due
	return f, err
}

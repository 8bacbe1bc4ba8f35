package workflows_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestTaskReminderWhenDue: a task logged with a due time gets one
// reminder event when the time comes, none before, and a task done in
// the meantime none at all.
func TestTaskReminderWhenDue(t *testing.T) {
	e := newEnv(t)
	acc := e.account("standard")
	due := e.clock.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/accounts/"+acc+"/activities", map[string]any{"kind": "task", "subject": "Call back",
		"owner_id": "rep-1", "due_at": due}))
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/accounts/"+acc+"/activities", map[string]any{"kind": "task", "subject": "Send the quote",
		"owner_id": "rep-1", "due_at": due}))
	e.eventually("reminders scheduled", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines WHERE kind = 'task_reminder'`).Scan(&n)
		return n == 2
	})
	var doneTask string
	for _, ev := range e.history("accounts", acc) {
		if ev["type"] == "activity.logged.v1" && ev["data"].(map[string]any)["subject"] == "Send the quote" {
			doneTask = ev["data"].(map[string]any)["activity_id"].(string)
		}
	}
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/accounts/"+acc+"/tasks/"+doneTask+"/complete", nil))
	e.advance(time.Hour)
	time.Sleep(200 * time.Millisecond)
	if n := len(e.eventsOf("accounts", acc, "task.reminder_due.v1")); n != 0 {
		t.Fatal("reminded before the due time")
	}
	e.advance(time.Hour + time.Second)
	e.eventually("reminder", func() bool { return len(e.eventsOf("accounts", acc, "task.reminder_due.v1")) == 1 })
	e.eventually("all deadlines fired", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines WHERE fired_at IS NULL`).Scan(&n)
		return n == 0
	})
	rem := e.eventsOf("accounts", acc, "task.reminder_due.v1")
	if len(rem) != 1 || rem[0]["data"].(map[string]any)["subject"] != "Call back" || rem[0]["metadata"].(map[string]any)["actor"] != "automation:task_reminder" {
		t.Errorf("reminders: %v", rem)
	}
}

package commands

import (
	"context"

	"crm/aggregates"
)

// DisableWebForm stops a web form accepting submissions; its token then
// answers 404.
type DisableWebForm struct {
	Envelope
	FormID, Reason string
}

// DisableWebForm handles DisableWebForm.
func (h *Handler) DisableWebForm(ctx context.Context, c *DisableWebForm) error {
	return existingCommand(ctx, h, &c.Envelope, TypeWebForm, c.FormID, aggregates.NewWebForm,
		func(_ *unit, f *aggregates.WebForm) ([]aggregates.Event, error) { return f.Disable(c.Reason) })
}

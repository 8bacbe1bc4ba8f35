package app

import (
	"context"
	"errors"

	"crm/commands"
	"crm/readmodels"
)

// Import runs an import through the command side, finding duplicate
// accounts in the read models (their normalised names). It needs the
// command side (Config.Commands).
func (a *App) Import(ctx context.Context, c *commands.Import) error {
	if a.Commands == nil {
		return errors.New("app: imports need the command side")
	}
	if c.Accounts == nil {
		c.Accounts = readmodels.New(a.DB.Pool)
	}
	return a.Commands.Import(ctx, c)
}

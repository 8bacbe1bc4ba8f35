package main

import (
	"context"
	"crm/internal/app"
	"fmt"
	"io"
)

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		dbc  dbConfig
		logc logConfig
	)
	f := newFlagSet("migrate")
	dbc.register(f)
	logc.register(f)
	if err := f.parse(args); err != nil {
		if err == errHelp {
			f.usage(stdout, "Apply pending database migrations and exit.")
		}
		return err
	}
	if err := dbc.check(); err != nil {
		return err
	}
	log := logc.logger(stderr)
	// Building the root opens the database and applies every pending
	// migration, in the one order the root owns.
	a, err := app.Build(ctx, app.Config{Database: dbc.app(), Logger: log})
	if err != nil {
		return err
	}
	a.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

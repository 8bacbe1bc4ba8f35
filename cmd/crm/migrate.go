package main

import (
	"context"
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
	db, err := openDatabase(ctx, dbc, log)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"crm/internal/apikeys"
	"crm/internal/app"
)

func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "usage: crm keys create --name NAME --role ROLE")
			return errHelp
		}
		return &usageError{msg: "want: keys create --name NAME --role ROLE"}
	}
	var (
		dbc        dbConfig
		logc       logConfig
		name, role string
	)
	f := newFlagSet("keys create")
	dbc.register(f)
	logc.register(f)
	f.StringVar(&name, "name", "", "name of the key's holder (required)")
	f.StringVar(&role, "role", "", "role: "+strings.Join(apikeys.Roles, ", ")+" (required)")
	if err := f.parse(args[1:]); err != nil {
		if err == errHelp {
			f.usage(stdout, "Create an API key and print its secret once.")
		}
		return err
	}
	if strings.TrimSpace(name) == "" {
		return &usageError{msg: "missing value for -name"}
	}
	if err := checkRole(role); err != nil {
		return err
	}
	if err := dbc.check(); err != nil {
		return err
	}
	a, err := app.Build(ctx, app.Config{Database: dbc.app(), Logger: logc.logger(stderr)})
	if err != nil {
		return err
	}
	defer a.Close()
	k, secret, err := a.Keys.Create(ctx, name, role)
	if err != nil {
		if errors.Is(err, apikeys.ErrInvalid) {
			return &usageError{msg: err.Error()}
		}
		return err
	}
	fmt.Fprintf(stdout, "%s\n", secret)
	fmt.Fprintf(stderr, "created key %s (%s, role %s); the secret above is shown only once\n", k.ID, k.Name, k.Role)
	return nil
}

func checkRole(role string) error {
	for _, r := range apikeys.Roles {
		if r == role {
			return nil
		}
	}
	return &usageError{msg: fmt.Sprintf("invalid value %q for -role: must be one of %s", role, strings.Join(apikeys.Roles, ", "))}
}

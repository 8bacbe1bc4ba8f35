package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"crm/internal/app"
	"crm/internal/customreports"
)

const reportsUsage = "usage: crm reports apply FILE | list | rebuild NAME | drop NAME"

// reportsCmd manages analysts' reports: apply a YAML definition, list
// them with their state and progress, rebuild or drop one. The reports run
// in crm serve.
func reportsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: "want: " + reportsUsage[len("usage: crm "):]}
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" {
		fmt.Fprintln(stdout, reportsUsage)
		return errHelp
	}
	var (
		dbc  dbConfig
		esc  eventStoreValue
		logc logConfig
	)
	f := newFlagSet("reports " + sub)
	dbc.register(f)
	esc.register(f)
	logc.register(f)
	rest := args[1:]
	var operand string
	switch sub {
	case "apply", "rebuild", "drop":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			what := "NAME"
			if sub == "apply" {
				what = "FILE"
			}
			return &usageError{msg: sub + " takes a " + what}
		}
		operand, rest = rest[0], rest[1:]
	case "list":
	default:
		return &usageError{msg: fmt.Sprintf("unknown reports command %q; %s", sub, reportsUsage)}
	}
	if err := f.parse(rest); err != nil {
		if err == errHelp {
			f.usage(stdout, reportsUsage)
		}
		return err
	}
	if err := dbc.check(); err != nil {
		return err
	}
	var def customreports.Definition
	if sub == "apply" {
		b, err := os.ReadFile(operand)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		if def, err = customreports.ParseYAML(b); err != nil {
			return &usageError{msg: operand + ": " + err.Error()}
		}
	}
	log := logc.logger(stderr)
	a, err := app.Build(ctx, app.Config{Database: dbc.app(), EventStoreURL: esc.value, Logger: log, Reports: &customreports.Options{}})
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Reports
	var invalid *customreports.InvalidError
	switch sub {
	case "apply":
		st, err := svc.Create(ctx, def, "cli")
		if errors.As(err, &invalid) {
			return &usageError{msg: operand + ": " + invalid.Error()}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report %s created (tables %s); crm serve replays the log into it: follow it with crm reports list\n",
			st.Name, strings.Join(st.Tables, ", "))
	case "list":
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tUNTIL\tEVENTS\tCAUGHT UP\tERROR")
		for _, s := range list {
			until, msg := "-", "-"
			if s.Until != nil {
				until = s.Until.Format("2006-01-02T15:04:05Z07:00")
			}
			if s.Error != nil {
				msg = fmt.Sprintf("%s (handler %s at %s)", s.Error.Message, orDash(s.Error.Handler), s.Error.Position)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%v\t%s\n", s.Name, s.State, until, s.Progress.EventsSeen, s.Progress.CaughtUp, msg)
		}
		return tw.Flush()
	case "rebuild":
		if _, err := svc.Rebuild(ctx, operand); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report %s will be replayed from the start\n", operand)
	case "drop":
		if err := svc.Drop(ctx, operand); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report %s dropped\n", operand)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"

	"crm/commands"
	"crm/internal/app"
	"crm/internal/csvimport"
)

const importUsage = `usage: crm import leads|accounts|contacts FILE.csv [--map "Header=field,..."] [--dry-run] [flags]

Creates the file's records through the command side, as the API does.
--dry-run reports what would be created, the invalid rows and the
duplicates, and stores nothing. A real run with an invalid row stores
nothing; otherwise it creates the new rows in chunks, each stored once:
running the same file again (after an interruption, or twice) creates
only what is not there yet.`

// mappingValue is --map: "Header=field" pairs separated by commas.
type mappingValue struct{ m map[string]string }

func (v *mappingValue) String() string { return "" }

func (v *mappingValue) Set(s string) error {
	v.m = map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		h, f, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(h) == "" || strings.TrimSpace(f) == "" {
			return fmt.Errorf("want Header=field pairs separated by commas, got %q", pair)
		}
		v.m[strings.TrimSpace(h)] = strings.TrimSpace(f)
	}
	return nil
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, importUsage)
		if len(args) == 0 {
			return &usageError{msg: "want: import leads|accounts|contacts FILE.csv"}
		}
		return errHelp
	}
	kind := args[0]
	if _, ok := commands.ImportFields[kind]; !ok {
		return &usageError{msg: fmt.Sprintf("unknown import kind %q: want leads, accounts or contacts", kind)}
	}
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return &usageError{msg: "want: import " + kind + " FILE.csv"}
	}
	file := args[1]
	var (
		dbc     dbConfig
		logc    logConfig
		mkc     masterKeyConfig
		mapping mappingValue
		dryRun  bool
		chunk   int
		workers int
	)
	f := newFlagSet("import " + kind)
	dbc.register(f)
	logc.register(f)
	mkc.register(f)
	f.Var(&mapping, "map", `column mapping "Header=field,..." (default: headers named like fields)`)
	f.BoolVar(&dryRun, "dry-run", false, "check the file and report, storing nothing")
	f.IntVar(&chunk, "chunk", 500, "rows per atomic append")
	f.IntVar(&workers, "workers", 4, "chunks stored at once")
	var progress enumValue
	registerProgress(f, &progress)
	if err := f.parse(args[2:]); err != nil {
		if err == errHelp {
			f.usage(stdout, importUsage)
		}
		return err
	}
	if chunk < 1 || chunk > 5000 || workers < 1 || workers > 64 {
		return &usageError{msg: "invalid value for -chunk (1 to 5000) or -workers (1 to 64)"}
	}
	if err := dbc.check(); err != nil {
		return err
	}
	if err := mkc.check(dbc); err != nil {
		return err
	}
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	rows, err := csvimport.Parse(fh, kind, mapping.m)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	a, err := app.Build(ctx, app.Config{Database: dbc.app(), Logger: logc.logger(stderr), MasterKey: mkc.source(dbc), Commands: true})
	if err != nil {
		return err
	}
	defer a.Close()
	actor := "cli:import"
	if u, err := user.Current(); err == nil {
		actor += ":" + u.Username
	}
	id := uuid.Must(uuid.NewV7()).String()
	bar := newProgressBar(stderr, "import", progress.value)
	bar.unit = "rows"
	c := commands.Import{Kind: kind, Rows: rows, DryRun: dryRun, ChunkSize: chunk, Workers: workers,
		Progress: func(done, total int) { bar.update(int64(done), int64(total)) }}
	c.Metadata = commands.Metadata{Actor: actor, CommandID: id, CorrelationID: id, CausationID: id}
	err = a.Import(ctx, &c)
	var invalid *commands.ImportInvalidError
	if errors.As(err, &invalid) {
		printProblems(stdout, invalid.Problems)
		return fmt.Errorf("%s: %d invalid values; nothing was imported (run with --dry-run for the whole report)", file, len(invalid.Problems))
	}
	if err != nil {
		return err
	}
	if !dryRun {
		bar.done(int64(len(rows)), int64(len(rows)))
	}
	r := c.Report
	if dryRun {
		fmt.Fprintf(stdout, "dry run of %d rows: %d would be created, %d duplicates, %d invalid\n", r.Rows, r.WouldCreate, r.Duplicates, r.Invalid)
	} else {
		fmt.Fprintf(stdout, "%d rows: %d created, %d duplicates, %d already imported\n", r.Rows, r.Created, r.Duplicates, r.AlreadyImported)
	}
	printProblems(stdout, r.Problems)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, res := range r.Results {
		if res.Action == commands.RowDuplicate {
			of := res.DuplicateOf
			if of == "" {
				of = fmt.Sprintf("row %d", res.DuplicateRow)
			}
			fmt.Fprintf(tw, "row %d\tduplicate\t%s\tof %s\n", res.Row, res.Field, of)
		}
	}
	return tw.Flush()
}

// printProblems lists invalid values, one a line.
func printProblems(w io.Writer, problems []commands.RowProblem) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range problems {
		fmt.Fprintf(tw, "row %d\tinvalid\t%s\t%s\n", p.Row, p.Column, p.Message)
	}
	_ = tw.Flush()
}

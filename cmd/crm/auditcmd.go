package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"crm/internal/app"
	"crm/internal/integrity"
)

const auditUsage = `usage: crm audit verify [--database-url URL | --data-dir DIR] [--seal-key KEY] [--seal-interval D] [--anchor FILE]
       crm audit seal [--database-url URL | --data-dir DIR] [--seal-key KEY] [--anchor FILE] [--export FILE] [--accept-unsealed]`

// errVerifyFailed makes crm exit 1 after printing a failed verification.
var errVerifyFailed = errors.New("the event log failed verification")

// auditCmd runs `crm audit verify` and `crm audit seal`.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return auditVerify(ctx, args[1:], stdout, stderr)
		case "seal":
			return auditSeal(ctx, args[1:], stdout, stderr)
		case "-h", "--help":
			fmt.Fprintln(stdout, auditUsage)
			return errHelp
		}
	}
	return &usageError{msg: "want: audit verify | audit seal"}
}

// auditFlags are the flags both audit commands take.
type auditFlags struct {
	db   dbConfig
	log  logConfig
	seal sealConfig
}

func (a *auditFlags) parse(name, synopsis string, args []string, stdout io.Writer, extra func(*flagSet)) error {
	f := newFlagSet(name)
	a.db.register(f)
	a.log.register(f)
	a.seal.register(f, true)
	a.seal.registerAnchor(f, false)
	if extra != nil {
		extra(f)
	}
	if err := f.parse(args); err != nil {
		if err == errHelp {
			f.usage(stdout, synopsis)
		}
		return err
	}
	if err := a.db.check(); err != nil {
		return err
	}
	return a.seal.checkAnchor()
}

// build opens the database with the seal key (never creating one).
func (a *auditFlags) build(ctx context.Context, stderr io.Writer, acceptUnsealed bool) (*app.App, error) {
	key, err := a.seal.resolve(a.db, false)
	if err != nil {
		return nil, err
	}
	return app.Build(ctx, app.Config{Database: a.db.app(), Logger: a.log.logger(stderr), SealKey: app.StaticKey(key),
		SealInterval: a.seal.interval.value, SealAnchorFile: a.seal.anchorFile, SealAcceptUnsealed: acceptUnsealed})
}

// auditVerify recomputes every hash chain and seal (and checks the
// anchor), prints the report as JSON and fails (exit 1) when the log does
// not verify.
func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var a auditFlags
	if err := a.parse("audit verify", "Recompute the event log's hash chains and signed seals, and check it against an anchor; exit 1 when tampering is found.",
		args, stdout, nil); err != nil {
		return err
	}
	ap, err := a.build(ctx, stderr, false)
	if err != nil {
		return err
	}
	defer ap.Close()
	rep, err := ap.Integrity.Verify(ctx)
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	if !rep.SealsAuthenticated {
		fmt.Fprintln(stderr, "crm: no seal key: seals were replayed but their signatures not checked (give --seal-key)")
	}
	if !rep.OK {
		fmt.Fprintln(stderr, "crm: the event log failed verification: "+*rep.Reason)
		return errVerifyFailed
	}
	return nil
}

// auditSeal seals the log now, on the same terms as serve's sealer (it
// refuses a log it cannot authenticate), and with --export writes the
// newest seal to a file to be kept outside the database.
func auditSeal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		a              auditFlags
		export         string
		acceptUnsealed bool
	)
	if err := a.parse("audit seal", "Seal the event log now and optionally export the newest seal (the anchor) to a file kept outside the database.",
		args, stdout, func(f *flagSet) {
			f.StringVar(&export, "export", "", "write the newest seal (JSON: sequence, position, count, running hash, MAC, time) to this file")
			f.BoolVar(&acceptUnsealed, "accept-unsealed", false, "seal a log that has gone unsealed for longer than the seal interval (first sealing of an existing log, or after appends while no sealer ran): only after checking it")
		}); err != nil {
		return err
	}
	ap, err := a.build(ctx, stderr, acceptUnsealed)
	if err != nil {
		return err
	}
	defer ap.Close()
	if ap.Integrity == nil {
		return errors.New("the log is sealed only in the PostgreSQL event store")
	}
	s, sealed, err := ap.Integrity.Seal(ctx)
	if err != nil {
		return err
	}
	if !sealed {
		latest, ok := ap.Integrity.Authenticated()
		if !ok {
			fmt.Fprintln(stdout, "nothing to seal: the log is empty")
			return nil
		}
		s = latest
	}
	out, err := json.MarshalIndent(integrity.AnchorOf(s), "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	if export != "" {
		if err := integrity.WriteAnchorFile(export, s); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "crm: seal %d written to %s: keep a copy outside the database\n", s.Seq, export)
	}
	return nil
}

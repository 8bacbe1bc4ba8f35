// Command crm runs the CRM engine: the HTTP API server (serve), schema
// migrations (migrate), API key administration (keys), projections,
// copying the event log between stores (events copy), exporting it as
// rows (events export), verifying the log
// (audit verify) and its version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usageText = `crm: an event-sourced CRM engine

usage: crm <command> [flags]

commands:
  serve     run the HTTP API (embedded PostgreSQL unless --database-url is given)
  migrate   apply pending database migrations and exit
  keys      manage API keys (keys create --name N --role R)
  projections
            list, status, rebuild NAME | rebuild --all (no downtime)
  events    copy --from URL --to URL: copy the event log between stores;
            export --format parquet|csv|ndjson [--from T] [--to T] [--types T,...] OUT: the log as rows
  audit     verify: recompute the log's hash chains and seals, check an anchor (exit 1 on tampering);
            seal: seal the log now and export the newest seal as an anchor
  reports   apply FILE (YAML), list, rebuild NAME, drop NAME: analysts' reports
  bench     measure the engine against its PostgreSQL's raw limits (--quick, --json FILE)
  import    leads|accounts|contacts FILE.csv [--map ...] [--dry-run]: create records from a CSV file
  version   print the version

Run "crm <command> -h" for a command's flags.`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usageText)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		err = keysCmd(ctx, args[1:], stdout, stderr)
	case "projections":
		err = projectionsCmd(ctx, args[1:], stdout, stderr)
	case "events":
		err = eventsCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		err = auditCmd(ctx, args[1:], stdout, stderr)
	case "reports":
		err = reportsCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "crm", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usageText)
		return 0
	default:
		fmt.Fprintf(stderr, "crm: unknown command %q (want serve, migrate, keys, projections, events, audit, reports, bench, import or version)\n", args[0])
		return 2
	}
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "crm %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "crm %s: %s\n", args[0], oneLine(err.Error()))
		return 1
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
	}
	return "dev"
}

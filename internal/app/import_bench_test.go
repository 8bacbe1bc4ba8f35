package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"crm/commands"
	"crm/internal/csvimport"
	"crm/internal/testdb"
)

// BenchmarkImportLeads imports a 100,000-row CSV file of new leads per
// iteration through the command side (parse, validate, find duplicates,
// chunked appends with their email reservations and idempotency records)
// and reports rows/s. The target is 2,000 rows/s or more.
func BenchmarkImportLeads(b *testing.B) {
	const rows = 100_000
	ctx := context.Background()
	a, err := Build(ctx, Config{
		Database:  DatabaseConfig{URL: testdb.NewDatabase(b), MaxConns: 20},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		MasterKey: StaticKey([]byte("import-bench-master-key-0123456789abcdef")),
		Commands:  true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var sb strings.Builder
		sb.WriteString("name,company,email,source,region\n")
		for r := 0; r < rows; r++ {
			fmt.Fprintf(&sb, "Person %d,Company %d Ltd,person%d.%d@bench.example,import,EMEA\n", r, r%5000, i, r)
		}
		b.StartTimer()
		parsed, err := csvimport.Parse(strings.NewReader(sb.String()), commands.ImportLeads, nil)
		if err != nil {
			b.Fatal(err)
		}
		c := commands.Import{Kind: commands.ImportLeads, Rows: parsed,
			Envelope: commands.Envelope{Metadata: commands.Metadata{Actor: "bench", CommandID: fmt.Sprint("bench-", i)}}}
		if err := a.Import(ctx, &c); err != nil {
			b.Fatal(err)
		}
		if c.Report.Created != rows {
			b.Fatalf("created %d of %d", c.Report.Created, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

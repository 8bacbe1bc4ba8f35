package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressIntoAPipeHasNoCarriageReturns: output that is not a
// terminal gets plain lines (here only the final one, the run being
// shorter than an interval); --progress bar keeps the redrawn bar.
func TestProgressIntoAPipeHasNoCarriageReturns(t *testing.T) {
	run := func(mode string) string {
		var buf bytes.Buffer
		bar := newProgressBar(&buf, "lists", mode)
		for i := int64(1); i <= 5; i++ {
			bar.update(i*100, 500)
			time.Sleep(210 * time.Millisecond)
		}
		bar.done(500, 500)
		return buf.String()
	}
	for _, mode := range []string{progressAuto, progressLines} {
		out := run(mode)
		if strings.Contains(out, "\r") || out != "lists: 100% 500/500 events, "+strings.SplitN(out, ", ", 2)[1] || strings.Count(out, "\n") != 1 {
			t.Errorf("%s into a buffer: %q, want one plain final line", mode, out)
		}
	}
	if out := run(progressOff); strings.Count(out, "\n") != 1 || strings.Contains(out, "\r") || !strings.Contains(out, "500/500") {
		t.Errorf("off: %q, want only the final line", out)
	}
	if out := run(progressModeBar); strings.Count(out, "\r") < 3 || !strings.HasSuffix(out, "\n") {
		t.Errorf("bar: %q, want frames redrawn with carriage returns", out)
	}
}

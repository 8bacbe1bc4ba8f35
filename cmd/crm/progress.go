package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress display modes (--progress).
const (
	progressAuto    = "auto"  // a bar on a terminal, lines otherwise
	progressModeBar = "bar"   // a bar redrawn in place with carriage returns
	progressLines   = "lines" // a plain line at most every lineInterval
	progressOff     = "off"   // nothing until the final line
)

// progressModes are the values --progress takes.
var progressModes = []string{progressAuto, progressModeBar, progressLines, progressOff}

// lineInterval is how often the lines mode writes a line: a log file or a
// CI console gets a readable record, not a frame every 200 ms.
const lineInterval = 5 * time.Second

// registerProgress adds --progress (env CRM_PROGRESS) to f.
func registerProgress(f *flagSet, mode *enumValue) {
	*mode = enumValue{value: progressAuto, allowed: progressModes}
	f.Var(mode, "progress", "progress display: auto (a bar on a terminal, a line every 5s otherwise), bar, lines or off")
	f.withEnv("progress", "CRM_PROGRESS")
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws progress with rate and ETA: on a terminal as a bar
// redrawn in place at most every 200 ms, elsewhere as plain lines.
type progressBar struct {
	w      io.Writer
	label  string
	unit   string
	mode   string
	start  time.Time
	last   time.Time
	drawn  bool
	finish bool
}

// newProgressBar returns a progress display on w in mode (one of
// progressModes; auto picks bar on a terminal and lines elsewhere).
func newProgressBar(w io.Writer, label, mode string) *progressBar {
	if mode == "" || mode == progressAuto {
		mode = progressLines
		if isTerminal(w) {
			mode = progressModeBar
		}
	}
	return &progressBar{w: w, label: label, unit: "events", mode: mode, start: time.Now()}
}

// update draws done of total (total 0: unknown).
func (p *progressBar) update(done, total int64) {
	frac := -1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	p.draw(frac, done, total)
}

// draw draws the fraction frac (negative: unknown) with done of total
// units (total 0: no total).
func (p *progressBar) draw(frac float64, done, total int64) {
	now := time.Now()
	if !p.finish {
		switch p.mode {
		case progressOff:
			return
		case progressLines:
			// A line every interval, the first one interval after the start.
			ref := p.start
			if p.drawn {
				ref = p.last
			}
			if now.Sub(ref) < lineInterval {
				return
			}
		default:
			if p.drawn && now.Sub(p.last) < 200*time.Millisecond {
				return
			}
		}
	}
	p.last, p.drawn = now, true
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	const width = 30
	bar, pct, eta := strings.Repeat(" ", width), "", ""
	if frac >= 0 {
		n := int(frac * width)
		bar = strings.Repeat("#", n) + strings.Repeat(".", width-n)
		pct = fmt.Sprintf(" %3.0f%%", frac*100)
		if frac > 0 && frac < 1 {
			eta = " ETA " + (time.Duration(elapsed*(1-frac)/frac) * time.Second).Round(time.Second).String()
		}
	}
	count := fmt.Sprintf("%d", done)
	if total > 0 {
		count += fmt.Sprintf("/%d", total)
	}
	if p.mode == progressModeBar {
		fmt.Fprintf(p.w, "\r%-10s [%s]%s %s %s %.0f %s/s%s   ", p.label, bar, pct, count, p.unit, rate, p.unit, eta)
		return
	}
	fmt.Fprintf(p.w, "%s:%s %s %s, %.0f %s/s%s\n", p.label, pct, count, p.unit, rate, p.unit, eta)
}

// done finishes the display: the bar's line ends, or the last line is
// written.
func (p *progressBar) done(done, total int64) {
	p.finish = true
	p.update(done, total)
	if p.mode == progressModeBar {
		fmt.Fprintf(p.w, "\n")
	}
}

package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressBar draws a one-line progress bar with rate and ETA on a
// terminal-like writer, at most every 200 ms.
type progressBar struct {
	w      io.Writer
	label  string
	unit   string
	start  time.Time
	last   time.Time
	drawn  bool
	finish bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, unit: "events", start: time.Now()}
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
	if p.drawn && now.Sub(p.last) < 200*time.Millisecond && !p.finish {
		return
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
	fmt.Fprintf(p.w, "\r%-10s [%s]%s %s %s %.0f %s/s%s   ", p.label, bar, pct, count, p.unit, rate, p.unit, eta)
}

// done finishes the line.
func (p *progressBar) done(done, total int64) {
	p.finish = true
	p.update(done, total)
	fmt.Fprintf(p.w, "\n")
}

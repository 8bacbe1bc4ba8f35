package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a crm process the bench started: the server under test or a
// rebuild. Its standard error is kept (the last lines) for error
// messages, and read line by line for the server's JSON log.
type child struct {
	cmd    *exec.Cmd
	stdout strings.Builder
	mu     sync.Mutex
	tail   []string
	lines  chan string
	exited chan struct{}
	err    error
}

// startChild starts exe with args, without the caller's CRM_* environment
// (flags say everything), and stops it with SIGTERM (SIGKILL 15 s later)
// when ctx ends.
func startChild(ctx context.Context, exe string, args ...string) (*child, error) {
	c := &child{lines: make(chan string, 64), exited: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, exe, args...)
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(syscall.SIGTERM) }
	c.cmd.WaitDelay = 15 * time.Second
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Stdout = &c.stdout
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", exe, args[0], err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			if c.tail = append(c.tail, line); len(c.tail) > 20 {
				c.tail = c.tail[1:]
			}
			c.mu.Unlock()
			select {
			case c.lines <- line:
			default: // nobody is looking for a line now
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-read // Wait closes the pipe: read it to its end first
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// logTail is the end of the child's standard error.
func (c *child) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// waitServing waits for the server's "crm serving" log line (JSON log
// format) and returns the address it serves.
func (c *child) waitServing(ctx context.Context, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line := <-c.lines:
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "crm serving" && rec.Addr != "" {
				return rec.Addr, nil
			}
		case <-c.exited:
			return "", fmt.Errorf("crm serve exited before serving (%v):\n%s", c.err, c.logTail())
		case <-deadline:
			return "", fmt.Errorf("crm serve not serving after %v:\n%s", timeout, c.logTail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// peakRSSMiB reads the child's peak resident set size so far (VmHWM) from
// /proc/<pid>/status, in MiB.
func (c *child) peakRSSMiB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read peak memory: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("read peak memory: %q: %w", line, err)
			}
			return kib / 1024, nil
		}
	}
	return 0, errors.New("read peak memory: no VmHWM in /proc/<pid>/status")
}

// wait waits for the child to exit and returns its error with the end of
// its standard error.
func (c *child) wait() error {
	<-c.exited
	if c.err != nil {
		return fmt.Errorf("%s: %w:\n%s", strings.Join(c.cmd.Args[:min(len(c.cmd.Args), 2)], " "), c.err, c.logTail())
	}
	return nil
}

// maxRSSMiB is the peak resident set size of the exited child, as the
// kernel accounted it (wait4's ru_maxrss), in MiB.
func (c *child) maxRSSMiB() (float64, error) {
	<-c.exited
	ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, errors.New("peak memory of the child: no resource usage on this system")
	}
	return float64(ru.Maxrss) / 1024, nil
}

// stop sends SIGTERM and waits for the child to exit, killing it after
// timeout. It is idempotent.
func (c *child) stop(timeout time.Duration) error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop crm: %w", err)
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("crm (pid %d) did not stop within %v; killed", c.cmd.Process.Pid, timeout)
	}
}

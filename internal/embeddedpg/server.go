package embeddedpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// superuser is the role initdb creates; connections over the private
// socket authenticate as it with trust.
const superuser = "crm"

// maxSocketPath keeps the socket path within the kernel's sun_path limit
// (108 bytes on Linux, including the terminating NUL).
const maxSocketPath = 100

// capDACOverride is CAP_DAC_OVERRIDE from linux/capability.h.
const capDACOverride = 1

// Options configure Start.
type Options struct {
	// DataDir holds the cluster (DataDir/pg), its log (DataDir/pg.log) and
	// its socket directory (DataDir/run). It is created when missing.
	DataDir string
	// BinDir holds initdb and postgres; empty means FindBinaries.
	BinDir string
	// Logger receives start and stop messages; nil discards them.
	Logger *slog.Logger
	// NoSync turns off fsync and synchronous commit: faster, and a crash of
	// the machine may lose data. For tests only.
	NoSync bool
	// Settings are further server settings, each "name=value", passed
	// on the server's command line (for example
	// "shared_preload_libraries=pg_stat_statements").
	Settings []string
	// MaxConnections is the server's max_connections; zero means 200.
	MaxConnections int
	// StartTimeout bounds how long Start waits for the server to accept
	// connections; zero means one minute.
	StartTimeout time.Duration
}

// Server is a running private PostgreSQL server.
type Server struct {
	log     *slog.Logger
	dataDir string
	sockDir string
	tmpSock bool
	// binDir, pgDir, owner and opts are what launch needs again on a
	// restart.
	binDir, pgDir string
	owner         runAs
	opts          Options
	// mu guards proc, logFile and stopped: Restart replaces the process.
	mu      sync.Mutex
	proc    *process
	logFile *os.File
	stopped bool
	// attached marks a server another process started and owns.
	attached bool
	stopOnce sync.Once
	stopErr  error
}

// process is one run of the postmaster.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// ErrStopped is returned by Restart after Stop.
var ErrStopped = errors.New("embedded PostgreSQL stopped")

// Start initialises the cluster on first use, starts the server and waits
// until it accepts connections. When another process already runs a server
// on the data directory and it accepts connections, Start uses it (and
// Stop leaves it running). A server left behind by a process that died is
// waited for briefly; if it does not exit, Start fails naming its pid. Errors: ErrNoBinaries, or a wrapped
// error that quotes the end of DataDir/pg.log when the server fails.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("embedded PostgreSQL: empty data directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 200
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = time.Minute
	}
	binDir := opts.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinaries(); err != nil {
			return nil, err
		}
	} else if !hasServer(binDir) {
		return nil, fmt.Errorf("%s: %w", binDir, ErrNoBinaries)
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	owner, err := serverUser(dataDir)
	if err != nil {
		return nil, err
	}
	pgDir := filepath.Join(dataDir, "pg")
	s := &Server{log: opts.Logger, dataDir: dataDir, binDir: binDir, pgDir: pgDir, owner: owner, opts: opts}
	if err := s.initCluster(ctx, binDir, pgDir, owner, opts.NoSync); err != nil {
		return nil, err
	}
	if err := owner.own(pgDir); err != nil {
		return nil, err
	}
	if attached := attach(ctx, s, pgDir); attached {
		return s, nil
	}
	if err := waitStalePostmaster(ctx, pgDir); err != nil {
		return nil, err
	}
	if err := s.makeSocketDir(owner); err != nil {
		return nil, err
	}
	p, err := s.launch()
	if err != nil {
		s.cleanup()
		return nil, err
	}
	if err := s.waitReady(ctx, p, opts.StartTimeout); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.log.Debug("embedded PostgreSQL started", "pid", p.cmd.Process.Pid, "socket_dir", s.sockDir)
	return s, nil
}

// Exited returns a channel closed when the running server process exits
// (never, for a server another process owns). After a Restart it is the
// new process's.
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.exited
}

// ExitErr is how the last server process ended (nil while it runs).
func (s *Server) ExitErr() error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.exited:
		if p.waitErr == nil {
			return errors.New("exited with status 0")
		}
		return p.waitErr
	default:
		return nil
	}
}

// PID is the running postmaster's process id (0 for a server another
// process owns).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Restart starts the server again on the same data directory and socket
// after its process exited (crashed or was killed), and waits until it
// accepts connections. Backends the dead postmaster left behind may keep
// it from starting for a moment: the caller retries. Errors: ErrStopped
// after Stop; an error when the server still runs or does not come up
// (quoting the end of the server's log).
func (s *Server) Restart(ctx context.Context) error {
	if s.attached {
		return errors.New("embedded PostgreSQL is owned by another process")
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	old := s.proc
	s.mu.Unlock()
	if old != nil {
		select {
		case <-old.exited:
		default:
			return fmt.Errorf("embedded PostgreSQL (pid %d) is still running", old.cmd.Process.Pid)
		}
	}
	p, err := s.launch()
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx, p, s.opts.StartTimeout); err != nil {
		// A server that came up half way is stopped before the next try.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		return err
	}
	s.log.Info("embedded PostgreSQL restarted", "pid", p.cmd.Process.Pid)
	return nil
}

// initCluster runs initdb into a scratch directory and renames it into
// place, so a crash during initialisation never leaves a half-made cluster.
func (s *Server) initCluster(ctx context.Context, binDir, pgDir string, owner runAs, noSync bool) error {
	if _, err := os.Stat(filepath.Join(pgDir, "PG_VERSION")); err == nil {
		return checkVersion(binDir, pgDir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cluster directory: %w", err)
	}
	if entries, err := os.ReadDir(pgDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists, is not empty and holds no PostgreSQL cluster", pgDir)
	}
	scratch := pgDir + ".init"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("remove %s: %w", scratch, err)
	}
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", scratch, err)
	}
	if err := owner.own(scratch); err != nil {
		return err
	}
	s.log.Info("initialising embedded PostgreSQL", "dir", pgDir)
	args := []string{"-D", scratch, "-U", superuser, "--auth=trust", "-E", "UTF8", "--locale=C"}
	if noSync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.SysProcAttr = owner.procAttr(false)
	cmd.Env = serverEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(scratch)
		return fmt.Errorf("initdb: %w\n%s", err, tail(out, 2000))
	}
	_ = os.Remove(pgDir) // an empty directory left by hand
	if err := os.Rename(scratch, pgDir); err != nil {
		return fmt.Errorf("move initialised cluster into place: %w", err)
	}
	return nil
}

// checkVersion refuses a cluster made by another major version.
func checkVersion(binDir, pgDir string) error {
	b, err := os.ReadFile(filepath.Join(pgDir, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("cluster version: %w", err)
	}
	out, err := exec.Command(filepath.Join(binDir, "postgres"), "--version").Output()
	if err != nil {
		return fmt.Errorf("postgres --version: %w", err)
	}
	have := strings.TrimSpace(string(b))
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return fmt.Errorf("postgres --version printed nothing")
	}
	bin := strings.SplitN(fields[len(fields)-1], ".", 2)[0]
	if have != bin {
		return fmt.Errorf("the cluster in %s was made by PostgreSQL %s but the binaries in %s are version %s", pgDir, have, binDir, bin)
	}
	return nil
}

// attach connects s to a server another process (such as a running crm
// serve) already runs on pgDir, using the socket directory recorded in
// postmaster.pid. Such a server is used but never stopped by s.
func attach(ctx context.Context, s *Server, pgDir string) bool {
	pid := postmasterPID(pgDir)
	if pid == 0 || !isPostgres(pid) {
		return false
	}
	b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 || strings.TrimSpace(lines[4]) == "" {
		return false
	}
	s.sockDir, s.attached = strings.TrimSpace(lines[4]), true
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, s.URL("postgres"))
	if err != nil {
		s.sockDir, s.attached = "", false
		return false
	}
	_ = conn.Close(ctx)
	s.log.Debug("using the embedded PostgreSQL another process runs", "pid", pid, "socket_dir", s.sockDir)
	return true
}

// waitStalePostmaster waits for a server still running on pgDir (typically
// one shutting down after its owner was killed) to exit.
func waitStalePostmaster(ctx context.Context, pgDir string) error {
	pid := postmasterPID(pgDir)
	if pid == 0 {
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for isPostgres(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL (pid %d) is already running on %s; is another crm using this data directory?", pid, pgDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func postmasterPID(pgDir string) int {
	b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func isPostgres(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	return bytes.Contains(cmdline, []byte("postgres"))
}

func (s *Server) makeSocketDir(owner runAs) error {
	dir := filepath.Join(s.dataDir, "run")
	if len(dir)+len("/.s.PGSQL.5432") > maxSocketPath {
		tmp, err := os.MkdirTemp("", "crm-pg-")
		if err != nil {
			return fmt.Errorf("socket directory: %w", err)
		}
		dir, s.tmpSock = tmp, true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	s.sockDir = dir
	return owner.own(dir)
}

// launch starts a postmaster and makes it the server's process.
func (s *Server) launch() (*process, error) {
	opts := s.opts
	logFile, err := os.OpenFile(filepath.Join(s.dataDir, "pg.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	args := []string{"-D", s.pgDir, "-k", s.sockDir,
		"-c", "listen_addresses=",
		"-c", "unix_socket_permissions=0700",
		"-c", "max_connections=" + strconv.Itoa(opts.MaxConnections),
	}
	if opts.NoSync {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, set := range opts.Settings {
		args = append(args, "-c", set)
	}
	p := &process{exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.Env = serverEnv()
	p.cmd.SysProcAttr = s.owner.procAttr(true)

	// The parent-death signal fires when the thread that forked the child
	// exits, so that thread stays locked to this goroutine for the
	// server's whole life.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s.mu.Lock()
	if s.stopped {
		// Stopped while this one was starting: it goes at once.
		s.mu.Unlock()
		_ = p.cmd.Process.Kill()
		<-p.exited
		_ = logFile.Close()
		return nil, ErrStopped
	}
	if s.logFile != nil {
		_ = s.logFile.Close()
	}
	s.proc, s.logFile = p, logFile
	s.mu.Unlock()
	return p, nil
}

func (s *Server) waitReady(ctx context.Context, p *process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		conn, err := pgconn.Connect(ctx, s.URL("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited (%v); end of %s:\n%s", p.waitErr, s.LogPath(), s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("postgres not accepting connections after %v (%w); end of %s:\n%s", timeout, err, s.LogPath(), s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL returns a connection string for database name over the server's
// unix socket.
func (s *Server) URL(database string) string {
	u := url.URL{Scheme: "postgres", User: url.User(superuser), Path: "/" + database,
		RawQuery: url.Values{"host": {s.sockDir}, "sslmode": {"disable"}}.Encode()}
	return u.String()
}

// LogPath is the server's log file.
func (s *Server) LogPath() string { return filepath.Join(s.dataDir, "pg.log") }

// CreateDatabase creates database name unless it exists.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down: a fast shutdown (SIGINT), then an immediate
// one (SIGQUIT) after 30 s, then SIGKILL. It waits for the process to exit
// and is idempotent.
func (s *Server) Stop() error {
	if s.attached {
		return nil
	}
	s.stopOnce.Do(func() {
		defer s.cleanup()
		s.mu.Lock()
		s.stopped = true
		p := s.proc
		s.mu.Unlock()
		if p == nil {
			return
		}
		for _, step := range []struct {
			sig  syscall.Signal
			wait time.Duration
		}{{syscall.SIGINT, 30 * time.Second}, {syscall.SIGQUIT, 10 * time.Second}, {syscall.SIGKILL, time.Minute}} {
			if err := p.cmd.Process.Signal(step.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				s.stopErr = fmt.Errorf("signal postgres: %w", err)
			}
			select {
			case <-p.exited:
				s.log.Debug("embedded PostgreSQL stopped")
				if step.sig != syscall.SIGINT {
					s.stopErr = fmt.Errorf("postgres did not stop on SIGINT; sent %v", step.sig)
				}
				return
			case <-time.After(step.wait):
			}
		}
		s.stopErr = errors.New("postgres did not exit after SIGKILL")
	})
	return s.stopErr
}

func (s *Server) cleanup() {
	if s.logFile != nil {
		_ = s.logFile.Close()
	}
	if s.tmpSock {
		_ = os.RemoveAll(s.sockDir)
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.LogPath())
	return tail(b, 2000)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// serverEnv is the environment of initdb and postgres: the caller's,
// without PG* variables that would redirect them.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

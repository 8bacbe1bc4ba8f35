package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crm/internal/app"
	"crm/internal/integrity"
)

// sealConfig holds the key that signs and authenticates the log's seals,
// how often the log is sealed and the anchor kept outside the database.
type sealConfig struct {
	key            secretValue
	interval       positiveDuration
	anchorFile     string
	anchorInterval positiveDuration
}

// secretValue is a secret of at least 32 characters (or empty).
type secretValue struct{ value string }

func (s *secretValue) String() string {
	if s.value == "" {
		return ""
	}
	return "(set)"
}

func (s *secretValue) Set(v string) error {
	if v != "" && len(v) < 32 {
		return errors.New("must be at least 32 characters")
	}
	s.value = v
	return nil
}

// register adds --seal-key; withInterval also adds --seal-interval (serve).
func (c *sealConfig) register(f *flagSet, withInterval bool) {
	f.Var(&c.key, "seal-key", "secret (32+ characters) that signs the log's seals; the embedded default keeps one in <data-dir>/seal.key")
	f.withEnv("seal-key", "CRM_SEAL_KEY")
	if withInterval {
		c.interval = positiveDuration{value: 10 * time.Second}
		f.Var(&c.interval, "seal-interval", "how often the log is sealed; with a seal key, verification fails on events older than this (plus 5m) that no seal covers")
		f.withEnv("seal-interval", "CRM_SEAL_INTERVAL")
	}
}

// registerAnchor adds the anchor flags: for serve --anchor-file and
// --anchor-interval, else --anchor (a file that must exist).
func (c *sealConfig) registerAnchor(f *flagSet, serve bool) {
	if !serve {
		f.StringVar(&c.anchorFile, "anchor", "", "a seal exported with crm audit seal --export (or serve --anchor-file): the log's seals must include it and the log must match it")
		return
	}
	f.StringVar(&c.anchorFile, "anchor-file", "", "file the newest seal is written to every --anchor-interval, to be kept outside the database; the sealer starts from it when it exists")
	f.withEnv("anchor-file", "CRM_ANCHOR_FILE")
	c.anchorInterval = positiveDuration{value: time.Minute}
	f.Var(&c.anchorInterval, "anchor-interval", "how often --anchor-file is rewritten")
	f.withEnv("anchor-interval", "CRM_ANCHOR_INTERVAL")
}

// checkAnchor reads the --anchor file, so that a missing or malformed one
// is a usage error before anything is opened.
func (c *sealConfig) checkAnchor() error {
	if c.anchorFile == "" {
		return nil
	}
	if _, err := integrity.ReadAnchorFile(c.anchorFile); err != nil {
		return &usageError{msg: "invalid value for -anchor: " + err.Error()}
	}
	return nil
}

// sealKeyFile is the seal key of the embedded default, in the data dir.
const sealKeyFile = "seal.key"

// resolve returns the seal key: the configured one, else with the
// embedded default the one in the data directory (created, mode 0600,
// when create is set and it is missing), else none. Creation is safe when
// several processes share the data directory: the key is written and
// synced under a temporary name, then linked into place; a process that
// loses the race reads the winner's key.
func (c *sealConfig) resolve(db dbConfig, create bool) ([]byte, error) {
	if c.key.value != "" {
		return []byte(c.key.value), nil
	}
	if db.url.value != "" {
		return nil, nil
	}
	path := filepath.Join(db.dataDir, sealKeyFile)
	key, err := readKeyFile("seal key", path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if !create {
		return nil, nil
	}
	if err := writeKeyFile("seal key", db.dataDir, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return readKeyFile("seal key", path)
}

// source is the seal key as the composition root takes it, resolved
// once the database (on the embedded default, its data directory) is
// open.
func (c *sealConfig) source(db dbConfig, create bool) app.KeySource {
	return func() ([]byte, error) { return c.resolve(db, create) }
}

// readKeyFile reads a key file (what names the key in errors).
func readKeyFile(what, path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	key := strings.TrimSpace(string(raw))
	if len(key) < 32 {
		return nil, fmt.Errorf("%s %s: shorter than 32 characters", what, path)
	}
	return []byte(key), nil
}

// writeKeyFile creates path with a new random key (what names it in
// errors), atomically: the key is complete and on disk before the name
// appears. It fails with fs.ErrExist when another process created it
// first.
func writeKeyFile(what, dir, path string) error {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generate a %s: %w", what, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(buf) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

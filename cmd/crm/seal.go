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
)

// sealConfig holds the key that signs and authenticates the log's seals.
type sealConfig struct {
	key      secretValue
	interval positiveDuration
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
		f.Var(&c.interval, "seal-interval", "how often the log is sealed")
		f.withEnv("seal-interval", "CRM_SEAL_INTERVAL")
	}
}

// sealKeyFile is the seal key of the embedded default, in the data dir.
const sealKeyFile = "seal.key"

// resolve returns the seal key: the configured one, else with the
// embedded default the one in the data directory (created with mode 0600
// when create is set and it is missing), else none.
func (c *sealConfig) resolve(db dbConfig, create bool) ([]byte, error) {
	if c.key.value != "" {
		return []byte(c.key.value), nil
	}
	if db.url.value != "" {
		return nil, nil
	}
	path := filepath.Join(db.dataDir, sealKeyFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(raw))
		if len(key) < 32 {
			return nil, fmt.Errorf("seal key %s: shorter than 32 characters", path)
		}
		return []byte(key), nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generate a seal key: %w", err)
	}
	key := hex.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	return []byte(key), nil
}

package main

import (
	"errors"
	"io/fs"
	"path/filepath"

	"crm/internal/app"
)

// masterKeyConfig holds the master key personal data is encrypted under
// (through per-person keys it wraps).
type masterKeyConfig struct {
	key secretValue
}

// register adds --master-key.
func (c *masterKeyConfig) register(f *flagSet) {
	f.Var(&c.key, "master-key", "secret (32+ characters) that wraps the keys personal data is encrypted under; the embedded default keeps one in <data-dir>/master.key")
	f.withEnv("master-key", "CRM_MASTER_KEY")
}

// masterKeyFile is the master key of the embedded default, in the data dir.
const masterKeyFile = "master.key"

// resolve returns the master key: the configured one, else with the
// embedded default the one in the data directory (created, mode 0600,
// when missing, as the seal key is). Call check first.
func (c *masterKeyConfig) resolve(db dbConfig) ([]byte, error) {
	if c.key.value != "" {
		return []byte(c.key.value), nil
	}
	path := filepath.Join(db.dataDir, masterKeyFile)
	key, err := readKeyFile("master key", path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := writeKeyFile("master key", db.dataDir, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return readKeyFile("master key", path)
}

// check refuses a configuration without a key where none can be made:
// with --database-url a key is required, since encryption is not
// optional.
func (c *masterKeyConfig) check(db dbConfig) error {
	if c.key.value == "" && db.url.value != "" {
		return &usageError{msg: "-master-key (or CRM_MASTER_KEY) is required with -database-url: personal data is stored encrypted under it"}
	}
	return nil
}

// source is the master key as the composition root takes it, resolved
// once the database (on the embedded default, its data directory) is
// open. Call check first.
func (c *masterKeyConfig) source(db dbConfig) app.KeySource {
	return func() ([]byte, error) { return c.resolve(db) }
}

package embeddedpg

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs is the identity the server runs under. The zero value means the
// calling process's own.
type runAs struct {
	cred *syscall.Credential
	// dacOverride is set when the data directory lies below a directory
	// the server's user cannot traverse (such as root's 0700 home).
	dacOverride bool
}

// serverUser picks the server's identity: the caller's own unless the
// caller is root, else "postgres" or, failing that, "nobody".
func serverUser(dataDir string) (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{}, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return runAs{}, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user (postgres or nobody): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return runAs{}, fmt.Errorf("user %s has a non-numeric uid or gid", u.Username)
	}
	r := runAs{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	r.dacOverride = !traversable(dataDir, uint32(uid), uint32(gid))
	return r, nil
}

// traversable reports whether uid/gid may search every directory from the
// root down to dir.
func traversable(dir string, uid, gid uint32) bool {
	for {
		st, err := os.Stat(dir)
		if err != nil {
			return false
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		var bit fs.FileMode
		switch {
		case sys.Uid == uid:
			bit = 0o100
		case sys.Gid == gid:
			bit = 0o010
		default:
			bit = 0o001
		}
		if st.Mode().Perm()&bit == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// own hands dir and everything below it to the server's user.
func (r runAs) own(dir string) error {
	if r.cred == nil {
		return nil
	}
	uid, gid := int(r.cred.Uid), int(r.cred.Gid)
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		if err := os.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("hand %s to the PostgreSQL user: %w", path, err)
		}
		return nil
	})
}

// procAttr returns the process attributes of initdb or postgres: its
// identity, its own process group (a terminal's Ctrl-C reaches only the
// owner, which then stops the server in order) and, for the long-running
// server, a parent-death signal.
func (r runAs) procAttr(server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Credential: r.cred}
	if r.dacOverride {
		a.AmbientCaps = []uintptr{capDACOverride}
	}
	if server {
		a.Pdeathsig = syscall.SIGINT
	}
	return a
}

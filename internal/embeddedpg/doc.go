// Package embeddedpg runs a private PostgreSQL server from the machine's
// installed PostgreSQL binaries: initialised once in a data directory,
// listening on a unix socket only, and stopped with its owner.
//
// When the calling process runs as root, the server runs as the
// unprivileged "postgres" user (or "nobody"), since PostgreSQL refuses to
// run as root. The server is started with a parent-death signal, so it
// never outlives the process that started it, even when that process is
// killed.
package embeddedpg

package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofAddrValue is a loopback listen address for the runtime profiles:
// they reveal the process's internals, so they are never served on a
// public interface.
type pprofAddrValue struct{ value string }

func (a *pprofAddrValue) String() string { return a.value }
func (a *pprofAddrValue) Set(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return fmt.Errorf("want a loopback host:port such as 127.0.0.1:6060")
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("must be a loopback address such as 127.0.0.1:6060, not %q", host)
	}
	a.value = s
	return nil
}

// serveProfiles serves net/http/pprof on addr until the returned stop is
// called.
func serveProfiles(addr string, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for profiles: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving runtime profiles", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

package webhooks

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGuard(t *testing.T) {
	strict, open := Guard{}, Guard{AllowPrivate: true}
	for _, tt := range []struct {
		url            string
		strict, opened bool // allowed
	}{
		{"https://hooks.example.com/x", true, true},
		{"http://93.184.216.34:8080/x", true, true},
		{"http://127.0.0.1:9000/x", false, true},
		{"http://localhost/x", false, true},
		{"http://10.1.2.3/x", false, true},
		{"http://[::1]/x", false, true},
		{"http://169.254.169.254/latest", false, false},
		{"http://[fe80::1]/x", false, false},
		{"http://[fd00:ec2::254]/x", false, false},
		{"http://metadata.google.internal/x", false, false},
		{"http://0.0.0.0/x", false, false},
		{"http://[::ffff:169.254.169.254]/x", false, false},
		{"ftp://example.com/x", false, false},
		{"http://user:pw@example.com/x", false, false},
		{"/relative", false, false},
	} {
		if err := strict.CheckURL(tt.url); (err == nil) != tt.strict || (err != nil && !errors.Is(err, ErrForbiddenAddress)) {
			t.Errorf("strict %s: %v", tt.url, err)
		}
		if err := open.CheckURL(tt.url); (err == nil) != tt.opened {
			t.Errorf("allow-private %s: %v", tt.url, err)
		}
	}
	// The dial-time check sees resolved addresses.
	if err := strict.control("tcp", "127.0.0.1:80", nil); err == nil {
		t.Fatal("loopback dial allowed")
	}
	if err := open.control("tcp", "169.254.169.254:80", nil); err == nil {
		t.Fatal("metadata dial allowed")
	}
	if err := open.CheckAddr(netip.MustParseAddr("192.168.1.1")); err != nil {
		t.Fatal(err)
	}
}

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		pattern, typ string
		want         bool
	}{
		{"*", "lead.captured.v1", true},
		{"opportunity.*", "opportunity.opened.v1", true},
		{"opportunity.*", "opportunity_x.opened.v1", false},
		{"opportunity.*", "account.opened.v1", false},
		{"ticket.closed.v1", "ticket.closed.v1", true},
		{"ticket.closed.v1", "ticket.closed.v2", false},
	} {
		if got := Matches(tt.pattern, tt.typ); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v", tt.pattern, tt.typ, got)
		}
	}
}

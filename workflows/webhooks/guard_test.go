package webhooks

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

// TestGuardAllowsOnlyGlobalUnicast runs the address classifier over the
// IANA special-purpose blocks (their edges and an address inside each),
// with and without AllowPrivate; nothing here is dialled or resolved.
func TestGuardAllowsOnlyGlobalUnicast(t *testing.T) {
	strict, private := Guard{interfaceAddrs: noAddrs}, Guard{AllowPrivate: true, interfaceAddrs: noAddrs}
	for _, tt := range []struct {
		addr            string
		strict, private bool // allowed
	}{
		// Global unicast.
		{"93.184.216.34", true, true},
		{"8.8.8.8", true, true},
		{"1.1.1.1", true, true},
		{"100.63.255.255", true, true},
		{"100.128.0.0", true, true},
		{"172.15.255.255", true, true},
		{"172.32.0.0", true, true},
		{"198.17.255.255", true, true},
		{"198.20.0.0", true, true},
		{"223.255.255.254", true, true},
		{"2606:4700:4700::1111", true, true},
		{"2a00:1450:4001:80b::200e", true, true},
		{"2001:4860:4860::8888", true, true},
		// IPv4 special purpose.
		{"0.0.0.0", false, false},
		{"0.1.2.3", false, false},
		{"10.0.0.1", false, true},
		{"10.255.255.255", false, true},
		{"100.64.0.1", false, false},
		{"100.127.255.254", false, false},
		{"127.0.0.1", false, false},
		{"127.255.255.254", false, false},
		{"169.254.169.254", false, false},
		{"172.16.0.1", false, true},
		{"172.31.255.254", false, true},
		{"192.0.0.1", false, false},
		{"192.0.0.9", false, false},
		{"192.0.2.1", false, false},
		{"192.31.196.1", false, false},
		{"192.52.193.1", false, false},
		{"192.88.99.1", false, false},
		{"192.168.1.1", false, true},
		{"192.175.48.1", false, false},
		{"198.18.0.1", false, false},
		{"198.19.255.254", false, false},
		{"198.51.100.7", false, false},
		{"203.0.113.9", false, false},
		{"224.0.0.1", false, false},
		{"239.255.255.250", false, false},
		{"240.0.0.1", false, false},
		{"254.1.2.3", false, false},
		{"255.255.255.255", false, false},
		// IPv6 special purpose.
		{"::", false, false},
		{"::1", false, false},
		{"::ffff:93.184.216.34", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"::93.184.216.34", false, false},
		{"::127.0.0.1", false, false},
		{"64:ff9b::7f00:1", false, false},
		{"64:ff9b::5db8:d822", false, false},
		{"64:ff9b:1::1", false, false},
		{"100::1", false, false},
		{"2001::1", false, false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, false}, // Teredo
		{"2001:10::1", false, false},
		{"2001:1ff:ffff::1", false, false},
		{"2001:db8::1", false, false},
		{"2002:7f00:1::1", false, false}, // 6to4 of 127.0.0.1
		{"2002:5db8:d822::1", false, false},
		{"2620:4f:8000::1", false, false},
		{"3fff::1", false, false},
		{"5f00::1", false, false},
		{"fc00::1", false, true},
		{"fd12:3456:789a::1", false, true},
		{"fd00:ec2::254", false, false},
		{"fe80::1", false, false},
		{"febf::1", false, false},
		{"fec0::1", false, false},
		{"ff02::1", false, false},
		{"ff0e::1", false, false},
		{"4000::1", false, false},
		{"e000::1", false, false},
	} {
		ip := netip.MustParseAddr(tt.addr)
		if err := strict.CheckAddr(ip); (err == nil) != tt.strict || (err != nil && !errors.Is(err, ErrForbiddenAddress)) {
			t.Errorf("strict %s: %v", tt.addr, err)
		}
		if err := private.CheckAddr(ip); (err == nil) != tt.private {
			t.Errorf("allow-private %s: %v", tt.addr, err)
		}
		// The dial-time check decides the same, before any connection (a
		// mapped address dialled is an IPv4 connection to its IPv4 part).
		want := tt.strict
		if ip.Is4In6() {
			want = strict.CheckAddr(ip.Unmap()) == nil
		}
		if err := strict.control("tcp", netip.AddrPortFrom(ip, 443).String(), nil); (err == nil) != want {
			t.Errorf("dial %s: %v", tt.addr, err)
		}
	}
}

// TestGuardChecksURLs: subscription URLs are judged by scheme, form and
// host without resolving anything.
func TestGuardChecksURLs(t *testing.T) {
	strict, private := Guard{interfaceAddrs: noAddrs}, Guard{AllowPrivate: true, interfaceAddrs: noAddrs}
	loop := AllowLoopbackInTests(Guard{interfaceAddrs: noAddrs})
	for _, tt := range []struct {
		url                   string
		strict, private, loop bool // allowed
	}{
		{"https://hooks.example.com/x", true, true, true},
		{"http://93.184.216.34:8080/x", true, true, true},
		{"http://[2606:4700:4700::1111]/x", true, true, true},
		{"http://127.0.0.1:9000/x", false, false, true},
		{"http://127.1.2.3/x", false, false, true},
		{"http://[::1]/x", false, false, true},
		{"http://localhost/x", false, false, true},
		{"http://LOCALHOST./x", false, false, true},
		{"http://api.localhost/x", false, false, true},
		{"http://10.1.2.3/x", false, true, false},
		{"http://192.168.0.10/x", false, true, false},
		{"http://[fd00::1]/x", false, true, false},
		{"http://100.64.0.1/x", false, false, false},
		{"http://198.18.0.1/x", false, false, false},
		{"http://192.0.2.1/x", false, false, false},
		{"http://240.0.0.1/x", false, false, false},
		{"http://169.254.169.254/latest", false, false, false},
		{"http://[fe80::1]/x", false, false, false},
		{"http://[fe80::1%25eth0]/x", false, false, false},
		{"http://[fd00:ec2::254]/x", false, false, false},
		{"http://[::ffff:127.0.0.1]/x", false, false, false},
		{"http://[::ffff:93.184.216.34]/x", false, false, false},
		{"http://[::127.0.0.1]/x", false, false, false},
		{"http://[64:ff9b::a9fe:a9fe]/x", false, false, false},
		{"http://[2002:a9fe:a9fe::1]/x", false, false, false},
		{"http://metadata.google.internal/x", false, false, false},
		{"http://0.0.0.0/x", false, false, false},
		{"http://2130706433/x", false, false, false},
		{"http://0x7f000001/x", false, false, false},
		{"http://0x7f.1/x", false, false, false},
		{"http://127.1/x", false, false, false},
		{"http://017700000001/x", false, false, false},
		{"http://1.2.3.4.5/x", false, false, false},
		{"ftp://example.com/x", false, false, false},
		{"http://user:pw@example.com/x", false, false, false},
		{"/relative", false, false, false},
		{"http:///x", false, false, false},
	} {
		for _, c := range []struct {
			name string
			g    Guard
			want bool
		}{{"strict", strict, tt.strict}, {"allow-private", private, tt.private}, {"loopback", loop, tt.loop}} {
			err := c.g.CheckURL(tt.url)
			if (err == nil) != c.want || (err != nil && !errors.Is(err, ErrForbiddenAddress)) {
				t.Errorf("%s %s: %v", c.name, tt.url, err)
			}
		}
	}
}

// TestGuardRefusesThisHostsAddresses: every address of this host's
// interfaces is refused, even when it is a private one and private
// networks are allowed; the test option opens loopback only.
func TestGuardRefusesThisHostsAddresses(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	fake := func() ([]net.Addr, error) {
		return []net.Addr{&net.IPNet{IP: net.ParseIP("93.184.216.34"), Mask: net.CIDRMask(24, 32)},
			&net.IPNet{IP: net.ParseIP("10.9.8.7"), Mask: net.CIDRMask(8, 32)}}, nil
	}
	for _, g := range []Guard{{AllowPrivate: true, interfaceAddrs: fake}, AllowLoopbackInTests(Guard{AllowPrivate: true, interfaceAddrs: fake})} {
		for _, s := range []string{"93.184.216.34", "10.9.8.7"} {
			if err := g.CheckAddr(netip.MustParseAddr(s)); err == nil {
				t.Errorf("%s, an address of this host, allowed", s)
			}
		}
		if err := g.CheckAddr(netip.MustParseAddr("10.9.8.6")); err != nil {
			t.Errorf("another private address: %v", err)
		}
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		if err := (Guard{AllowPrivate: true}).CheckAddr(p.Addr()); err == nil {
			t.Errorf("this host's %s allowed", p.Addr())
		}
	}
	if err := (Guard{interfaceAddrs: func() ([]net.Addr, error) { return nil, errors.New("no netlink") }}).CheckAddr(netip.MustParseAddr("93.184.216.34")); err == nil {
		t.Error("allowed while this host's addresses are unknown")
	}
}

func noAddrs() ([]net.Addr, error) { return nil, nil }

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

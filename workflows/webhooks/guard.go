package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"
)

// ErrForbiddenAddress reports a webhook URL or address that deliveries may
// not reach.
var ErrForbiddenAddress = errors.New("address not allowed for webhooks")

// metadataHosts are cloud metadata service names.
var metadataHosts = map[string]bool{
	"metadata.google.internal": true, "metadata": true, "metadata.azure.com": true, "instance-data": true,
	"instance-data.ec2.internal": true,
}

// globalUnicast is the allow-list: deliveries reach only addresses inside
// one of these prefixes and outside every special-purpose prefix below.
// For IPv6 that is the global unicast space 2000::/3 (RFC 4291); every
// other IPv6 block (::/128, ::1, the mapped and IPv4-compatible ::/96
// blocks, 64:ff9b::/96 and 64:ff9b:1::/48 NAT64, 100::/64 discard,
// fc00::/7, fe80::/10, fec0::/10, ff00::/8, 5f00::/16 ...) is outside it.
var globalUnicast = prefixes(
	"0.0.0.0/0",
	"2000::/3",
)

// specialPurpose are the IANA IPv4 and IPv6 special-purpose address
// registries' blocks inside the ranges above (and a few more), every one
// refused, including the blocks the registries mark globally reachable:
// a webhook receiver never lives there.
var specialPurpose = prefixes(
	// IPv4 (RFC 6890 and the IANA IPv4 Special-Purpose Address Registry).
	"0.0.0.0/8",          // "this network"
	"10.0.0.0/8",         // private
	"100.64.0.0/10",      // shared address space (CGNAT)
	"127.0.0.0/8",        // loopback
	"169.254.0.0/16",     // link-local, cloud metadata
	"172.16.0.0/12",      // private
	"192.0.0.0/24",       // IETF protocol assignments
	"192.0.2.0/24",       // TEST-NET-1
	"192.31.196.0/24",    // AS112-v4
	"192.52.193.0/24",    // AMT
	"192.88.99.0/24",     // deprecated 6to4 relay anycast
	"192.168.0.0/16",     // private
	"192.175.48.0/24",    // direct delegation AS112
	"198.18.0.0/15",      // benchmarking
	"198.51.100.0/24",    // TEST-NET-2
	"203.0.113.0/24",     // TEST-NET-3
	"224.0.0.0/4",        // multicast
	"240.0.0.0/4",        // reserved
	"255.255.255.255/32", // limited broadcast
	// IPv6 blocks inside 2000::/3.
	"2001::/23",         // IETF protocol assignments (Teredo, ORCHID, ...)
	"2001:db8::/32",     // documentation
	"2002::/16",         // 6to4: the embedded IPv4 address could be anything
	"2620:4f:8000::/48", // direct delegation AS112
	"3fff::/20",         // documentation
	"64:ff9b::/96",      // NAT64 (outside 2000::/3; listed for clarity)
	"64:ff9b:1::/48",    // local-use NAT64
	"::ffff:0:0/96",     // IPv4-mapped
	"::/96",             // IPv4-compatible (deprecated)
	"100::/64",          // discard-only
	"fc00::/7",          // unique local
	"fe80::/10",         // link-local
	"ff00::/8",          // multicast
)

// metadataAddrs are cloud metadata services inside the private networks,
// refused even with AllowPrivate.
var metadataAddrs = prefixes("fd00:ec2::254/128")

// privateNetworks are the blocks AllowPrivate opens.
var privateNetworks = prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func within(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Guard decides which addresses deliveries may reach, by allow-list: only
// global unicast addresses, never an address of the IANA special-purpose
// registries (loopback, private, CGNAT, link-local, documentation,
// benchmarking, multicast, reserved, NAT64, mapped and compatible IPv6,
// 6to4, Teredo ...), never an address of this host's own interfaces, and
// never the cloud metadata host names. AllowPrivate, an operator's
// choice, opens the private networks (10/8, 172.16/12, 192.168/16,
// fc00::/7) and nothing else: loopback, link-local and this host's own
// addresses stay refused.
type Guard struct {
	// AllowPrivate lets deliveries reach the private networks.
	AllowPrivate bool

	// loopback lets deliveries reach 127.0.0.0/8 and ::1; only
	// AllowLoopbackInTests sets it.
	loopback bool
	// interfaceAddrs returns this host's addresses; nil means
	// net.InterfaceAddrs.
	interfaceAddrs func() ([]net.Addr, error)
}

// AllowLoopbackInTests returns g allowing deliveries to loopback
// addresses too, for tests whose receivers listen on 127.0.0.1. It
// panics outside a test binary: no configuration of a running server can
// open loopback.
func AllowLoopbackInTests(g Guard) Guard {
	if !testing.Testing() {
		panic("webhooks: AllowLoopbackInTests outside a test binary")
	}
	g.loopback = true
	return g
}

// CheckURL validates a subscription URL: http or https, a host, no user
// information, and a host that is refused neither by name (localhost,
// metadata services, numeric forms that are not IP literals) nor as an
// address literal. It never resolves a name: the address dialled is
// checked at delivery.
func (g Guard) CheckURL(raw string) error {
	if len(raw) > 2048 {
		return fmt.Errorf("%w: longer than 2048 characters", ErrForbiddenAddress)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: want an absolute http or https URL", ErrForbiddenAddress)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user information in the URL", ErrForbiddenAddress)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return fmt.Errorf("%w: %s has a zone", ErrForbiddenAddress, host)
		}
		return g.CheckAddr(ip)
	}
	if strings.Contains(u.Hostname(), ":") || strings.Contains(host, "%") {
		return fmt.Errorf("%w: %s is not a host name or IP address", ErrForbiddenAddress, host)
	}
	if metadataHosts[host] {
		return fmt.Errorf("%w: %s is a metadata service", ErrForbiddenAddress, host)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if g.loopback {
			return nil
		}
		return fmt.Errorf("%w: %s is loopback", ErrForbiddenAddress, host)
	}
	labels := strings.Split(host, ".")
	if last := labels[len(labels)-1]; last == "" || numeric(last) {
		// 2130706433, 0x7f.1, 127.1: resolvers read these as IPv4
		// addresses; no top-level domain is numeric.
		return fmt.Errorf("%w: %s is neither a host name nor a standard IP address", ErrForbiddenAddress, host)
	}
	return nil
}

// numeric reports whether a label is a decimal, octal or hexadecimal
// number, as inet_aton reads one.
func numeric(label string) bool {
	s := label
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		s = rest
		if s == "" {
			return true
		}
		return strings.Trim(s, "0123456789abcdef") == ""
	}
	return strings.Trim(s, "0123456789") == ""
}

// CheckAddr reports whether deliveries may connect to ip: nil for a
// global unicast address that is none of this host's own, else an error
// wrapping ErrForbiddenAddress.
func (g Guard) CheckAddr(ip netip.Addr) error {
	if !ip.IsValid() || ip.Zone() != "" {
		return fmt.Errorf("%w: %s is not a plain IP address", ErrForbiddenAddress, ip)
	}
	if g.loopback && !ip.Is4In6() && ip.IsLoopback() {
		return nil
	}
	if within(metadataAddrs, ip) {
		return fmt.Errorf("%w: %s is a metadata service", ErrForbiddenAddress, ip)
	}
	if !within(globalUnicast, ip) || within(specialPurpose, ip) {
		if !(g.AllowPrivate && within(privateNetworks, ip)) {
			return fmt.Errorf("%w: %s is not a global unicast address", ErrForbiddenAddress, ip)
		}
	}
	if g.own(ip) {
		return fmt.Errorf("%w: %s is an address of this host", ErrForbiddenAddress, ip)
	}
	return nil
}

// own reports whether ip is an address of one of this host's interfaces.
// When they cannot be listed, every address counts as this host's.
func (g Guard) own(ip netip.Addr) bool {
	list := g.interfaceAddrs
	if list == nil {
		list = net.InterfaceAddrs
	}
	addrs, err := list()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		var s string
		switch a := a.(type) {
		case *net.IPNet:
			s = a.IP.String()
		case *net.IPAddr:
			s = a.IP.String()
		default:
			s, _, _ = strings.Cut(a.String(), "/")
		}
		if own, err := netip.ParseAddr(s); err == nil && own.Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

// control checks the address a delivery actually connects to, after name
// resolution and before the connection is made, so a name that resolves
// (or is rebound) to a refused address is refused too.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	// An IPv4 connection is an IPv4 address, however it is spelt here.
	return g.CheckAddr(ip.Unmap())
}

package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrForbiddenAddress reports a webhook URL or address that deliveries may
// not reach.
var ErrForbiddenAddress = errors.New("address not allowed for webhooks")

// metadataHosts are cloud metadata service names.
var metadataHosts = map[string]bool{
	"metadata.google.internal": true, "metadata": true, "metadata.azure.com": true, "instance-data": true,
	"instance-data.ec2.internal": true,
}

// Guard decides which addresses deliveries may reach: never link-local
// (169.254.0.0/16, fe80::/10, which hold the cloud metadata services),
// unspecified, multicast or broadcast addresses, nor the metadata host
// names; loopback and private networks (10/8, 172.16/12, 192.168/16,
// 100.64/10, fc00::/7) only with AllowPrivate.
type Guard struct {
	AllowPrivate bool
}

// CheckURL validates a subscription URL: http or https, a host, no user
// information, and a host that is not refused by name or as an address
// literal.
func (g Guard) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: want an absolute http or https URL", ErrForbiddenAddress)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user information in the URL", ErrForbiddenAddress)
	}
	if len(raw) > 2048 {
		return fmt.Errorf("%w: longer than 2048 characters", ErrForbiddenAddress)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if metadataHosts[host] {
		return fmt.Errorf("%w: %s is a metadata service", ErrForbiddenAddress, host)
	}
	if (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !g.AllowPrivate {
		return fmt.Errorf("%w: %s is loopback", ErrForbiddenAddress, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.CheckAddr(ip)
	}
	return nil
}

// CheckAddr reports whether deliveries may connect to ip.
func (g Guard) CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local", ErrForbiddenAddress, ip)
	case ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: %s is not a unicast address", ErrForbiddenAddress, ip)
	case ip == netip.MustParseAddr("fd00:ec2::254"):
		return fmt.Errorf("%w: %s is a metadata service", ErrForbiddenAddress, ip)
	case !g.AllowPrivate && (ip.IsLoopback() || ip.IsPrivate() || netip.MustParsePrefix("100.64.0.0/10").Contains(ip)):
		return fmt.Errorf("%w: %s is loopback or private (allow with --webhook-allow-private)", ErrForbiddenAddress, ip)
	}
	return nil
}

// control checks the address a delivery actually connects to, after name
// resolution, so a name that resolves to a refused address is refused too.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	return g.CheckAddr(ip)
}

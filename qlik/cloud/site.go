package cloud

import (
	"log/slog"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// site is the registrable domain of a host ("example.com" for
// login.example.com), which is what browsers compare to decide whether a
// cookie is third-party. IP addresses and single labels are their own site.
func site(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return host
	}
	if s, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return s
	}
	return host
}

// warnCrossSite warns at start-up when qlikgate and the tenant are on
// different sites: the tenant's session cookie is then a third-party
// cookie on the hand-off page, and browsers that block those will fail
// every login with the page's cookie message. Browsers compare the scheme
// too ("schemeful same-site"), so http and https of one domain are two
// sites.
func warnCrossSite(log *slog.Logger, publicURL string, tenant *url.URL) {
	pu, err := url.Parse(publicURL)
	if publicURL == "" || err != nil || pu.Hostname() == "" {
		return
	}
	ours, theirs := site(pu.Hostname()), site(tenant.Hostname())
	switch {
	case ours != theirs:
		log.Warn("qlikgate and the Qlik Cloud tenant are on different sites: browsers that block third-party cookies will not keep the tenant session; give the tenant a custom domain under "+ours,
			"public_url_site", ours, "tenant_site", theirs)
	case !strings.EqualFold(pu.Scheme, tenant.Scheme):
		log.Warn("qlikgate's public_url is "+pu.Scheme+" and the Qlik Cloud tenant "+tenant.Scheme+": browsers count them as different sites, so those that block third-party cookies will not keep the tenant session; serve qlikgate over https",
			"public_url_scheme", pu.Scheme, "tenant_scheme", tenant.Scheme)
	}
}

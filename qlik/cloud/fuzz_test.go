package cloud

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzReturnTo: an accepted returnto is https, without user info, on the
// tenant (port-aware) or an allowlisted host.
func FuzzReturnTo(f *testing.F) {
	const tenant = "https://acme.eu.qlikcloud.com"
	for _, s := range []string{tenant + "/hub", "/explore", "//evil.example/", "/\\evil", "https://acme.eu.qlikcloud.com@evil/",
		"https://acme.eu.qlikcloud.com.evil/", "https://xn--acm-9ma.eu.qlikcloud.com/", "%2f%2fevil", "https://portal.acme.com/a", "https://qlik.acme.com:8443/"} {
		f.Add(s)
	}
	cfg := testConfig(f, tenant, RS256)
	cfg.AllowedReturnHosts = []string{"portal.acme.com", "qlik.acme.com:8443"}
	tg := openTarget(f, cfg, time.Now())
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := tg.ParseEntry(url.Values{"returnto": {raw}})
		if err != nil || e.ReturnTo == "" {
			return
		}
		u, err := url.Parse(e.ReturnTo)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || u.User != nil {
			t.Fatalf("returnto %q accepted as %q", raw, e.ReturnTo)
		}
		hp := strings.ToLower(u.Host)
		ok := hp == "acme.eu.qlikcloud.com" || hp == "acme.eu.qlikcloud.com:443" || hp == "portal.acme.com" ||
			hp == "portal.acme.com:443" || hp == "qlik.acme.com:8443"
		if !ok {
			t.Fatalf("returnto %q accepted on %q", raw, u.Host)
		}
	})
}

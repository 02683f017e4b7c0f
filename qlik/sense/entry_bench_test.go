package sense_test

import (
	"net/url"
	"strings"
	"testing"
)

// BenchmarkParseEntry validates what the proxy sends an anonymous browser
// with: proxyRestUri (percent-encoded in lower case, as the QPS does) and
// a targetId, against the allowlist. It runs on every entry request.
func BenchmarkParseEntry(b *testing.B) {
	sim, tgt := benchTicketTarget(b)
	q := url.Values{
		"proxyRestUri": {strings.ToUpper(sim.ProxyRestURI()[:5]) + sim.ProxyRestURI()[5:]},
		"targetId":     {"0f7d9a4e-3c1b-4e8a-9b2d-5a6c7e8f9012"},
	}
	if _, err := tgt.ParseEntry(q); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tgt.ParseEntry(q); err != nil {
			b.Fatal(err)
		}
	}
}

package sense

import (
	"net/url"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/targettest"
)

// senseRefused are entries no Sense target may take.
func senseRefused(proxyRestURI string) map[string]url.Values {
	u, _ := url.Parse(proxyRestURI)
	foreign := *u
	foreign.Host = "evil.example:4243"
	return map[string]url.Values{
		"a foreign proxyRestUri":        {"proxyRestUri": {foreign.String()}},
		"plain http":                    {"proxyRestUri": {"http://" + u.Host + u.Path}},
		"a targetId that is not a GUID": {"targetId": {"../../etc"}},
	}
}

func TestConformance(t *testing.T) {
	const guid = "8b1d3e3c-9f0e-4a54-a9a2-0b7a3c2d1e5f"
	t.Run("sense-ticket", func(t *testing.T) {
		sim, tgt := simTarget(t, qliksim.SenseOptions{Prefix: "hr"}, nil)
		targettest.Run(t, targettest.Setup{Target: tgt, User: alice,
			Entry:   url.Values{"proxyRestUri": {sim.ProxyRestURI()}, "targetId": {guid}},
			Refused: senseRefused(sim.ProxyRestURI())})
	})
	t.Run("sense-session", func(t *testing.T) {
		sim, tgt := sessionTarget(t, nil)
		targettest.Run(t, targettest.Setup{Target: tgt, User: qlik.User{Directory: "CORP", UserID: "alice"},
			Entry:   url.Values{},
			Refused: senseRefused(sim.ProxyRestURI())})
	})
}

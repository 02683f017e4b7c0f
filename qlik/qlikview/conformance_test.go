package qlikview

import (
	"net/url"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/targettest"
)

func TestConformance(t *testing.T) {
	sim := newSim(t, qliksim.QlikViewOptions{})
	tg := newTarget(t, sim, func(c *Config) { c.LogoutURL = sim.URL() + "/QvAJAXZfc/AccessPoint.aspx?mark=&logout=true" })
	targettest.Run(t, targettest.Setup{Target: tg, User: qlik.User{Directory: "CORP", UserID: "alice"},
		Entry: url.Values{"try": {"/QlikView/"}},
		Refused: map[string]url.Values{
			"a foreign try":           {"try": {"https://evil.example/QlikView/"}},
			"a scheme-relative try":   {"try": {"//evil.example/QlikView/"}},
			"try and returnto differ": {"try": {"/QlikView/"}, "returnto": {"/other/"}},
		}})
}

package cloud

import (
	"net/url"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik/targettest"
)

func TestConformance(t *testing.T) {
	sim := startTenant(t, ES256)
	tg := openTarget(t, testConfig(t, sim.URL(), ES256), time.Now())
	targettest.Run(t, targettest.Setup{Target: tg, User: testUser,
		Entry: url.Values{"returnto": {sim.URL() + "/hub"}},
		Refused: map[string]url.Values{
			"a foreign returnto":         {"returnto": {"https://evil.example/hub"}},
			"a scheme-relative returnto": {"returnto": {"//evil.example/hub"}},
			"a look-alike host":          {"returnto": {sim.URL() + ".evil.example/hub"}},
		}})
}

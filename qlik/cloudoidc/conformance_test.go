package cloudoidc

import (
	"net/url"
	"testing"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/targettest"
)

func TestConformance(t *testing.T) {
	sim, err := qliksim.NewCloud(qliksim.CloudOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	f := newFixture(t, func(c *Config) { c.TenantURL = sim.URL() })
	callback := sim.URL() + "/login/callback"
	q := func(k, v string) url.Values {
		out := authorizeQuery(func(q url.Values) { q.Set("redirect_uri", callback) })
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	targettest.Run(t, targettest.Setup{Target: f.t, User: alice,
		Entry: q("state", "s"),
		Refused: map[string]url.Values{
			"a foreign redirect_uri": q("redirect_uri", "https://evil.example/login/callback"),
			"an unknown client":      q("client_id", "other"),
			"an implicit flow":       q("response_type", "id_token token"),
			"no redirect_uri":        q("redirect_uri", ""),
		}})
}

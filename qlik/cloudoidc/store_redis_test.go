package cloudoidc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web/redistest"
)

// TestSharedStoreAcrossInstances: two instances (two targets with their
// own servers, the same keys and session secret) share a real Redis. A
// code issued by one is redeemed at the other, a replay at the first is
// refused, and the access token works at either instance's userinfo.
func TestSharedStoreAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	opts, err := redis.ParseURL(rs.URL)
	if err != nil {
		t.Fatal(err)
	}
	shared := qlik.Shared{Redis: opts, KeyPrefix: "test:", Secret: strings.Repeat("s", 40)}
	a := newSharedFixture(t, shared)
	b := newSharedFixture(t, shared)
	b.t.keys = a.t.keys // the same signing_key_files on every instance

	code := a.code(t, authorizeQuery())
	status, body := b.token(t, codeForm(code), true, testSecret)
	if status != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("exchange at the other instance: %d %v", status, body)
	}
	if status, body := a.token(t, codeForm(code), true, testSecret); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("replay at the first instance: %d %v", status, body)
	}
	for _, f := range []*fixture{a, b} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/t/c/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("userinfo at %s: %d", f.srv.URL, resp.StatusCode)
		}
	}
	// Redis holds hashes of codes and tokens, not the values.
	keys, err := redis.NewClient(opts).Keys(t.Context(), "test:oidc:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, code) || strings.Contains(k, body["access_token"].(string)) {
			t.Errorf("key %q holds a secret", k)
		}
	}
}

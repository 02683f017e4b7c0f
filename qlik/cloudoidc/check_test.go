package cloudoidc

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

func TestDiagnose(t *testing.T) {
	tenant, err := qliksim.NewCloud(qliksim.CloudOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tenant.Close()
	ca := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(ca, tenant.PKI().RootPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.TenantURL, c.CAFile = tenant.URL(), ca })
	var failed []string
	var names []string
	for _, r := range f.t.Diagnose(context.Background()) {
		names = append(names, r.Name)
		if !r.OK {
			failed = append(failed, r.Name+": "+r.Detail)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("failed checks: %v", failed)
	}
	joined := strings.Join(names, "\n")
	for _, want := range []string{"signing_key_files", "discovery ", "jwks ", "tenant "} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q check in %v", want, names)
		}
	}
	// A tenant that does not answer fails, with a fix.
	tenant.Close()
	for _, r := range f.t.Diagnose(context.Background()) {
		if strings.HasPrefix(r.Name, "tenant ") && (r.OK || r.Fix == "") {
			t.Errorf("closed tenant: %+v", r)
		}
	}
}

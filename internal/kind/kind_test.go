package kind

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type testConfig struct{ URL string }

func (testConfig) Validate() error { return nil }

type otherConfig struct{}

func (otherConfig) Validate() error { return nil }

type opened struct{ url, id string }

type common struct{ ID string }

func openTest(_ context.Context, c common, cfg *testConfig, _ string) (*opened, error) {
	if cfg.URL == "" {
		return nil, errors.New("url: required")
	}
	return &opened{url: cfg.URL, id: c.ID}, nil
}

func testKinds() Kinds[common, string, any] {
	return Kinds[common, string, any]{
		New[common, string, any]("test", "test", func() *testConfig { return &testConfig{} }, openTest),
	}
}

func TestNewOpensWithTheTypedBlock(t *testing.T) {
	k, ok := testKinds().Lookup("test")
	if !ok {
		t.Fatal("Lookup(test) failed")
	}
	cfg := k.NewConfig()
	cfg.(*testConfig).URL = "ldap://x"
	got, err := k.Open(context.Background(), common{ID: "a"}, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.(*opened); !ok || o.url != "ldap://x" || o.id != "a" {
		t.Fatalf("Open = %#v", got)
	}
}

func TestNewOpenErrors(t *testing.T) {
	k := testKinds()[0]
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"the kind's error, and no typed nil", &testConfig{}, "url: required"},
		{"a block of another kind", otherConfig{}, "kind test: configuration is a kind.otherConfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(context.Background(), common{}, tt.cfg, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if got != nil {
				t.Fatalf("Open returned %#v with an error; want a nil interface", got)
			}
		})
	}
}

func TestLookupAndNames(t *testing.T) {
	ks := testKinds()
	if _, ok := ks.Lookup("nope"); ok {
		t.Fatal("Lookup(nope) succeeded")
	}
	if got := strings.Join(ks.Names(), ","); got != "test" {
		t.Fatalf("Names = %q", got)
	}
}

func TestValidateCommon(t *testing.T) {
	tests := []struct {
		id, kind string
		want     []string
	}{
		{"corp", "ldap", nil},
		{"", "", []string{"id: required", "kind: required"}},
		{"Corp", "ldap", []string{`id: "Corp" is not allowed: use lower-case letters, digits, '-' and '_' (in URLs)`}},
		{"-x", "ldap", []string{`id: "-x" is not allowed`}},
		{strings.Repeat("a", 64), "ldap", []string{"is not allowed"}},
	}
	for _, tt := range tests {
		errs := ValidateCommon(tt.id, tt.kind, "in URLs")
		if len(errs) != len(tt.want) {
			t.Errorf("ValidateCommon(%q, %q) = %v, want %d errors", tt.id, tt.kind, errs, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(errs[i].Error(), w) {
				t.Errorf("ValidateCommon(%q, %q)[%d] = %v, want %q", tt.id, tt.kind, i, errs[i], w)
			}
		}
	}
}

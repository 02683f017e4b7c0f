package keyerr

import (
	"errors"
	"io/fs"
	"testing"
)

func TestPrefix(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil stays nil", nil, ""},
		{"one error", errors.New("id: required"), "providers[0].id: required"},
		{"joined", errors.Join(errors.New("a: x"), errors.New("b: y")), "providers[0].a: x\nproviders[0].b: y"},
		{"nested joins are flattened", errors.Join(errors.New("a: x"), errors.Join(nil, errors.New("b: y"))), "providers[0].a: x\nproviders[0].b: y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Prefix("providers[0].", tt.err)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("Prefix = %v, want nil", got)
				}
				return
			}
			if got == nil || got.Error() != tt.want {
				t.Fatalf("Prefix = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestPrefixKeepsWrapped(t *testing.T) {
	err := Prefix("ui.", errors.Join(errors.New("title: empty"), fs.ErrNotExist))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Prefix lost the wrapped error: %v", err)
	}
	if n := len(List(err)); n != 2 {
		t.Fatalf("List gives %d parts, want 2", n)
	}
}

package static

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/qlikgate/qlikgate/providers"
)

func TestDiagnose(t *testing.T) {
	strong, err := HashPassword("pw", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	weakArgon, err := HashPassword("pw", Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	moreMemory, err := HashPassword("pw", Argon2Params{Memory: 47104, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	weakBcrypt, err := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	strongBcrypt, err := bcrypt.GenerateFromPassword([]byte("pw"), 10)
	if err != nil {
		t.Fatal(err)
	}
	users := []User{
		{Username: "strong", PasswordHash: strong},
		{Username: "weak-argon", PasswordHash: weakArgon},
		{Username: "more-memory", PasswordHash: moreMemory},
		{Username: "weak-bcrypt", PasswordHash: string(weakBcrypt)},
		{Username: "bcrypt", PasswordHash: string(strongBcrypt)},
	}
	p, err := Open(context.Background(), providers.Common{ID: "local"}, &Config{Users: users}, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rs := p.Diagnose(context.Background())
	var got []string
	for _, r := range rs {
		mark := "ok"
		if r.Warn {
			mark = "warn"
		}
		got = append(got, mark+" "+r.Name+": "+r.Detail)
	}
	want := []string{
		"ok users: 5 password hashes parse (3 argon2id, 2 bcrypt)",
		`warn user "weak-argon": password hash is argon2id with m=64 KiB, t=1, below the default m=19456 KiB, t=2`,
		`warn user "weak-bcrypt": password hash is bcrypt with cost 4, below 10`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range rs {
		if !r.OK || (r.Warn && !strings.Contains(r.Fix, "qlikgate hash-password")) {
			t.Errorf("result %+v", r)
		}
	}
}

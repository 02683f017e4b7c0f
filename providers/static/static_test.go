package static

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/qlikgate/qlikgate/providers"
)

// cheap keeps the race-enabled test suite fast; the cost is in the hash string.
var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := HashPassword(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLogin(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bobpw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Users: []User{
		{Username: "Alice", PasswordHash: mustHash(t, "alicepw"), Name: "Alice A", Email: "alice@example.org", Groups: []string{"Sales", "EU"}},
		{Username: "bob", PasswordHash: string(bc)},
	}}
	p, err := Open(context.Background(), providers.Common{ID: "local"}, &cfg, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pw string
		wantUserID     string
		wantReason     string
	}{
		{"argon2id ok", "Alice", "alicepw", "Alice", ""},
		{"case-folded input keeps configured spelling", "ALICE", "alicepw", "Alice", ""},
		{"surrounding spaces in the username are ignored", "  alice ", "alicepw", "Alice", ""},
		{"bcrypt ok", "bob", "bobpw", "bob", ""},
		{"wrong password", "alice", "nope", "", "wrong_password"},
		{"password is case-sensitive", "alice", "ALICEPW", "", "wrong_password"},
		{"empty password", "alice", "", "", "wrong_password"},
		{"bcrypt wrong password", "bob", "alicepw", "", "wrong_password"},
		{"unknown user", "mallory", "alicepw", "", "unknown_user"},
		{"empty username", "", "", "", "unknown_user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := p.Login(context.Background(), tt.user, tt.pw)
			if tt.wantReason != "" {
				if !errors.Is(err, providers.ErrBadCredentials) {
					t.Fatalf("err = %v, want ErrBadCredentials", err)
				}
				var f *providers.Failure
				if !errors.As(err, &f) || string(f.Reason) != tt.wantReason || f.UserText != "" {
					t.Fatalf("failure = %+v, want reason %q and no user text", f, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if id.UserID != tt.wantUserID {
				t.Errorf("UserID = %q, want %q", id.UserID, tt.wantUserID)
			}
		})
	}
	id, _ := p.Login(context.Background(), "alice", "alicepw")
	if id.Name != "Alice A" || id.Email != "alice@example.org" || strings.Join(id.Groups, ",") != "Sales,EU" {
		t.Errorf("identity = %+v", id)
	}
	id.Groups[0] = "changed"
	again, _ := p.Login(context.Background(), "alice", "alicepw")
	if again.Groups[0] != "Sales" {
		t.Error("Login returned the provider's own group slice")
	}
}

func TestCaseSensitive(t *testing.T) {
	cfg := Config{CaseSensitive: true, Users: []User{{Username: "Alice", PasswordHash: mustHash(t, "pw")}}}
	p, err := Open(context.Background(), providers.Common{}, &cfg, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Login(context.Background(), "alice", "pw"); !errors.Is(err, providers.ErrBadCredentials) {
		t.Fatalf("case-sensitive lookup accepted another spelling: %v", err)
	}
	if _, err := p.Login(context.Background(), "Alice", "pw"); err != nil {
		t.Fatal(err)
	}
}

func TestLoginHonoursContextWhenSlotsAreFull(t *testing.T) {
	cfg := Config{MaxConcurrent: 1, Users: []User{{Username: "a", PasswordHash: mustHash(t, "pw")}}}
	p, err := Open(context.Background(), providers.Common{}, &cfg, providers.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Login(ctx, "a", "pw"); !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

func TestValidate(t *testing.T) {
	good := mustHash(t, "pw")
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"no users", Config{}, []string{"users: at least one user is required"}},
		{"missing fields", Config{Users: []User{{}}}, []string{"users[0].username: required", "users[0].password_hash: required"}},
		{"duplicate after case folding", Config{Users: []User{{Username: "a", PasswordHash: good}, {Username: "A", PasswordHash: good}}},
			[]string{`users[1].username: "A" is already users[0]`}},
		{"backslash", Config{Users: []User{{Username: `CORP\a`, PasswordHash: good}}}, []string{"users[0].username:", "backslash"}},
		{"plain text password", Config{Users: []User{{Username: "a", PasswordHash: "secret"}}}, []string{"users[0].password_hash: not an argon2id or bcrypt hash"}},
		{"argon2i", Config{Users: []User{{Username: "a", PasswordHash: "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}}}, []string{"only argon2id"}},
		{"truncated argon2id", Config{Users: []User{{Username: "a", PasswordHash: good[:len(good)-30]}}}, []string{"users[0].password_hash: malformed argon2id key"}},
		{"blank group", Config{Users: []User{{Username: "a", PasswordHash: good, Groups: []string{" "}}}}, []string{"users[0].groups: blank group name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if err := (&Config{Users: []User{{Username: "a", PasswordHash: good}}}).Validate(); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}

func TestHashPasswordFormat(t *testing.T) {
	h, err := HashPassword("pw", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the default parameters", h)
	}
	ph, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !ph.verify("pw") || ph.verify("pw ") {
		t.Fatal("hash does not verify exactly its password")
	}
	h2, _ := HashPassword("pw", DefaultArgon2)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestLookupIdentity(t *testing.T) {
	p, err := Open(context.Background(), providers.Common{ID: "local"}, &Config{Users: []User{
		{Username: "Alice", PasswordHash: mustHash(t, "pw"), Name: "Alice A", Groups: []string{"Sales"}},
	}}, providers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.LookupIdentity(context.Background(), "Alice")
	if err != nil || id.UserID != "Alice" || id.Name != "Alice A" || len(id.Groups) != 1 || id.Groups[0] != "Sales" {
		t.Fatalf("LookupIdentity(Alice) = %+v, %v", id, err)
	}
	login, _ := p.Login(context.Background(), "alice", "pw")
	if login.UserID != id.UserID || login.Name != id.Name {
		t.Fatalf("Login and LookupIdentity disagree: %+v vs %+v", login, id)
	}
	for _, name := range []string{"bob", "alice", ""} {
		if _, err := p.LookupIdentity(context.Background(), name); !errors.Is(err, providers.ErrBadCredentials) {
			t.Errorf("LookupIdentity(%q) = %v, want ErrBadCredentials (only the UserID spelling, of a configured user)", name, err)
		}
	}
}

package ldap

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testlog"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// The servers are started at most once per package run, on first use, so
// that unit tests run alone stay fast; TestMain stops them.
var (
	slapdOnce sync.Once
	slapdSrv  *ldaptest.Slapd
	slapdErr  error
	sambaOnce sync.Once
	sambaSrv  *ldaptest.Samba
	sambaErr  error
	tempDirs  []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if slapdSrv != nil {
		_ = slapdSrv.Stop()
	}
	if sambaSrv != nil {
		_ = sambaSrv.Stop()
	}
	for _, d := range tempDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

func serverDir(prefix string) (string, error) {
	d, err := os.MkdirTemp("", prefix)
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

// needSlapd returns the shared slapd, or skips (fails when integration tests
// are required) if it cannot run here.
func needSlapd(t testing.TB) *ldaptest.Slapd {
	t.Helper()
	slapdOnce.Do(func() {
		dir, err := serverDir("qlikgate-slapd-")
		if err != nil {
			slapdErr = err
			return
		}
		slapdSrv, slapdErr = ldaptest.StartSlapd(dir)
	})
	if slapdErr != nil {
		ldaptest.SkipOrFail(t, slapdErr)
	}
	return slapdSrv
}

// needSamba returns the shared Samba AD DC, or skips/fails like needSlapd.
func needSamba(t testing.TB) *ldaptest.Samba {
	t.Helper()
	sambaOnce.Do(func() {
		dir, err := serverDir("qlikgate-samba-")
		if err != nil {
			sambaErr = err
			return
		}
		sambaSrv, sambaErr = ldaptest.StartSamba(dir)
	})
	if sambaErr != nil {
		ldaptest.SkipOrFail(t, sambaErr)
	}
	return sambaSrv
}

// slapdConfig is a working configuration for the test slapd over plain LDAP
// (so a Proxy can read the traffic); mods adjust it per test.
func slapdConfig(s *ldaptest.Slapd, mods ...func(*Config)) Config {
	c := *NewConfig()
	c.URLs = []string{s.URL}
	c.BindDN, c.BindPassword = s.BindDN, s.BindPass
	c.UserBase = s.BaseDN
	c.GroupBase = "ou=groups," + s.BaseDN
	c.Attributes = map[string]string{"departmentNumber": "Department"}
	c.Timeout, c.DialTimeout = 5*time.Second, 3*time.Second
	for _, m := range mods {
		m(&c)
	}
	return c
}

// sambaConfig is the Active Directory preset over LDAPS.
func sambaConfig(s *ldaptest.Samba, mods ...func(*Config)) Config {
	c := *NewConfig()
	c.ActiveDirectory = true
	c.URLs = []string{s.LDAPSURL}
	c.CAFile = s.CAFile
	c.BindDN, c.BindPassword = s.BindDN, s.BindPass
	c.UserBase = s.BaseDN
	c.PasswordChangeURL = "https://password.example.org/"
	c.Attributes = map[string]string{"department": "Department"}
	c.Timeout, c.DialTimeout = 5*time.Second, 2*time.Second
	for _, m := range mods {
		m(&c)
	}
	return c
}

func openProvider(t testing.TB, cfg Config) (*Provider, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := Open(context.Background(), providers.Common{ID: "corp", Kind: "ldap", Directory: "CORP"}, &cfg, providers.Env{Log: log})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, logs
}

// wantFailure checks a refused login: bad credentials with the given reason
// and user text.
func wantFailure(t *testing.T, err error, reason, userText string) {
	t.Helper()
	if !errors.Is(err, providers.ErrBadCredentials) {
		t.Fatalf("err = %v, want ErrBadCredentials", err)
	}
	var f *providers.Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v is not a *providers.Failure", err)
	}
	if string(f.Reason) != reason || f.UserText != userText {
		t.Fatalf("failure = {reason %q, text %q}, want {reason %q, text %q}", f.Reason, f.UserText, reason, userText)
	}
}

// Package providertest is the contract every provider kind must keep, as a
// suite its own tests run against a real peer (the way Dex's
// storage/conformance is run by each storage): a wrong password and an
// unknown user are refused alike, so no answer tells whether an account
// exists; a refusal is never mistaken for an outage, nor an outage for a
// refusal; an empty password is refused before anything is asked; and a
// cancelled request stops the login.
package providertest

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers"
)

// cancelGrace is how long a provider may take to notice a cancelled
// context: it must not go on to wait for a server's timeout.
const cancelGrace = 2 * time.Second

// PasswordSetup is what a password kind's test gives the suite.
type PasswordSetup struct {
	// Provider is opened against a reachable server that knows User.
	Provider providers.PasswordProvider
	// User and Password are valid credentials.
	User, Password string
	// Unreachable is the same kind opened against a server that does not
	// answer; nil for a kind that needs none (static users).
	Unreachable providers.PasswordProvider
}

// Password runs the password-provider contract.
func Password(t *testing.T, s PasswordSetup) {
	t.Helper()
	ctx := context.Background()
	t.Run("valid credentials sign in", func(t *testing.T) {
		id, err := s.Provider.Login(ctx, s.User, s.Password)
		if err != nil || id.UserID == "" {
			t.Fatalf("Login(%q, right password) = %+v, %v; want an identity with a UserID", s.User, id, err)
		}
	})
	wrong := refusal(t, "wrong password", func() error {
		_, err := s.Provider.Login(ctx, s.User, s.Password+"x")
		return err
	})
	unknown := refusal(t, "unknown user", func() error {
		_, err := s.Provider.Login(ctx, "nobody-"+s.User, s.Password)
		return err
	})
	t.Run("unknown user and wrong password look alike", func(t *testing.T) {
		if wrong == nil || unknown == nil {
			t.Skip("a refusal above failed already")
		}
		sameToUser(t, wrong, unknown)
	})
	refusal(t, "empty password", func() error {
		_, err := s.Provider.Login(ctx, s.User, "")
		return err
	})
	refusal(t, "empty username", func() error {
		_, err := s.Provider.Login(ctx, "", s.Password)
		return err
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		id, err := s.Provider.Login(cctx, s.User, s.Password)
		cancelled(t, id, err, start)
	})
	if s.Unreachable != nil {
		t.Run("unreachable server is unavailable, not a refusal", func(t *testing.T) {
			_, err := s.Unreachable.Login(ctx, s.User, s.Password)
			unavailable(t, err)
		})
	}
}

// RedirectSetup is what a redirect kind's test gives the suite.
type RedirectSetup struct {
	// Provider is opened against a reachable identity provider.
	Provider providers.RedirectProvider
	// SignIn follows authURL through the identity provider's own login
	// as a user with the right password and returns the query of the
	// callback it redirects to.
	SignIn func(ctx context.Context, authURL string) (url.Values, error)
	// Unreachable is the same kind opened against an identity provider
	// that does not answer.
	Unreachable providers.RedirectProvider
}

// flow values a redirect provider accepts: RFC 7636 wants a verifier of
// 43 or more characters.
const (
	testState    = "state-0123456789abcdef0123456789"
	testNonce    = "nonce-0123456789abcdef0123456789"
	testVerifier = "verifier-0123456789abcdef0123456789abcdef0123456789"
)

// Redirect runs the redirect-provider contract.
func Redirect(t *testing.T, s RedirectSetup) {
	t.Helper()
	ctx := context.Background()
	signIn := func(t *testing.T) url.Values {
		t.Helper()
		authURL, err := s.Provider.AuthURL(ctx, testState, testNonce, testVerifier)
		if err != nil {
			t.Fatalf("AuthURL: %v", err)
		}
		q, err := s.SignIn(ctx, authURL)
		if err != nil {
			t.Fatalf("signing in at the identity provider: %v", err)
		}
		return q
	}
	t.Run("a real sign-in completes", func(t *testing.T) {
		id, err := s.Provider.Callback(ctx, signIn(t), testNonce, testVerifier)
		if err != nil || id.UserID == "" {
			t.Fatalf("Callback = %+v, %v; want an identity with a UserID", id, err)
		}
	})
	forged := refusedRedirect(t, "forged code", func() error {
		_, err := s.Provider.Callback(ctx, url.Values{"state": {testState}, "code": {"forged"}}, testNonce, testVerifier)
		return err
	})
	replayed := refusedRedirect(t, "code of another flow", func() error {
		_, err := s.Provider.Callback(ctx, signIn(t), "another-nonce-0123456789abcdef", testVerifier)
		return err
	})
	t.Run("refusals look alike to the user", func(t *testing.T) {
		if forged == nil || replayed == nil {
			t.Skip("a refusal above failed already")
		}
		sameToUser(t, forged, replayed)
	})
	refusedRedirect(t, "empty callback", func() error {
		_, err := s.Provider.Callback(ctx, url.Values{}, testNonce, testVerifier)
		return err
	})
	t.Run("cancelled context", func(t *testing.T) {
		q := signIn(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		id, err := s.Provider.Callback(cctx, q, testNonce, testVerifier)
		cancelled(t, id, err, start)
	})
	if s.Unreachable != nil {
		t.Run("unreachable issuer is unavailable, not a refusal", func(t *testing.T) {
			_, err := s.Unreachable.AuthURL(ctx, testState, testNonce, testVerifier)
			unavailable(t, err)
		})
		t.Run("unreachable issuer honours a cancelled context", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			start := time.Now()
			if _, err := s.Unreachable.AuthURL(cctx, testState, testNonce, testVerifier); err == nil {
				t.Fatal("AuthURL succeeded with the issuer down")
			}
			if d := time.Since(start); d > cancelGrace {
				t.Fatalf("AuthURL took %v with a cancelled context", d)
			}
		})
	}
}

// refusal runs a password login that must be refused as bad credentials.
func refusal(t *testing.T, name string, login func() error) (got error) {
	t.Helper()
	t.Run(name+" is refused as bad credentials", func(t *testing.T) {
		err := login()
		if !errors.Is(err, providers.ErrBadCredentials) || errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("err = %v; want ErrBadCredentials and not ErrUnavailable", err)
		}
		got = err
	})
	return got
}

// refusedRedirect runs a callback that must be refused, not taken for
// an outage of the identity provider.
func refusedRedirect(t *testing.T, name string, callback func() error) (got error) {
	t.Helper()
	t.Run(name+" is refused", func(t *testing.T) {
		err := callback()
		if err == nil || errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("err = %v; want a refusal that is not ErrUnavailable", err)
		}
		got = err
	})
	return got
}

// sameToUser fails unless a and b would tell the user the same thing:
// the same class, and the same words (a reason the catalog translates
// only travels with words of its own, Failure.UserText).
func sameToUser(t *testing.T, a, b error) {
	t.Helper()
	if errors.Is(a, providers.ErrBadCredentials) != errors.Is(b, providers.ErrBadCredentials) {
		t.Errorf("one is ErrBadCredentials and the other not:\n%v\n%v", a, b)
	}
	ta, tb := userFacing(a), userFacing(b)
	if ta != tb {
		t.Errorf("they tell the user different things: %+v vs %+v", ta, tb)
	}
}

type facing struct {
	text, changeURL string
	reason          providers.Reason // only when there is a text to translate
}

func userFacing(err error) facing {
	var f *providers.Failure
	if !errors.As(err, &f) || f.UserText == "" {
		return facing{}
	}
	return facing{text: f.UserText, changeURL: f.ChangeURL, reason: f.Reason}
}

// cancelled fails unless a cancelled login failed, and soon.
func cancelled(t *testing.T, id providers.Identity, err error, start time.Time) {
	t.Helper()
	if err == nil {
		t.Fatalf("a cancelled login succeeded as %q", id.UserID)
	}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("err = %v; want context.Canceled or ErrUnavailable, not a refusal the user would be blamed for", err)
	}
	if d := time.Since(start); d > cancelGrace {
		t.Errorf("the cancelled login took %v", d)
	}
}

// unavailable fails unless err is an outage and not a refusal.
func unavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrBadCredentials) {
		t.Fatalf("err = %v; want ErrUnavailable and not ErrBadCredentials", err)
	}
}

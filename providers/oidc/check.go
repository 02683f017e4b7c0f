package oidc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/qlikgate/qlikgate/check"
)

// Diagnose checks ca_file and fetches the issuer's discovery document now,
// explaining a failure (wrong issuer, trailing slash, unknown CA, network).
// A success also makes the provider available, as the background discovery
// would.
func (p *Provider) Diagnose(ctx context.Context) []check.Result {
	var out []check.Result
	if p.cfg.CAFile != "" {
		out = append(out, check.CAFile("ca_file", p.cfg.CAFile, time.Now())...)
	}
	name := "issuer " + p.cfg.Issuer
	err := p.Discover(ctx)
	if err == nil {
		d := p.disc.Load()
		return append(out, check.Pass(name, "discovery document read; sign-in goes to "+d.oauth.Endpoint.AuthURL))
	}
	cause := err
	if j, ok := err.(interface{ Unwrap() []error }); ok { // Discover joins ErrUnavailable and the cause
		errs := j.Unwrap()
		cause = errs[len(errs)-1]
	}
	return append(out, check.Fail(name, "discovery failed: "+cause.Error(), p.discoveryFix(cause)))
}

// discoveryFix says what to do about a failed discovery.
func (p *Provider) discoveryFix(err error) string {
	wellKnown := strings.TrimSuffix(p.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var mismatch *gooidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		return fmt.Sprintf("set issuer to exactly %q, the value the discovery document holds (a trailing slash matters: tokens are checked against it)", mismatch.Discovered)
	}
	msg := err.Error()
	status := httpStatus(msg)
	switch {
	case status == http.StatusNotFound:
		return "there is no discovery document at " + wellKnown + ": check issuer (Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0, Keycloak: https://host/realms/<realm>, Okta: https://<org>.okta.com/oauth2/default)"
	case status != 0:
		return fmt.Sprintf("the issuer refused the discovery request (HTTP %d): check issuer and that %s opens in a browser", status, wellKnown)
	case strings.Contains(msg, "discovery object"), strings.Contains(msg, "Content-Type"):
		return wellKnown + " is not an OpenID discovery document: check issuer"
	}
	u, _ := url.Parse(p.cfg.Issuer)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	peer := check.Peer{What: "the issuer", Addr: net.JoinHostPort(u.Hostname(), port), CAKey: "ca_file"}
	cause, fix := peer.Explain(err)
	switch cause {
	case check.CauseUnknownCA:
		return fix + " (the system's trust store does not hold it)"
	case check.CauseTimeout:
		return fix + "; if this machine reaches the Internet through a proxy, set HTTPS_PROXY for qlikgate"
	case check.CauseOther:
		return "check issuer and that " + wellKnown + " opens from this machine"
	}
	return fix
}

// httpStatus reads the status go-oidc puts first in the error of a non-200
// answer ("404 Not Found: …"); 0 when the error is not one.
func httpStatus(msg string) int {
	if len(msg) < 4 || msg[3] != ' ' {
		return 0
	}
	n, err := strconv.Atoi(msg[:3])
	if err != nil || n < 100 {
		return 0
	}
	return n
}

package cloud

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// PageTemplate is the template the hand-off page is rendered with
// (templates/cloud.html).
const PageTemplate = "cloud"

// Keys of HandoffPage.Data. Every value is a string.
const (
	// DataTenantURL is the tenant's origin, https://host[:port], also
	// given as the page's only ConnectOrigins entry (CSP connect-src).
	DataTenantURL = "tenantURL"
	// DataTenantHost is the tenant's host name, for messages.
	DataTenantHost = "tenantHost"
	// DataWebIntegrationID is sent as header and query parameter.
	DataWebIntegrationID = "webIntegrationID"
	// DataJWT is the signed token (single use, short-lived).
	DataJWT = "jwt"
	// DataSessionURL is {tenant}/login/jwt-session?qlik-web-integration-id=….
	DataSessionURL = "sessionURL"
	// DataCheckURL is {tenant}/api/v1/csrf-token?qlik-web-integration-id=…,
	// which answers 204 only if the browser kept the session cookie.
	DataCheckURL = "checkURL"
	// DataReturnTo is where the browser goes after the login (validated
	// returnto, or the tenant's root), also the manual "Continue" link.
	DataReturnTo = "returnTo"
	// DataCookieHelp explains, for the administrator, how to fix blocked
	// third-party cookies for this tenant and this qlikgate.
	DataCookieHelp = "cookieHelp"
)

// Login signs a JWT for u and returns the hand-off page that exchanges it
// in the browser.
func (t *JWTTarget) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	// Signing needs no I/O, but a request already gone must not mint a
	// token that nobody will use.
	if err := ctx.Err(); err != nil {
		return qlik.Handoff{}, fmt.Errorf("cloud %s: %w", t.id, err)
	}
	claims, err := t.claimsFor(u, t.now())
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("cloud %s: %w", t.id, err)
	}
	token, err := t.sign(claims)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("cloud %s: %w", t.id, err)
	}
	id := url.QueryEscape(t.cfg.WebIntegrationID)
	return qlik.Handoff{Page: &qlik.HandoffPage{
		Template: PageTemplate,
		// The script calls the tenant and nothing else.
		ConnectOrigins: []string{t.tenant},
		Data: map[string]any{
			DataTenantURL:        t.tenant,
			DataTenantHost:       t.tenantBase.Hostname(),
			DataWebIntegrationID: t.cfg.WebIntegrationID,
			DataJWT:              token,
			DataSessionURL:       t.tenant + "/login/jwt-session?qlik-web-integration-id=" + id,
			DataCheckURL:         t.tenant + "/api/v1/csrf-token?qlik-web-integration-id=" + id,
			DataReturnTo:         t.destination(ctx, e),
			DataCookieHelp:       t.cookieHelp(),
		},
	}}, nil
}

// destination is the entry's returnto, checked again because the entry
// may have been stored before the configuration changed, or the tenant's
// root.
func (t *JWTTarget) destination(ctx context.Context, e qlik.Entry) string {
	if e.ReturnTo != "" {
		if dest, err := t.returnTo(e.ReturnTo); err == nil {
			return dest
		}
		t.log.WarnContext(ctx, "stored returnto is no longer allowed; sending the user to the tenant's start page")
	}
	return t.tenant + "/"
}

// cookieHelp is the fix for blocked third-party cookies, naming the hosts.
func (t *JWTTarget) cookieHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Qlik Cloud accepted the sign-in, but this browser did not keep the session cookie of %s: ", t.tenantBase.Hostname())
	b.WriteString("on this page it is a third-party cookie, which the browser blocks. ")
	b.WriteString("Administrators can fix this by giving the tenant a custom domain on the same site as this sign-in service ")
	b.WriteString("(for example analytics.example.com next to login.example.com), ")
	b.WriteString("or by allowing third-party cookies for this tenant in the browser policy.")
	return b.String()
}

// Logout sends the browser to the tenant's /logout, which ends the tenant
// session held in the browser's cookies; qlikgate has no server-side way
// to end it. The endpoint is not in Qlik's published API (contract §6).
func (t *JWTTarget) Logout(_ context.Context, _ qlik.User) (qlik.Handoff, error) {
	return qlik.Handoff{Redirect: t.tenant + "/logout"}, nil
}

package cloudtoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/qlikgate/qlikgate/check"
)

// checkSubject is looked up by the impersonation check: a subject no
// tenant has, so the check creates nothing and obtains no token.
const checkSubject = "qlikgate-check-no-such-user"

// Diagnose proves the OAuth clients authenticate, without creating a user
// or obtaining a token for one: the impersonation client asks for a user
// who does not exist (the tenant then says "user not found" to a client
// it accepted, and 401 to one it did not), and the admin client gets its
// client-credentials token.
func (i *Issuer) Diagnose(ctx context.Context) []check.Result {
	out := []check.Result{i.checkImpersonation(ctx)}
	if i.cfg.AdminClientID != "" {
		out = append(out, i.checkAdmin(ctx))
	}
	return out
}

func (i *Issuer) checkImpersonation(ctx context.Context) check.Result {
	name := "oauth_client_id " + i.cfg.OAuthClientID
	ctx, cancel := context.WithTimeout(ctx, i.cfg.OAuthTimeout)
	defer cancel()
	_, err := i.impersonate(ctx, checkSubject)
	var te *TenantError
	switch {
	case err == nil:
		return check.Warning(name, "the tenant issued a token for the check's made-up user "+checkSubject,
			"nothing to fix for qlikgate; the tenant has a user with that subject")
	case errors.As(err, &te) && te.Status == http.StatusUnauthorized:
		return check.Fail(name, err.Error(), "check oauth_client_id and oauth_client_secret against the tenant's OAuth client (Administration > OAuth)")
	case errors.As(err, &te) && (te.Status == http.StatusBadRequest || te.Status == http.StatusNotFound || te.Status == http.StatusForbidden):
		return check.Pass(name, fmt.Sprintf("the tenant accepts the client for user impersonation (asked for a user who does not exist, it answered %d: %s)", te.Status, te.Detail))
	case errors.As(err, &te):
		return check.Fail(name, err.Error(), "the client must be of type Web with Machine-to-machine impersonation and scope user_default")
	}
	return check.Fail(name, err.Error(), "check tenant_url and this machine's access to the tenant (HTTPS_PROXY if it goes through a proxy)")
}

func (i *Issuer) checkAdmin(ctx context.Context) check.Result {
	name := "admin_client_id " + i.cfg.AdminClientID
	ctx, cancel := context.WithTimeout(ctx, i.cfg.OAuthTimeout)
	defer cancel()
	if _, err := i.adminToken(ctx); err != nil {
		var te *TenantError
		fix := "check tenant_url and this machine's access to the tenant"
		switch {
		case errors.As(err, &te) && te.Status == http.StatusUnauthorized:
			fix = "check admin_client_id and admin_client_secret against the tenant's OAuth client"
		case errors.As(err, &te):
			fix = "the client must be a machine-to-machine client (client_credentials) allowed the scope admin_scope (" + i.cfg.AdminScope + ")"
		}
		return check.Fail(name, err.Error(), fix)
	}
	return check.Pass(name, "the admin client gets a token with scope "+i.cfg.AdminScope+": users are created at their first embed")
}

package oidc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qlikgate/qlikgate/providers"
)

// maxUserID bounds the Qlik UserId; longer values are a misconfigured claim.
const maxUserID = 256

// identity maps verified claims to an Identity and applies the gates.
//
// Subject is "<issuer>#<sub>": OIDC guarantees only the pair (iss, sub) to be
// stable and unique, and an issuer URL never contains '#', so the string
// splits back unambiguously.
func (p *Provider) identity(ctx context.Context, c claims) (providers.Identity, error) {
	sub, _ := c.str("sub")
	userID, err := p.userID(c)
	if err != nil {
		return providers.Identity{}, err
	}
	id := providers.Identity{
		Subject: p.cfg.Issuer + "#" + sub,
		UserID:  userID,
		Groups:  p.groups(ctx, c),
	}
	if p.cfg.NameClaim != "" {
		id.Name, _ = c.str(p.cfg.NameClaim)
		if strings.TrimSpace(id.Name) == "" && p.cfg.NameClaim == "name" {
			given, _ := c.str("given_name")
			family, _ := c.str("family_name")
			id.Name = given + " " + family
		}
		id.Name = strings.TrimSpace(id.Name)
	}
	if p.cfg.EmailClaim != "" {
		id.Email, _ = c.str(p.cfg.EmailClaim)
		id.EmailVerified = p.emailVerified(c)
	}
	for _, name := range sortedKeys(p.cfg.Attributes) {
		if vals := c.strs(p.cfg.Attributes[name]); len(vals) > 0 {
			if id.Attributes == nil {
				id.Attributes = map[string][]string{}
			}
			id.Attributes[name] = vals
		}
	}
	if err := p.admit(c, id); err != nil {
		return providers.Identity{}, err
	}
	return id, nil
}

// userID reads the configured claim. It is refused rather than repaired
// when Qlik cannot take it (a backslash separates directory and user id in
// Qlik), so the administrator sees the cause instead of a mangled id.
func (p *Provider) userID(c claims) (string, error) {
	claim := p.cfg.UserIDClaim
	v, ok := c.str(claim)
	v = strings.TrimSpace(v)
	switch {
	case !ok || v == "":
		return "", failure(providers.ReasonMissingUserID, fmt.Errorf("%w: the claim %q (user_id_claim) is missing or not a string", ErrClaims, claim))
	case strings.ContainsRune(v, '\\') || strings.ContainsFunc(v, isControl):
		return "", failure(providers.ReasonInvalidUserID, fmt.Errorf("%w: the claim %q (user_id_claim) has a backslash or control character, which a Qlik UserId cannot hold: %q", ErrClaims, claim, clean(v, 100)))
	case len(v) > maxUserID:
		return "", failure(providers.ReasonInvalidUserID, fmt.Errorf("%w: the claim %q (user_id_claim) is longer than %d bytes", ErrClaims, claim, maxUserID))
	}
	// A user id taken from an e-mail address the issuer itself says is not
	// verified could be anybody's.
	if (claim == p.cfg.EmailClaim || claim == "email") && !p.emailVerified(c) {
		return "", refusal(providers.ReasonEmailNotVerified, textEmailNotVerified,
			fmt.Errorf("%w: user_id_claim is the e-mail address, which the issuer does not say is verified (see assume_email_verified)", ErrNotAllowed))
	}
	if p.cfg.UserIDLowercase {
		v = strings.ToLower(v)
	}
	return v, nil
}

func (p *Provider) groups(ctx context.Context, c claims) []string {
	if p.cfg.GroupsClaim == "" {
		return nil
	}
	if !c.has(p.cfg.GroupsClaim) && p.overage(c) {
		p.log.WarnContext(ctx, "the ID token has no groups because the user is in too many (Entra ID groups overage); "+
			"assign groups to the application or emit only those, see the README",
			"event", "oidc_groups_overage")
	}
	return c.strs(p.cfg.GroupsClaim)
}

// overage reports Entra ID's "groups overage": over 200 groups, the token
// carries a _claim_names pointer to Microsoft Graph instead of the groups.
func (p *Provider) overage(c claims) bool {
	names, ok := c["_claim_names"].(map[string]any)
	if !ok {
		return false
	}
	_, ok = names[p.cfg.GroupsClaim]
	return ok
}

// emailVerified reads email_verified; when the issuer does not send it at
// all, assume_email_verified decides.
func (p *Provider) emailVerified(c claims) bool {
	v, present := c.boolean("email_verified")
	if !present {
		return p.cfg.AssumeEmailVerified
	}
	return v
}

// admit applies require_verified_email, allowed_domains and allowed_groups.
func (p *Provider) admit(c claims, id providers.Identity) error {
	if p.cfg.RequireVerifiedEmail && (id.Email == "" || !id.EmailVerified) {
		return refusal(providers.ReasonEmailNotVerified, textEmailNotVerified,
			fmt.Errorf("%w: require_verified_email is set and the e-mail is missing or not verified", ErrNotAllowed))
	}
	if len(p.cfg.AllowedDomains) > 0 {
		_, domain, _ := strings.Cut(id.Email, "@")
		// An unverified address proves nothing about the domain.
		if !id.EmailVerified || !slices.Contains(p.cfg.AllowedDomains, strings.ToLower(domain)) {
			return refusal(providers.ReasonDomainNotAllowed, textNotAllowed,
				fmt.Errorf("%w: e-mail domain %q (verified: %t) is not an allowed domain", ErrNotAllowed, clean(domain, 100), id.EmailVerified))
		}
	}
	if len(p.cfg.AllowedGroups) > 0 && !slices.ContainsFunc(id.Groups, func(g string) bool { return slices.Contains(p.cfg.AllowedGroups, g) }) {
		why := "the user is in none of allowed_groups"
		if !c.has(p.cfg.GroupsClaim) {
			why = fmt.Sprintf("there is no %q claim in the ID token or userinfo", p.cfg.GroupsClaim)
			if p.overage(c) {
				why = "Entra ID left the groups out of the token (groups overage)"
			}
		}
		return refusal(providers.ReasonGroupNotAllowed, textNotAllowed, fmt.Errorf("%w: %s", ErrNotAllowed, why))
	}
	return nil
}

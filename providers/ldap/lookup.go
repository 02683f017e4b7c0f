package ldap

import (
	"context"
	"strings"

	"github.com/qlikgate/qlikgate/providers"
)

var _ providers.IdentityLookup = (*Provider)(nil)

// LookupIdentity finds, with the service account and the user filter,
// the entry whose user id (user_id_attribute, as Login returns it) is
// userID, and reads the identity from it as Login does: current groups
// and attributes. It serves a sign-in that proved who the user is
// without a password (a passkey). An entry the filter no longer finds
// (deleted), or one whose user id differs, is refused like an unknown
// user; on Active Directory a disabled or locked-out account is refused
// with its reason, as a password bind and a Kerberos ticket are. The user
// filter must find users by their user id (it does with the defaults,
// where both are uid or sAMAccountName).
func (p *Provider) LookupIdentity(ctx context.Context, userID string) (providers.Identity, error) {
	if strings.TrimSpace(userID) == "" {
		return providers.Identity{}, &providers.Failure{Reason: providers.ReasonInvalidName, Err: providers.ErrBadCredentials}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var id providers.Identity
	err := p.search.run(ctx, func(c *conn) error {
		entry, err := p.findUsableUser(ctx, c, userID, "passkey sign-in")
		if err != nil {
			return err
		}
		id, err = p.identity(ctx, c, entry)
		if err == nil && id.UserID != userID {
			p.log.InfoContext(ctx, "ldap: the entry found for a user id has another user id: refusing the sign-in", "dn", entry.DN)
			return &providers.Failure{Reason: providers.ReasonUnknownUser, Err: providers.ErrBadCredentials}
		}
		return err
	})
	if err != nil {
		return providers.Identity{}, classify(err)
	}
	return id, nil
}

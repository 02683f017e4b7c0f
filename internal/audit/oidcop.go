package audit

// qlikgate as an OpenID provider (target kind cloud-oidc). OIDCRefused has
// endpoint (authorize, token, userinfo, end_session) and reason; codes,
// tokens and secrets are never logged. OIDCTokenIssued is a code redeemed
// at the token endpoint, with client and user.
const (
	OIDCRefused     = "oidc_refused"
	OIDCTokenIssued = "oidc_token_issued"
)

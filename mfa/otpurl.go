package mfa

import (
	"net/url"
	"strconv"
)

// otpURL builds the Key-Uri-Format URL of a stored secret.
type otpURL struct{ issuer, account, secret string }

func (u *otpURL) String() string {
	q := url.Values{}
	q.Set("secret", u.secret)
	q.Set("issuer", u.issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", strconv.Itoa(Period))
	return (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + u.issuer + ":" + u.account, RawQuery: q.Encode()}).String()
}

package qliksim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwtAudience is the only audience the tenant's JWT login accepts.
const jwtAudience = "qlik.api/login/jwt-session"

// maxJWTWindow caps exp − nbf (enforced by Qlik since June 2022).
const maxJWTWindow = 3600

// jwtRequiredClaims are checked for presence in this order; the first one
// missing is reported, like the tenant's "Missing required claim: nbf".
var jwtRequiredClaims = []string{"iss", "aud", "sub", "subType", "name", "email", "email_verified", "jti", "iat", "nbf", "exp"}

// jwtRejection is a refused token: the HTTP status (400 for a claim that is
// missing or of the wrong type, as in the tenant's observed answer; 401 for
// everything that fails authentication) and the reason.
type jwtRejection struct {
	status int
	detail string
	replay bool
}

func (e *jwtRejection) Error() string { return e.detail }

func jwtReject401(format string, a ...any) *jwtRejection {
	return &jwtRejection{status: http.StatusUnauthorized, detail: fmt.Sprintf(format, a...)}
}

func jwtReject400(format string, a ...any) *jwtRejection {
	return &jwtRejection{status: http.StatusBadRequest, detail: "JWT_LOGIN_VALIDATIONS " + fmt.Sprintf(format, a...)}
}

// jwtLogin is what a valid token says.
type jwtLogin struct {
	user        CloudUser
	groupsGiven bool
	jti         string
	exp         time.Time
}

// verifyJWT applies every rule of contract §3.2 except jti replay, which
// needs the tenant's state. It never trusts the payload before the
// signature is verified with the key the kid selects.
func (c *Cloud) verifyJWT(token string, now time.Time) (jwtLogin, *jwtRejection) {
	idp, alg, rej := c.checkHeader(token)
	if rej != nil {
		return jwtLogin{}, rej
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return jwtLogin{}, jwtReject401("malformed token: %v", err)
	}
	payload, err := jws.Verify(idp.key)
	if err != nil {
		return jwtLogin{}, jwtReject401("invalid signature: the token was not signed with the key of the IdP with this kid")
	}
	cl, rej := parseJWTClaims(payload)
	if rej != nil {
		return jwtLogin{}, rej
	}
	return cl.check(idp, now, c.opts.ClockTolerance)
}

// checkHeader reads the unverified header to pick the IdP and refuses
// algorithms the tenant does not accept before any key is used: a token
// with "none" or HS256 (keyed with the public key) must never verify.
func (c *Cloud) checkHeader(token string) (cloudIdP, jose.SignatureAlgorithm, *jwtRejection) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return cloudIdP{}, "", jwtReject401("malformed token: want three dot-separated parts, got %d", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return cloudIdP{}, "", jwtReject401("malformed token header: %v", err)
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return cloudIdP{}, "", jwtReject401("malformed token header: %v", err)
	}
	alg := jose.SignatureAlgorithm(h.Alg)
	switch {
	case strings.EqualFold(h.Alg, "none"):
		return cloudIdP{}, "", jwtReject401(`alg "none" is not accepted: the token must be signed`)
	case strings.HasPrefix(strings.ToUpper(h.Alg), "HS"):
		return cloudIdP{}, "", jwtReject401("alg %q is not accepted: symmetric algorithms are refused", h.Alg)
	case alg != jose.RS256 && alg != jose.ES256:
		return cloudIdP{}, "", jwtReject401("alg %q is not accepted (RS256 or ES256)", h.Alg)
	}
	if h.Kid == "" {
		return cloudIdP{}, "", jwtReject401("the token header has no kid")
	}
	idp, ok := c.idp(h.Kid)
	if !ok {
		return cloudIdP{}, "", jwtReject401("no JWT identity provider has kid %q", h.Kid)
	}
	_, isRSA := idp.key.(*rsa.PublicKey)
	_, isEC := idp.key.(*ecdsa.PublicKey)
	if (alg == jose.RS256 && !isRSA) || (alg == jose.ES256 && !isEC) {
		return cloudIdP{}, "", jwtReject401("alg %s does not match the key of the IdP with kid %q", alg, h.Kid)
	}
	return idp, alg, nil
}

// jwtClaims are the claims the tenant reads, type-checked.
type jwtClaims struct {
	iss, sub, subType, name, email, jti string
	aud                                 []string
	emailVerified                       bool
	iat, nbf, exp                       float64
	groups                              []string
	groupsGiven                         bool
}

// parseJWTClaims checks presence and types. Numbers are decoded with
// UseNumber so that a jti of 12345678901234567890 is not rounded.
func parseJWTClaims(payload []byte) (jwtClaims, *jwtRejection) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return jwtClaims{}, jwtReject400("the payload is not a JSON object")
	}
	for _, name := range jwtRequiredClaims {
		v, ok := m[name]
		if !ok || v == nil || v == "" {
			return jwtClaims{}, jwtReject400("Missing required claim: %s", name)
		}
	}
	var (
		cl  jwtClaims
		rej *jwtRejection
	)
	str := func(name string, dst *string) {
		if rej != nil {
			return
		}
		s, ok := m[name].(string)
		if !ok {
			rej = jwtReject400("Invalid claim type: %s must be a string", name)
		}
		*dst = s
	}
	num := func(name string, dst *float64) {
		if rej != nil {
			return
		}
		n, ok := m[name].(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || math.IsInf(f, 0) {
			rej = jwtReject400("Invalid claim type: %s must be a number of seconds", name)
		}
		*dst = f
	}
	str("iss", &cl.iss)
	str("sub", &cl.sub)
	str("subType", &cl.subType)
	str("name", &cl.name)
	str("email", &cl.email)
	num("iat", &cl.iat)
	num("nbf", &cl.nbf)
	num("exp", &cl.exp)
	if rej != nil {
		return jwtClaims{}, rej
	}
	// Qlik support's sample token carries a numeric jti (contract §3.2).
	switch v := m["jti"].(type) {
	case string:
		cl.jti = v
	case json.Number:
		cl.jti = v.String()
	default:
		return jwtClaims{}, jwtReject400("Invalid claim type: jti must be a string or a number")
	}
	var ok bool
	if cl.emailVerified, ok = m["email_verified"].(bool); !ok {
		return jwtClaims{}, jwtReject400("Invalid claim type: email_verified must be a boolean")
	}
	if cl.aud, ok = jwtStringList(m["aud"], true); !ok {
		return jwtClaims{}, jwtReject400("Invalid claim type: aud must be a string or a list of strings")
	}
	if g, present := m["groups"]; present {
		if cl.groups, ok = jwtStringList(g, false); !ok {
			return jwtClaims{}, jwtReject400("Invalid claim type: groups must be a list of strings")
		}
		cl.groupsGiven = true
	}
	return cl, nil
}

// jwtStringList accepts a JSON array of strings, and a single string when
// single is set (RFC 7519 allows aud as either).
func jwtStringList(v any, single bool) ([]string, bool) {
	if s, ok := v.(string); ok && single {
		return []string{s}, true
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, item := range arr {
		s, ok := item.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// check applies the value rules of contract §3.2.
func (cl jwtClaims) check(idp cloudIdP, now time.Time, tol time.Duration) (jwtLogin, *jwtRejection) {
	switch {
	case cl.iss != idp.issuer:
		return jwtLogin{}, jwtReject401("iss %q is not the issuer of the IdP with this kid", cl.iss)
	case !slices.Contains(cl.aud, jwtAudience):
		return jwtLogin{}, jwtReject401("aud %q is not %q", cl.aud, jwtAudience)
	case cl.subType != "user":
		return jwtLogin{}, jwtReject401(`subType %q is not "user"`, cl.subType)
	case !cl.emailVerified:
		return jwtLogin{}, jwtReject401("email_verified must be true")
	case cl.exp <= cl.nbf:
		return jwtLogin{}, jwtReject401("exp must be after nbf")
	case cl.exp-cl.nbf > maxJWTWindow:
		return jwtLogin{}, jwtReject401("exp - nbf is %.0f s, more than the %d s allowed", cl.exp-cl.nbf, maxJWTWindow)
	}
	t := float64(now.UnixNano()) / 1e9
	slack := tol.Seconds()
	switch {
	case t < cl.nbf-slack:
		return jwtLogin{}, jwtReject401("the token is not valid yet (nbf is %.0f s ahead)", cl.nbf-t)
	case t > cl.exp+slack:
		return jwtLogin{}, jwtReject401("the token has expired (%.0f s ago)", t-cl.exp)
	}
	return jwtLogin{
		user:        CloudUser{Subject: cl.sub, Issuer: cl.iss, Name: cl.name, Email: cl.email, Groups: cl.groups},
		groupsGiven: cl.groupsGiven,
		jti:         cl.jti,
		exp:         time.Unix(0, int64(cl.exp*1e9)).Add(tol),
	}, nil
}

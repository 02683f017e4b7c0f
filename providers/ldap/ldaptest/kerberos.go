package ldaptest

import (
	"fmt"
	"net/http"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// KerberosClient signs an account in at the KDC (a pure-Go client, so
// tests need no MIT tools): its tickets make Negotiate tokens. Destroy it
// when done.
func (s *Samba) KerberosClient(name string) (*client.Client, error) {
	cfg, err := config.Load(s.Krb5Conf)
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %s: %w", s.Krb5Conf, err)
	}
	cl := client.NewWithPassword(name, s.KerberosRealm, s.Password(name), cfg, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		return nil, fmt.Errorf("ldaptest: kerberos login of %s: %w", name, err)
	}
	return cl, nil
}

// NegotiateHeader is a fresh `Authorization: Negotiate …` value from cl for
// the service principal spn (a new authenticator each time).
func NegotiateHeader(cl *client.Client, spn string) (string, error) {
	r, _ := http.NewRequest(http.MethodGet, "http://qlikgate.test/", nil)
	if err := spnego.SetSPNEGOHeader(cl, r, spn); err != nil {
		return "", fmt.Errorf("ldaptest: a Negotiate token for %s: %w", spn, err)
	}
	return r.Header.Get("Authorization"), nil
}

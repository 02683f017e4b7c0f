package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/qlikgate/qlikgate/check"
)

// Diagnose checks ca_file, then connects to every server in urls (TLS as
// configured) and binds as the service account, reporting each server on
// its own line, and finally reads user_base and group_base, the mistakes
// a bind does not reveal.
func (p *Provider) Diagnose(ctx context.Context) []check.Result {
	var out []check.Result
	if p.cfg.CAFile != "" {
		out = append(out, check.CAFile("ca_file", p.cfg.CAFile, time.Now())...)
	}
	if p.cfg.InsecureSkipVerify {
		out = append(out, check.Warning("insecure_skip_verify", "TLS certificates of the directory are not verified",
			"anyone on the network path can impersonate the directory and read every password: set ca_file and remove insecure_skip_verify"))
	}
	if r, ok := p.passwordChangeResult(); ok {
		out = append(out, r)
	}
	if p.krb != nil {
		out = append(out, p.kerberosResults(ctx)...)
	}
	reachable := false
	for i, st := range p.Check(ctx) {
		out = append(out, p.serverResult(p.servers[i], st.Err))
		reachable = reachable || st.Err == nil
	}
	if !reachable {
		return out // the bases cannot be read; the servers' lines say why
	}
	out = append(out, p.baseResult(ctx, "user_base", p.cfg.UserBase))
	if p.cfg.GroupBase != "" {
		out = append(out, p.baseResult(ctx, "group_base", p.cfg.GroupBase))
	}
	return out
}

// passwordChangeResult says whether expired passwords can be changed at
// sign-in, and on Active Directory over plain LDAP why they cannot (the
// configuration refuses password_change there).
func (p *Provider) passwordChangeResult() (check.Result, bool) {
	const name = "password_change"
	if p.cfg.PasswordChange.Enabled {
		return check.Pass(name, "users whose password has expired or must be changed change it on the sign-in page"), true
	}
	if !p.cfg.ActiveDirectory || p.cfg.StartTLS {
		return check.Result{}, false
	}
	for _, s := range p.servers {
		if !s.ldaps {
			return check.Warning(name, "off: expired passwords cannot be changed at sign-in over plain LDAP ("+s.url+"), where the old and the new password would cross the network in clear text",
				"use ldaps:// or start_tls: true, then password_change: { enabled: true }"), true
		}
	}
	return check.Result{}, false
}

// serverResult reports one server's connection and service bind.
func (p *Provider) serverResult(s *server, err error) check.Result {
	name := "server " + s.url
	if err == nil {
		r := check.Pass(name, "connected"+p.transport(s)+" and "+p.bound())
		if !s.ldaps && !p.cfg.StartTLS {
			r = check.Warning(name, "connected and "+p.bound()+", but without TLS: passwords cross the network in clear text",
				"use ldaps:// (port 636) or start_tls: true")
		}
		return r
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner // Check prefixes the URL, which the name already shows
	}
	// The marker for errors another server would repeat is for the
	// failover logic; go-ldap ends a result without a message in ": ".
	detail := strings.TrimPrefix(err.Error(), errNotServer.Error()+": ")
	detail = strings.TrimSuffix(detail, ": ")
	return check.Fail(name, detail, p.serverFix(s, err))
}

func (p *Provider) transport(s *server) string {
	switch {
	case s.ldaps:
		return " over TLS (ldaps)"
	case p.cfg.StartTLS:
		return " with StartTLS"
	}
	return ""
}

func (p *Provider) bound() string {
	if p.cfg.AnonymousSearch {
		return "ready for anonymous searches"
	}
	return fmt.Sprintf("bound as %q", p.cfg.BindDN)
}

// serverFix names the likely causes of a failed connection or bind.
func (p *Provider) serverFix(s *server, err error) string {
	var le *ldap.Error
	if errors.As(err, &le) && !isTransport(err) {
		return p.bindFix(le)
	}
	peer := check.Peer{What: "the directory server", Addr: s.addr, CAKey: "ca_file"}
	cause, fix := peer.Explain(err)
	switch cause {
	case check.CauseUnknownCA:
		return fix + " (Active Directory: the root certificate of the enterprise CA, exported as Base-64 .cer)"
	case check.CauseNameMismatch:
		return fix + ": write that name in urls"
	case check.CauseNotTLS, check.CauseClosed:
		if s.ldaps {
			return fix + "; ldaps:// needs the LDAPS port (636), for port 389 use ldap:// with start_tls: true"
		}
	case check.CauseOther:
		if p.cfg.StartTLS && strings.Contains(err.Error(), "StartTLS") {
			return "the server does not offer StartTLS: enable TLS on the directory (it needs a certificate), or use ldaps://"
		}
		return "check the URL in urls and that the directory service runs"
	}
	return fix
}

// adBindReason explains the "data" sub-code Active Directory gives with a
// refused bind (result 49), or "" for other codes and other servers.
func adBindReason(code string) string {
	switch code {
	case "525":
		return "bind_dn names no account"
	case "52e":
		return "bind_password is wrong"
	case "530":
		return "the account may not log on at this time"
	case "531":
		return "the account may not log on from this machine"
	case "532":
		return "the account's password has expired: set a new one (and make it not expire for a service account)"
	case "533":
		return "the account is disabled"
	case "701":
		return "the account has expired"
	case "773":
		return "the account must change its password before it can bind"
	case "775":
		return "the account is locked out (too many wrong passwords: is an old password configured somewhere?)"
	}
	return ""
}

// bindFix explains a refused service bind.
func (p *Provider) bindFix(le *ldap.Error) string {
	switch le.ResultCode {
	case ldap.LDAPResultInvalidCredentials:
		fix := "the directory refused the service account: check bind_dn (a DN, or for AD user@domain or DOMAIN\\user) and bind_password"
		if why := adBindReason(adSubCode(diagnostic(le))); why != "" {
			fix = "the directory refused the service account: " + why
		}
		return fix
	case ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired:
		return "the server requires TLS for binds: use ldaps:// or start_tls: true"
	case ldap.LDAPResultInappropriateAuthentication:
		return "the server refuses simple binds for this account (an anonymous or empty password?): check bind_password"
	}
	return "the directory refused the service bind (LDAP result " + ldap.LDAPResultCodeMap[le.ResultCode] + "): check bind_dn and bind_password"
}

// baseResult reads the entry at base as the service account.
func (p *Provider) baseResult(ctx context.Context, key, base string) check.Result {
	name := fmt.Sprintf("%s %q", key, base)
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	err := p.search.run(ctx, func(c *conn) error {
		req := ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, timeLimit(ctx), false, "(objectClass=*)", []string{"1.1"}, nil)
		return c.do(ctx, func(l *ldap.Conn) error {
			_, err := l.Search(req)
			return err
		})
	})
	switch {
	case err == nil:
		return check.Pass(name, "exists and the service account can read it")
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return check.Fail(name, "no such entry in the directory", "check "+key+": it must be the DN of an existing container, like DC=corp,DC=local or OU=Users,DC=corp,DC=local")
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights):
		return check.Fail(name, "the service account may not read it", "grant bind_dn read access to "+key+", or choose a base it can read")
	}
	return check.Fail(name, err.Error(), "check "+key+" and the service account's rights")
}

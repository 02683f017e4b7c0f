package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"text/template"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// The Windows sign-in flows: a Kerberos login and a password login of the
// same accounts at the same Active Directory, in one run. They need the
// Samba AD DC of ldaptest (root, and ports 389 and 636 free: Samba fixes
// them), which is also the realm's KDC; qlikgate serves them from a
// configuration of its own whose ldap provider has the kerberos block.
const (
	flowKerberos   = "kerberos"    // hub → entry 401 → entry with Negotiate → QPS ticket → hub
	flowADPassword = "ad-password" // hub → entry 401 with the form → POST → QPS ticket → hub

	// kerberosHost is qlikgate's host name in these flows, that of the
	// fixture's SPN HTTP/qlikgate.test; browsers reach it at 127.0.0.1.
	kerberosHost = "qlikgate.test"
	adProviderID = "corp"
	adDirectory  = "CORP"
)

// kerberosFlows are the flows benchKerberos runs, in this order.
var kerberosFlows = []string{flowKerberos, flowADPassword}

func isKerberosFlow(f string) bool { return slices.Contains(kerberosFlows, f) }

// benchKerberos starts Samba with one account per virtual user, and for
// each Windows sign-in flow asked for a qlikgate child on it, and measures.
func benchKerberos(ctx context.Context, o options, rep *report, dir, bin string, site *senseSite, progress func(string, ...any)) error {
	var flows []string
	for _, f := range o.flows {
		if isKerberosFlow(f) {
			flows = append(flows, f)
		}
	}
	if len(flows) == 0 {
		return nil
	}
	progress("starting the Samba AD DC and KDC (ports 389 and 636 must be free)")
	sdir := filepath.Join(dir, "samba")
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return err
	}
	s, err := ldaptest.StartSamba(sdir)
	if err != nil {
		var u *ldaptest.Unavailable
		if errors.As(err, &u) {
			return fmt.Errorf("the %v flows need the Samba AD DC (root, samba installed, ports 389 and 636 free): %w", flows, err)
		}
		return fmt.Errorf("starting Samba: %w", err)
	}
	defer func() { _ = s.Stop() }()
	users := accounts(o.users)
	names := make([]string, len(users))
	for i := range users {
		names[i] = users[i].name
		users[i].password = s.Password(users[i].name)
	}
	if err := s.AddUsers(names...); err != nil {
		return err
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("%v: qlikgate's ldap provider (active_directory, LDAPS, pool_size default) on the Samba AD DC of ldaptest, with Kerberos "+
		"(keytab of %s exported by samba-tool); one AD account per virtual user; each kerberos virtual user is a gokrb5 client logged in "+
		"before the timer, its service ticket cached, a new authenticator per login", flows, s.SPN))
	progress("logging %d virtual users in at the KDC", len(users))
	clients := make([]*client.Client, len(users))
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.Destroy()
			}
		}
	}()
	for i, u := range users {
		if clients[i], err = s.KerberosClient(u.name); err != nil {
			return err
		}
		if _, err := ldaptest.NegotiateHeader(clients[i], s.SPN); err != nil { // fetch the service ticket
			return err
		}
	}
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(listen)
	publicURL := "http://" + net.JoinHostPort(kerberosHost, port) + "/"
	config, err := writeKerberosConfig(dir, s, site, listen, publicURL, o.logLevel)
	if err != nil {
		return err
	}
	for _, flow := range flows {
		progress("flow %s: %d virtual users, %s", flow, o.users, span(o.mainWindow()))
		r, err := measureKerberosFlow(ctx, o, flow, bin, config, listen, publicURL, filepath.Join(dir, "qlikgate-"+flow+".log"), s, site, users, clients)
		if err != nil {
			return err
		}
		rep.Flows = append(rep.Flows, r)
	}
	return nil
}

// measureKerberosFlow starts a qlikgate child for one flow, as
// measureChildFlow does, and measures the flow against it.
func measureKerberosFlow(ctx context.Context, o options, flow, bin, config, listen, publicURL, logFile string, s *ldaptest.Samba,
	site *senseSite, users []account, clients []*client.Client) (flowResult, error) {
	// /healthz is polled at the listening address: qlikgate.test resolves
	// nowhere but in the virtual users' dialer.
	child, err := startChild(ctx, bin, config, "http://"+listen+"/", logFile, "", o.gogc, nil)
	if err != nil {
		return flowResult{}, err
	}
	defer child.stop()
	pids := map[string]int{"tool": os.Getpid(), "qlikgate": child.pid()}
	if pid := s.PID(); pid > 0 {
		pids["samba"] = pid
	}
	t := runTarget{label: "qlikgate serve (child process)", publicURL: publicURL, pids: pids, rssPID: child.pid()}
	e := entrance{start: site.hubURL(), moduleURL: publicURL, hubShowsUser: true}
	who := func(i int) signIn { return signIn{provider: adProviderID, directory: adDirectory, account: users[i]} }
	spec := adPasswordFlow(e, who)
	if flow == flowKerberos {
		spec = kerberosFlow(e, who, func(i int) (string, error) { return ldaptest.NegotiateHeader(clients[i], s.SPN) })
	}
	r, err := measureFlow(ctx, flow, spec, o.mainWindow(), site, t, nil)
	if err != nil {
		return flowResult{}, err
	}
	if err := child.alive(); err != nil {
		return flowResult{}, err
	}
	if gogc, err := child.gogc(ctx); err == nil {
		r.GOGC = &gogc
	}
	if n, err := moduleAffinity(child.pid()); err == nil {
		r.CPUs = n
	}
	return r, nil
}

// newKerberosBrowser is a browser whose connections to qlikgate.test go to
// 127.0.0.1, as a browser's would with the name in DNS.
func newKerberosBrowser(moduleURL string) (*browser, error) {
	b, err := newBrowser(moduleURL)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	b.client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && host == kerberosHost {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return b, nil
}

// kerberosFlow is a Windows sign-in per iteration from a new browser
// session: the hub sends it to qlikgate's entry, which challenges (401
// Negotiate); the browser asks again with a fresh token of its user's
// cached service ticket and is handed over to the hub with no page.
func kerberosFlow(e entrance, who func(i int) signIn, token func(i int) (string, error)) flowSpec {
	return flowSpec{name: flowKerberos, prepare: func(ctx context.Context, i int) (*virtualUser, error) {
		b, err := newKerberosBrowser(e.moduleURL)
		if err != nil {
			return nil, err
		}
		s := who(i)
		return &virtualUser{close: b.close, iterate: func(ctx context.Context) (time.Duration, error) {
			b.forget()
			challenge, module, err := challenged(ctx, b, e)
			if err != nil {
				return module, err
			}
			h, err := token(i)
			if err != nil {
				return module, err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, challenge.URL.String(), nil)
			if err != nil {
				return module, err
			}
			req.Header.Set("Authorization", h)
			hub, m2, err := b.navigate(ctx, req)
			module += m2
			if err != nil {
				return module, err
			}
			return module, checkAtQlik(hub, e, s)
		}}, nil
	}}
}

// adPasswordFlow is a password sign-in per iteration at the same entry: a
// browser without a ticket gets the form in the 401's body and posts it.
func adPasswordFlow(e entrance, who func(i int) signIn) flowSpec {
	return flowSpec{name: flowADPassword, prepare: func(ctx context.Context, i int) (*virtualUser, error) {
		b, err := newKerberosBrowser(e.moduleURL)
		if err != nil {
			return nil, err
		}
		s := who(i)
		return &virtualUser{close: b.close, iterate: func(ctx context.Context) (time.Duration, error) {
			b.forget()
			page, module, err := challenged(ctx, b, e)
			if err != nil {
				return module, err
			}
			if !page.IsLoginPage() {
				return module, fmt.Errorf("the 401 at %s carries no login form", page.URL.Path)
			}
			form, err := page.LoginForm(s.name, s.password)
			if err != nil {
				return module, err
			}
			action, err := formAction(page)
			if err != nil {
				return module, err
			}
			hub, m2, err := b.submit(ctx, action, form)
			module += m2
			if err != nil {
				return module, err
			}
			return module, checkAtQlik(hub, e, s)
		}}, nil
	}}
}

// challenged opens the hub and follows it to qlikgate's entry, which must
// answer 401 Negotiate.
func challenged(ctx context.Context, b *browser, e entrance) (webtest.Page, time.Duration, error) {
	p, module, err := b.get(ctx, e.start)
	if err != nil {
		return p, module, err
	}
	if p.Status != http.StatusUnauthorized || p.Header.Get("WWW-Authenticate") != "Negotiate" {
		return p, module, fmt.Errorf("opening %s: want 401 Negotiate at qlikgate's entry, got %d at %s%s", e.start, p.Status, p.URL.Host, p.URL.Path)
	}
	return p, module, nil
}

// kerberosConfigTemplate is qlikgate with the ldap provider on the Samba
// DC, Kerberos on, and the Sense target; security defaults.
var kerberosConfigTemplate = template.Must(template.New("kerberos").Parse(`# Written by qlikgate-bench; deleted when it stops. Values are single-quoted YAML.
server:
  listen: '{{.Listen}}'
  public_url: '{{.PublicURL}}'
session:
  secret: '{{.Secret}}'
log:
  level: '{{.LogLevel}}'
  format: text
providers:
  - id: ` + adProviderID + `
    kind: ldap
    label: 'Company account'
    directory: ` + adDirectory + `
    ldap:
      active_directory: true
      urls: ['{{.S.LDAPSURL}}']
      ca_file: '{{.S.CAFile}}'
      bind_dn: '{{.S.BindDN}}'
      bind_password: '{{.S.BindPass}}'
      user_base: 'CN=Users,{{.S.BaseDN}}'
      kerberos:
        keytab_file: '{{.S.Keytab}}'
        service_principal: '{{.S.SPN}}'
targets:
  - id: ` + senseTargetID + `
    kind: sense-ticket
    default: true
    sense:
      proxy_rest_uri: '{{.Site.ProxyRestURI}}'
      client_cert_file: '{{.Site.ClientCert}}'
      client_key_file: '{{.Site.ClientKey}}'
      root_ca_file: '{{.Site.Root}}'
      hub_url: '{{.Site.HubURL}}'
`))

func writeKerberosConfig(dir string, s *ldaptest.Samba, site *senseSite, listen, publicURL, logLevel string) (string, error) {
	path := filepath.Join(dir, "config-kerberos.yaml")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing qlikgate's configuration: %w", err)
	}
	err = kerberosConfigTemplate.Execute(f, map[string]any{
		"Listen": listen, "PublicURL": publicURL, "Secret": rand.Text() + rand.Text(), "LogLevel": logLevel, "S": s,
		"Site": senseSettings{ProxyRestURI: site.proxyRestURI(), HubURL: site.hubURL(),
			ClientCert: site.files.ClientCert, ClientKey: site.files.ClientKey, Root: site.files.Root},
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

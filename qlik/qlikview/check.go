package qlikview

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/check"
)

// probeUser is who `qlikgate check` asks a web ticket for. Asking is the
// only way to learn whether QlikView trusts the module; the ticket is
// never used and expires on its own, and the name says where it came from
// in QlikView's logs.
const probeUser = "qlikgate-check"

// Diagnose checks ca_file, asks GetWebTicket.aspx for a ticket for the
// probe user (which proves the web server trusts this module), and checks
// that Authenticate.aspx answers from here.
func (t *WebTicketTarget) Diagnose(ctx context.Context) []check.Result {
	var out []check.Result
	if t.cfg.CAFile != "" {
		out = append(out, check.CAFile("ca_file", t.cfg.CAFile, time.Now())...)
	}
	return append(out, t.probeWebTicket(ctx), t.probeAuthenticate(ctx))
}

// probeWebTicket calls GetWebTicket and explains a refusal, naming the
// address the web server saw when it did not trust it.
func (t *WebTicketTarget) probeWebTicket(ctx context.Context) check.Result {
	name := "GetWebTicket " + t.cfg.WebTicketURL
	body, err := encodeWebTicketRequest(probeUser, nil, t.cfg.GroupsAreNames)
	if err != nil {
		return check.Fail(name, err.Error(), "")
	}
	var (
		mu    sync.Mutex
		local string
	)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if ip, _, err := net.SplitHostPort(ci.Conn.LocalAddr().String()); err == nil {
			mu.Lock()
			local = ip
			mu.Unlock()
		}
	}})
	_, err = t.client.getTicket(ctx, body)
	mu.Lock()
	defer mu.Unlock()
	if err == nil {
		how := "from " + local
		if t.cfg.NTLM != nil {
			how = "as " + t.cfg.NTLM.account()
		}
		return check.Pass(name, fmt.Sprintf("QlikView trusts this module (%s): it issued a web ticket for the probe user %q, which expires unused", how, probeUser))
	}
	detail := strings.TrimPrefix(err.Error(), "GetWebTicket "+t.cfg.WebTicketURL+": ") // the name holds the URL
	if errors.Is(err, ErrInvalidCall) {
		detail = `answered "Invalid call": QlikView does not trust this caller`
	}
	return check.Fail(name, detail, t.webTicketFix(err, local))
}

// webTicketFix says what to do about a failed GetWebTicket call.
func (t *WebTicketTarget) webTicketFix(err error, local string) string {
	var se *StatusError
	switch {
	case errors.Is(err, ErrInvalidCall) && t.cfg.NTLM != nil:
		return fmt.Sprintf("QlikView does not trust %s: add the account to the local group \"QlikView Administrators\" on the web server, or trust this machine's address with <TrustedIP>", t.cfg.NTLM.account())
	case errors.Is(err, ErrInvalidCall):
		if local == "" {
			local = "this machine's address"
		}
		return fmt.Sprintf("QlikView does not trust this machine: add <TrustedIP>%s</TrustedIP> (the address QlikView sees; behind NAT, the translated one) under <GetWebTicket> in C:\\ProgramData\\QlikTech\\WebServer\\config.xml and restart the QlikView web server, or configure ntlm with a member of \"QlikView Administrators\"", local)
	case errors.As(err, &se) && se.Hint != "":
		return se.Hint
	case errors.As(err, &se):
		return "the web server refused the call: check webticket_url (…/QvAJAXZfc/GetWebTicket.aspx) and the web server's log"
	}
	u, _ := url.Parse(t.cfg.WebTicketURL)
	peer := check.Peer{What: "the QlikView web server", Addr: hostPort(u), CAKey: "ca_file"}
	cause, fix := peer.Explain(err)
	if cause == check.CauseOther {
		return "check webticket_url and that the QlikView web server (QVWS or IIS) runs"
	}
	return fix
}

// probeAuthenticate checks that Authenticate.aspx answers. Only browsers
// call it, possibly by a name this machine cannot resolve, so a failure is
// a warning.
func (t *WebTicketTarget) probeAuthenticate(ctx context.Context) check.Result {
	name := "authenticate_url " + t.authURL
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.authURL, nil)
	if err != nil {
		return check.Fail(name, err.Error(), "check authenticate_url")
	}
	resp, err := t.client.http.Do(req)
	if err != nil {
		return check.Warning(name, "not reachable from this machine: "+err.Error(),
			"browsers are sent here with the ticket: if they reach it by this address, ignore this; otherwise set authenticate_url to the address browsers use")
	}
	resp.Body.Close()
	return check.Pass(name, fmt.Sprintf("answers (HTTP %d); browsers are sent here with the ticket", resp.StatusCode))
}

// hostPort is the URL's host:port, with the scheme's default port.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

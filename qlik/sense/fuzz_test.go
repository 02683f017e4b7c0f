package sense

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// The fuzz targets check properties, not examples: whatever a validator
// accepts must be safe to use. `go test` runs the seeds; CI fuzzes briefly.

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func FuzzCanonicalQPS(f *testing.F) {
	for _, s := range []string{"https://sense:4243/qps/hr/", "https://SENSE/qps", "https://[::1]:4243/qps/x/", "http://x/qps/", "https://a@b/qps/", "https://x/qps/%2e%2e/", "https://x:99999/qps/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		canon, err := canonicalQPS(raw)
		if err != nil {
			return
		}
		again, err := canonicalQPS(canon)
		if err != nil || again != canon {
			t.Fatalf("canonical form %q of %q is not stable: %q, %v", canon, raw, again, err)
		}
		u, _ := url.Parse(canon)
		if u.Scheme != "https" || u.User != nil || u.RawQuery != "" || !strings.HasPrefix(u.Path, "/qps/") {
			t.Fatalf("accepted %q as %q", raw, canon)
		}
	})
}

func FuzzParseEntry(f *testing.F) {
	f.Add("https%3a%2f%2fsense1.corp.local%3a4243%2fqps%2fhr%2f", "8b1d3e3c-9f0e-4a54-a9a2-0b7a3c2d1e5f")
	f.Add("https://sense1.corp.local:4243@evil/qps/hr/", "x")
	f.Add("https://SENSE2.corp.local:4243/qps/hr", "")
	f.Add("//evil/qps/hr/", "8b1d3e3c-9f0e-4a54-a9a2-0b7a3c2d1e5f\n")
	tgt := entryTarget(f)
	f.Fuzz(func(t *testing.T, pru, targetID string) {
		q := url.Values{}
		if pru != "" {
			q.Set("proxyRestUri", pru)
		}
		if targetID != "" {
			q.Set("targetId", targetID)
		}
		e, err := tgt.ParseEntry(q)
		if err != nil {
			if !errors.Is(err, qlik.ErrBadEntry) {
				t.Fatalf("error %v is not ErrBadEntry", err)
			}
			return
		}
		// No proxyRestUri means no node named: the entry says so with "".
		known := pru == "" && e.ProxyRestURI == ""
		for _, base := range tgt.allowed {
			known = known || e.ProxyRestURI == base
		}
		if !known {
			t.Fatalf("proxyRestUri %q accepted as %q, which is not configured", pru, e.ProxyRestURI)
		}
		if e.TargetID != "" && !guidRe.MatchString(e.TargetID) {
			t.Fatalf("targetId %q accepted", e.TargetID)
		}
	})
}

func FuzzCheckRedirect(f *testing.F) {
	for _, s := range []string{"https://sense.corp.local/hr/hub/", "https://sense.corp.local@evil/", "https://lb.corp.local:8443/x", "HTTPS://Sense.Corp.Local:443/", "https://sense.corp.local%2eevil/", "https:\\\\evil"} {
		f.Add(s)
	}
	tgt := entryTarget(f)
	f.Fuzz(func(t *testing.T, raw string) {
		dest, err := tgt.checkRedirect(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(dest)
		if err != nil || u.User != nil || !tgt.redirectHosts[strings.ToLower(u.Scheme)+"://"+urlHostPort(u)] {
			t.Fatalf("accepted TargetUri %q as %q", raw, dest)
		}
	})
}

func FuzzOnHub(f *testing.F) {
	for _, s := range []string{"/hr/hub/", "https://sense.corp.local/x", "//evil/", "/\\evil", "https://sense.corp.local@evil/", "/%2f%2fevil", "https://xn--snse-qoa.corp.local/"} {
		f.Add(s)
	}
	const hub = "https://sense.corp.local/hr/hub/"
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := onHub(hub, raw)
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, "sense.corp.local") || u.User != nil {
			t.Fatalf("returnto %q accepted as %q", raw, got)
		}
	})
}

func FuzzWithTicket(f *testing.F) {
	f.Add("https://sense/hr/hub/?a=1&QLIKTICKET=x#f", "T1")
	f.Add("https://sense/hub/?qlikTicket=a&qlikticket=b", "abc")
	f.Fuzz(func(t *testing.T, dest, ticket string) {
		got, err := withTicket(dest, ticket)
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("result %q does not parse: %v", got, err)
		}
		orig, _ := url.Parse(dest)
		if u.Host != orig.Host || u.Scheme != orig.Scheme {
			t.Fatalf("ticket URL %q moved off %q", got, dest)
		}
		n := 0
		for k, vs := range u.Query() {
			if strings.EqualFold(k, "qlikticket") {
				n += len(vs)
				if k != "qlikTicket" || vs[0] != ticket {
					t.Fatalf("ticket parameter %s=%v in %q", k, vs, got)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d ticket parameters in %q", n, got)
		}
	})
}

// FuzzQPSAnswer feeds arbitrary answers to the QPS client: it must never
// panic, and only a 2xx with the expected JSON counts as success.
func FuzzQPSAnswer(f *testing.F) {
	f.Add(201, `{"Ticket":"abc","TargetUri":"https://sense/hub/"}`)
	f.Add(403, "XSRF prevention check failed. Possible XSRF discovered.")
	f.Add(200, `{"Ticket":`)
	f.Add(500, strings.Repeat("x", 5000))
	f.Add(204, "{}") // found by CI: a 204 carries no body, so the client sees none
	var answer struct {
		status int
		body   string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(answer.status)
		_, _ = w.Write([]byte(answer.body))
	}))
	f.Cleanup(srv.Close)
	c := &qpsClient{http: &http.Client{Timeout: 5 * time.Second}}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 {
			return
		}
		answer.status, answer.body = status, body
		var res ticketResponse
		err := c.do(context.Background(), http.MethodPost, srv.URL+"/qps/", "ticket", map[string]string{}, &res)
		ok2xx := status >= 200 && status < 300
		// net/http sends no body with 204 or 304 whatever the handler
		// writes, so the oracle judges the body the client received.
		received := body
		if status == http.StatusNoContent || status == http.StatusNotModified {
			received = ""
		}
		validJSON := json.Unmarshal([]byte(received), &ticketResponse{}) == nil
		if (err == nil) != (ok2xx && validJSON) {
			t.Fatalf("status %d body %.60q: err %v", status, body, err)
		}
		var se *StatusError
		if errors.As(err, &se) && len(se.Body) > 204 {
			t.Fatalf("error body not truncated: %d bytes", len(se.Body))
		}
	})
}

package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/web"
	"github.com/qlikgate/qlikgate/web/webtest"
)

// rawGet sends a GET with the header lines exactly as given, which Go's
// client would refuse to write (a newline in a value), and reads the answer.
func rawGet(t *testing.T, base, path string, headerLines ...string) (*http.Response, string) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n" + strings.Join(headerLines, "\r\n") + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestRequestIDOnlyFromTrustedProxies: an X-Request-Id is the page's
// reference and the log's request_id only when the TCP peer is a trusted
// proxy and the id is plainly an id; anything else gets a fresh one.
func TestRequestIDOnlyFromTrustedProxies(t *testing.T) {
	fresh := regexp.MustCompile(`^[A-Z2-7]{26}$`) // randomID: rand.Text()
	ids := []struct {
		name, id   string
		wellFormed bool
	}{
		{"plain id", "proxy-7f3a.91_B", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"key=value and spaces", "FORGED1 event=login_succeeded user=admin", false},
		{"equals sign", "FORGED2=x", false},
		{"newline", "FORGED3\nevent=login_succeeded user=admin", false},
		{"carriage return and newline", "FORGED4 x\r\nX-Evil: 1", false},
		{"tab", "FORGED5\tevent=x", false},
		{"65 characters", strings.Repeat("b", 65), false},
		{"1 KB", "FORGED6" + strings.Repeat("c", 1024), false},
		{"quote and angle bracket", `FORGED7"<b>`, false},
		{"non-ASCII", "FORGED8é", false},
	}
	peers := []struct {
		name    string
		trusted []string
		xff     string
		accept  bool
	}{
		{"no trusted proxies", nil, "", false},
		{"peer outside trusted_proxies", []string{"10.0.0.0/8"}, "", false},
		{"X-Forwarded-For from inside trusted_proxies, peer outside", []string{"10.0.0.0/8"}, "10.1.2.3", false},
		{"peer is a trusted proxy", []string{"127.0.0.0/8", "::1"}, "", true},
	}
	for _, peer := range peers {
		t.Run(peer.name, func(t *testing.T) {
			s := newStack(t, withWeb(func(c *web.Config) { c.Server.TrustedProxies = peer.trusted }))
			for _, tt := range ids {
				t.Run(tt.name, func(t *testing.T) {
					lines := []string{"X-Request-Id: " + tt.id}
					if peer.xff != "" {
						lines = append(lines, "X-Forwarded-For: "+peer.xff)
					}
					resp, body := rawGet(t, s.srv.URL, "/t/unknown/", lines...)
					if resp.StatusCode == http.StatusBadRequest && resp.Header.Get("X-Request-Id") == "" {
						// Go's server refused the header line itself, before
						// qlikgate: nothing of it may show anywhere.
						if marker := tt.id[:7]; strings.Contains(body, marker) || strings.Contains(s.logs.String(), marker) {
							t.Errorf("the refused id shows up: %q\n%s", body, s.logs.String())
						}
						return
					}
					got := resp.Header.Get("X-Request-Id")
					want := peer.accept && tt.wellFormed
					if want && got != tt.id {
						t.Fatalf("a trusted proxy's id %q was replaced by %q", tt.id, got)
					}
					if !want && !fresh.MatchString(got) {
						t.Fatalf("X-Request-Id = %q, want a fresh id instead of the client's %q", got, tt.id)
					}
					if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `<code id="reference">`+got+`</code>`) {
						t.Fatalf("%d: the page does not show the reference %q:\n%s", resp.StatusCode, got, body)
					}
					logs := s.logs.String()
					if !regexp.MustCompile(`request_id=` + regexp.QuoteMeta(got) + `\b`).MatchString(logs) {
						t.Errorf("no log line with request_id=%s", got)
					}
					if marker := tt.id[:min(7, len(tt.id))]; !want && strings.HasPrefix(marker, "FORGED") && strings.Contains(logs, marker) {
						t.Errorf("the client's id reached the log:\n%s", logs)
					}
				})
			}
		})
	}
}

// TestLogLineBoundsClientChosenValues: the path and method of a request
// are the client's choice; a log line keeps only their beginning.
func TestLogLineBoundsClientChosenValues(t *testing.T) {
	s := newStack(t)
	long := "/" + strings.Repeat("p", 5000)
	req, _ := http.NewRequest(strings.Repeat("M", 300), s.srv.URL+long, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := url.Values{"proxyRestUri": {"https://" + strings.Repeat("q", 5000) + "/qps/hr/"}, "targetId": {"8b1d3e3c-9f0e-4a54-a9a2-0b7a3c2d1e5f"}}
	if p := webtest.NewBrowser().MustGet(t, s.srv.URL+"/?"+q.Encode()); p.Status != http.StatusBadRequest {
		t.Fatalf("a foreign proxyRestUri: %d", p.Status)
	}
	logs := s.logs.String()
	if lineWith(logs, "event=bad_entry") == "" {
		t.Fatalf("no bad_entry line:\n%s", logs)
	}
	if !strings.Contains(logs, "event=http_request") {
		t.Fatalf("no request line:\n%s", logs)
	}
	for line := range strings.Lines(logs) {
		if (strings.Contains(line, "ppp") || strings.Contains(line, "qqq")) && len(line) > 1000 {
			t.Errorf("a %d-byte log line for a long path or parameter: %.200s…", len(line), line)
		}
		if strings.Contains(line, strings.Repeat("M", 17)) {
			t.Errorf("the whole method is logged: %.200s…", line)
		}
	}
}

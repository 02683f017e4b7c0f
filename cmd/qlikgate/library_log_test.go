package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLibraryLinesAreStructured: what zitadel's OpenID provider logs (it
// writes to slog's default, whatever option it is given) comes out as
// qlikgate's own lines do, with the request id, not as a bare line of Go's
// default logger. Not parallel: slog's default is the process's, and the
// parallel demo tests each set it to their own output.
func TestLibraryLinesAreStructured(t *testing.T) {
	r, idx := startDemo(t)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"not-a-code"}, "redirect_uri": {"https://example.invalid/"}}
	req, _ := http.NewRequest(http.MethodPost, idx.module+"t/cloud/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("nobody", "wrong")
	resp, err := newDemoBrowser().Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("a token request with an unknown client: %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	var line string
	for deadline := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(r.stderr.String(), "\n") {
			if strings.Contains(l, `msg="request error"`) {
				line = l
			}
		}
	}
	if line == "" {
		t.Fatalf("zitadel's request error is not among qlikgate's lines:\n%s", r.stderr.String())
	}
	if !strings.HasPrefix(line, "time=") || !strings.Contains(line, "level=") || !strings.Contains(line, "request_id="+id) {
		t.Errorf("zitadel's line is not structured like qlikgate's, with request_id=%s: %s", id, line)
	}
	if strings.Contains(line, "wrong") {
		t.Errorf("the line carries the client secret: %s", line)
	}
}

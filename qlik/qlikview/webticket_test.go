package qlikview

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestEncodeWebTicketRequest(t *testing.T) {
	tests := []struct {
		name           string
		user           string
		groups         []string
		groupsAreNames bool
		want, err      string
	}{
		{name: "user and groups", user: `CORP\jdoe`, groups: []string{"Sales", "EU"}, groupsAreNames: true,
			want: `<Global method="GetWebTicket"><UserId>CORP\jdoe</UserId><GroupList><string>Sales</string><string>EU</string></GroupList><GroupsIsNames>true</GroupsIsNames></Global>`},
		{name: "SIDs", user: "jdoe", groups: []string{"S-1-5-32-544"},
			want: `<Global method="GetWebTicket"><UserId>jdoe</UserId><GroupList><string>S-1-5-32-544</string></GroupList><GroupsIsNames>false</GroupsIsNames></Global>`},
		{name: "no groups: the server looks them up", user: "jdoe", groupsAreNames: true,
			want: `<Global method="GetWebTicket"><UserId>jdoe</UserId></Global>`},
		{name: "markup in names is escaped", user: `a<b>&"c'`, groups: []string{"</string><string>Admins"}, groupsAreNames: true,
			want: `<Global method="GetWebTicket"><UserId>a&lt;b&gt;&amp;&#34;c&#39;</UserId><GroupList><string>&lt;/string&gt;&lt;string&gt;Admins</string></GroupList><GroupsIsNames>true</GroupsIsNames></Global>`},
		{name: "control character in a group", user: "jdoe", groups: []string{"a\x00b"}, err: "XML cannot carry"},
		{name: "invalid UTF-8 in the user", user: "j\xffdoe", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeWebTicketRequest(tt.user, tt.groups, tt.groupsAreNames)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %s, %v; want error %q", got, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got\n%s, %v\nwant\n%s", got, err, tt.want)
			}
		})
	}
}

const secretTicket = "0123456789ABCDEF0123456789ABCDEF01234567"

// TestGetTicketAnswers runs the client against canned answers: every
// failure must be an error that names the cause and never the ticket.
func TestGetTicketAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string // ticket, or error substring prefixed with "!"
	}{
		{name: "ticket", status: 200, body: "<Global><_retval_>" + secretTicket + "</_retval_></Global>", want: secretTicket},
		{name: "ticket with declaration and padding", status: 200,
			body: "<?xml version=\"1.0\"?>\n<Global>\n <_retval_> " + secretTicket + " </_retval_>\n</Global>", want: secretTicket},
		{name: "Invalid call inside _retval_", status: 200, body: "<Global><_retval_>Invalid call</_retval_></Global>", want: "!TrustedIP"},
		{name: "Invalid call as plain text", status: 200, body: "Invalid call", want: "!Invalid call"},
		{name: "Invalid call with an error status", status: 500, body: "Invalid call", want: "!HTTP 500: Invalid call"},
		{name: "empty _retval_", status: 200, body: "<Global><_retval_></_retval_></Global>", want: "!empty"},
		{name: "no _retval_", status: 200, body: "<Global><_error_>x</_error_></Global>", want: "!no <_retval_>"},
		{name: "HTML login page", status: 200, body: "<html><body>Login</body></html>", want: "!not <Global>"},
		{name: "empty body", status: 200, body: "", want: "!not <Global>"},
		{name: "ticket with spaces", status: 200, body: "<Global><_retval_>a b</_retval_></Global>", want: "!spaces"},
		{name: "401 without ntlm", status: 401, header: map[string]string{"WWW-Authenticate": "NTLM"}, want: "!configure ntlm"},
		{name: "redirect to a login page", status: 302, header: map[string]string{"Location": "/login.htm"},
			want: "!redirected to /login.htm"},
		{name: "server error", status: 503, body: "Service\nUnavailable", want: "!HTTP 503: Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := DefaultConfig()
			c.WebTicketURL = srv.URL + "/QvAJAXZfc/GetWebTicket.aspx"
			client, err := newWebTicketClient(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := client.getTicket(context.Background(), []byte("<Global/>"))
			if want, isErr := strings.CutPrefix(tt.want, "!"); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, want)
				}
				if strings.Contains(err.Error(), secretTicket) {
					t.Fatalf("error %q quotes the ticket", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestGetTicketInvalidCallIsErrInvalidCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<Global><_retval_>Invalid call</_retval_></Global>")
	}))
	defer srv.Close()
	c := DefaultConfig()
	c.WebTicketURL = srv.URL + "/QvAJAXZfc/GetWebTicket.aspx"
	client, _ := newWebTicketClient(c)
	if _, err := client.getTicket(context.Background(), nil); !errors.Is(err, ErrInvalidCall) {
		t.Fatalf("got %v, want ErrInvalidCall", err)
	}
}

// TestGetTicketTimeout: a web server that stops answering must not hold a
// login longer than timeout, and a cancelled request gives up at once.
func TestGetTicketTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := DefaultConfig()
	c.WebTicketURL = srv.URL + "/QvAJAXZfc/GetWebTicket.aspx"
	c.Timeout = 200 * time.Millisecond

	for _, withNTLM := range []bool{false, true} {
		if withNTLM {
			c.NTLM = &NTLMConfig{Username: "svc", Password: "pw"}
		}
		client, err := newWebTicketClient(c)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = client.getTicket(context.Background(), []byte("<Global/>"))
		if err == nil || time.Since(start) > 2*time.Second {
			t.Fatalf("ntlm=%v: got %v after %v, want a timeout after about 200ms", withNTLM, err, time.Since(start))
		}

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := client.getTicket(ctx, []byte("<Global/>")); !errors.Is(err, context.Canceled) {
			t.Fatalf("ntlm=%v: cancelled request: got %v", withNTLM, err)
		}
	}
}

func TestGetTicketUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	c := DefaultConfig()
	c.WebTicketURL = addr + "/QvAJAXZfc/GetWebTicket.aspx"
	client, _ := newWebTicketClient(c)
	_, err := client.getTicket(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "GetWebTicket "+c.WebTicketURL+": ") {
		t.Fatalf("got %v", err)
	}
}

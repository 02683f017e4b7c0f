package qlikview

import (
	"context"
	"log/slog"
	"net/url"
	"path"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// Kind registers the web ticket flow under `kind: qlikview`.
var Kind = qlik.NewKind("qlikview", "qlikview", DefaultConfig, Open)

// WebTicketTarget logs users in to QlikView with a web ticket: POST
// GetWebTicket.aspx, then redirect the browser to Authenticate.aspx.
type WebTicketTarget struct {
	id      string
	cfg     Config
	authURL string          // Authenticate.aspx as browsers reach it
	back    string          // back parameter; "" leaves it out
	qvHost  string          // host of authURL, lower case
	allowed map[string]bool // allowed_return_hosts, lower case
	client  *webTicketClient
	log     *slog.Logger
}

// Open checks the configuration, reads ca_file and builds the HTTP
// client, without calling QlikView.
func Open(_ context.Context, c qlik.Common, cfg *Config, env qlik.Env) (*WebTicketTarget, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := newWebTicketClient(cfg)
	if err != nil {
		return nil, err
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &WebTicketTarget{
		id:      c.ID,
		cfg:     *cfg,
		authURL: cfg.AuthenticateURL,
		back:    cfg.BackURL,
		allowed: map[string]bool{},
		client:  client,
		log:     log,
	}
	if t.authURL == "" {
		u, _ := url.Parse(cfg.WebTicketURL) // checked by Validate
		u.Path = path.Join(path.Dir(u.Path), "Authenticate.aspx")
		u.RawPath = ""
		t.authURL = u.String()
	}
	au, _ := url.Parse(t.authURL)
	t.qvHost = strings.ToLower(au.Host)
	for _, h := range cfg.AllowedReturnHosts {
		t.allowed[strings.ToLower(h)] = true
	}
	if t.back == "" && env.PublicURL != "" {
		t.back = strings.TrimSuffix(env.PublicURL, "/") + "/t/" + url.PathEscape(c.ID) + "/"
	}
	return t, nil
}

// ID is the target's configured id.
func (t *WebTicketTarget) ID() string { return t.id }

// AuthenticateURL is the Authenticate.aspx address browsers are sent to
// (configured or derived from webticket_url), for `qlikgate check`.
func (t *WebTicketTarget) AuthenticateURL() string { return t.authURL }

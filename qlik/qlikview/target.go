package qlikview

import (
	"context"
	"fmt"
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
	authURL string // Authenticate.aspx as browsers reach it
	back    string // back parameter; "" leaves it out
	client  *webTicketClient
	log     *slog.Logger

	// ret is what try/returnto may be: a path on the QlikView server, or
	// a URL on authURL's origin or an allowed_return_hosts origin.
	ret qlik.ReturnRule
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
		client:  client,
		log:     log,
	}
	if t.authURL == "" {
		u, _ := url.Parse(cfg.WebTicketURL) // checked by Validate
		u.Path = path.Join(path.Dir(u.Path), "Authenticate.aspx")
		u.RawPath = ""
		t.authURL = u.String()
	}
	if t.ret, err = returnRule(t.authURL, cfg.AllowedReturnHosts); err != nil {
		return nil, err
	}
	if t.back == "" && env.PublicURL != "" {
		t.back = strings.TrimSuffix(env.PublicURL, "/") + "/t/" + url.PathEscape(c.ID) + "/"
	}
	return t, nil
}

// returnRule builds the check for try/returnto. A bare allowed_return_hosts
// entry takes the scheme of Authenticate.aspx, as browsers reach QlikView.
func returnRule(authURL string, hosts []string) (qlik.ReturnRule, error) {
	r := qlik.ReturnRule{Origins: qlik.Origins{}, Relative: qlik.RootedRelative, MaxLen: maxReturnLen}
	if err := r.Origins.AddURL(authURL); err != nil {
		return qlik.ReturnRule{}, fmt.Errorf("authenticate_url: %w", err)
	}
	au, _ := url.Parse(authURL) // parsed by AddURL
	scheme := au.Scheme
	for i, h := range hosts {
		origin, err := qlik.ParseOrigin(h, scheme)
		if err != nil {
			return qlik.ReturnRule{}, fmt.Errorf("allowed_return_hosts[%d]: %w", i, err)
		}
		r.Origins[origin] = true
	}
	return r, nil
}

// ID is the target's configured id.
func (t *WebTicketTarget) ID() string { return t.id }

// AuthenticateURL is the Authenticate.aspx address browsers are sent to
// (configured or derived from webticket_url), for `qlikgate check`.
func (t *WebTicketTarget) AuthenticateURL() string { return t.authURL }

package sense

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// TicketKind registers the ticket flow under `kind: sense-ticket`.
var TicketKind = qlik.NewKind("sense-ticket", "sense", DefaultConfig, OpenTicket)

// TicketTarget logs users in with a QPS ticket: POST {proxyRestUri}ticket,
// then redirect the browser to the TargetUri with qlikTicket.
type TicketTarget struct {
	*site
}

// OpenTicket loads the certificates and builds the QPS client.
func OpenTicket(_ context.Context, c qlik.Common, cfg *Config, env qlik.Env) (*TicketTarget, error) {
	s, err := openSite(c, cfg, env.Log)
	if err != nil {
		return nil, err
	}
	return &TicketTarget{site: s}, nil
}

// Login requests a ticket and redirects to the TargetUri (or the hub).
func (t *TicketTarget) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	if err := checkUser(u); err != nil {
		return qlik.Handoff{}, err
	}
	req := ticketRequest{
		UserDirectory: u.Directory,
		UserId:        u.UserID,
		Attributes:    attributes(u, t.cfg.GroupAttribute),
		TargetId:      e.TargetID,
	}
	var res ticketResponse
	var err error
	if n := t.named(e); n != nil {
		// The browser comes back through the node that sent it here, and a
		// ticket is redeemed only on the node that issued it.
		res, err = t.ticket(ctx, n, &req)
	} else {
		err = t.failover(ctx, func(n *node) (err error) {
			res, err = t.ticket(ctx, n, &req)
			return err
		})
	}
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: %w", t.id, err)
	}
	if res.Ticket == "" {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: the QPS answered without a ticket", t.id)
	}
	dest := t.cfg.HubURL
	if req.TargetId != "" && res.TargetUri != "" {
		checked, err := t.checkRedirect(res.TargetUri)
		if err != nil {
			return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: %w", t.id, err)
		}
		dest = checked
	}
	redirect, err := withTicket(dest, res.Ticket)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("sense-ticket %s: %w", t.id, err)
	}
	return qlik.Handoff{Redirect: redirect}, nil
}

// ticket asks node n for a ticket. A stale targetId is refused by the QPS;
// the user still gets in, at the hub instead of the page first asked for,
// so req.TargetId is dropped and the call made again.
func (t *TicketTarget) ticket(ctx context.Context, n *node, req *ticketRequest) (ticketResponse, error) {
	var res ticketResponse
	err := t.call(ctx, n, http.MethodPost, "ticket", req, &res)
	if err != nil && req.TargetId != "" && isStatus(err, http.StatusBadRequest) {
		t.log.WarnContext(ctx, "QPS refused the targetId; sending the user to the hub", "node", n.base, "cause", err.Error())
		req.TargetId = ""
		res = ticketResponse{}
		err = t.call(ctx, n, http.MethodPost, "ticket", req, &res)
	}
	if err != nil {
		return ticketResponse{}, fmt.Errorf("node %s: %w", n.base, err)
	}
	return res, nil
}

// Logout ends every proxy session of the user on this virtual proxy.
func (t *TicketTarget) Logout(ctx context.Context, u qlik.User) (qlik.Handoff, error) {
	return qlik.Handoff{}, t.endUserSessions(ctx, u)
}

// withTicket adds qlikTicket to dest with net/url, keeping its query and
// fragment and dropping any ticket parameter already there.
func withTicket(dest, ticket string) (string, error) {
	u, err := url.Parse(dest)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", errors.New("the QPS returned a TargetUri that is not an absolute http(s) URL")
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "qlikticket") {
			q.Del(k)
		}
	}
	q.Set("qlikTicket", ticket)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

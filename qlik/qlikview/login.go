package qlikview

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
)

// Login requests a web ticket for the user and redirects the browser to
// Authenticate.aspx with it. Errors are for the log: they name the cause
// and never the ticket.
func (t *WebTicketTarget) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	userID, err := t.qlikUserID(u)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("qlikview %s: %w", t.id, err)
	}
	groups, err := t.groups(u)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("qlikview %s: %w", t.id, err)
	}
	body, err := encodeWebTicketRequest(userID, groups, t.cfg.GroupsAreNames)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("qlikview %s: %w", t.id, err)
	}
	ticket, err := t.client.getTicket(ctx, body)
	if err != nil {
		return qlik.Handoff{}, fmt.Errorf("qlikview %s: ticket for %q: %w", t.id, userID, err)
	}
	return qlik.Handoff{Redirect: t.authenticateRedirect(ctx, ticket, e)}, nil
}

// qlikUserID is the UserId QlikView gets: DOMAIN\user by default, where
// DOMAIN is `domain` or else the provider's directory.
func (t *WebTicketTarget) qlikUserID(u qlik.User) (string, error) {
	id := strings.TrimSpace(u.UserID)
	if id == "" || strings.Contains(id, `\`) {
		return "", fmt.Errorf("user id %q is blank or contains a backslash", u.UserID)
	}
	if !t.cfg.SendDomain {
		return id, nil
	}
	dom := t.cfg.Domain
	if dom == "" {
		dom = strings.TrimSpace(u.Directory)
		if dom == "" {
			return "", errors.New("the user has no directory to send as DOMAIN\\: set the provider's directory, qlikview.domain, or send_domain: false")
		}
		if err := checkDomain(dom); err != nil {
			return "", fmt.Errorf("the user's directory cannot be sent as DOMAIN\\: %w", err)
		}
	}
	return dom + `\` + id, nil
}

// sidPattern is a Windows security identifier, the form QlikView expects
// when groups are not names (GroupsIsNames false, NTFS authorization).
var sidPattern = regexp.MustCompile(`^S-1-[0-9]+(-[0-9]+)+$`)

// groups returns the user's groups to send, blank ones dropped. With
// groups_are_names off each must be a SID: sending names there would
// silently deny access instead of failing.
func (t *WebTicketTarget) groups(u qlik.User) ([]string, error) {
	out := make([]string, 0, len(u.Groups))
	for _, g := range u.Groups {
		if strings.TrimSpace(g) == "" {
			continue
		}
		if !t.cfg.GroupsAreNames && !sidPattern.MatchString(g) {
			return nil, fmt.Errorf("group %q is not a Windows SID, but groups_are_names is false", g)
		}
		out = append(out, g)
	}
	return out, nil
}

// authenticateRedirect builds Authenticate.aspx?type=html&webticket=…&try=…&back=…
// with net/url. An entry's page is checked again, as the configuration may
// have changed since it was stored in the session.
func (t *WebTicketTarget) authenticateRedirect(ctx context.Context, ticket string, e qlik.Entry) string {
	try := t.cfg.TryURL
	if e.ReturnTo != "" {
		if dest, err := t.checkReturn(e.ReturnTo); err != nil {
			t.log.WarnContext(ctx, "dropping the stored return page; using try_url", "cause", err.Error())
		} else {
			try = dest
		}
	}
	u, _ := url.Parse(t.authURL) // checked by Validate
	q := url.Values{}
	q.Set("type", "html")
	q.Set("webticket", ticket)
	q.Set("try", try)
	if t.back != "" {
		q.Set("back", t.back)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

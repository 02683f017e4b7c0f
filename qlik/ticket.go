package qlik

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ticket is a one-time Qlik ticket for a signed-in user, handed to a
// portal or mashup page that opens Qlik with it (?qlikTicket=). It is a
// credential: it is never logged.
type Ticket struct {
	Value string
	// ExpiresIn is how long Qlik accepts the ticket (one minute on Qlik
	// Sense, not configurable there).
	ExpiresIn time.Duration
}

// TicketIssuer is implemented by targets that can give a signed-in user a
// ticket outside a hand-off, for mashups (POST /t/{id}/ticket).
type TicketIssuer interface {
	IssueTicket(ctx context.Context, u User) (Ticket, error)
}

// checkOrigin refuses anything but scheme://host[:port]: a browser's
// Origin header has no path, so an entry with one could never match and
// is a mistake the operator should hear of at start-up.
func checkOrigin(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Opaque != "" || u.User != nil:
		return errors.New("is not an origin: write scheme://host[:port]")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must start with https:// or http://")
	case u.Hostname() == "":
		return errors.New("has no host: write scheme://host[:port]")
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("has a path, query or fragment: an origin is scheme://host[:port] only (no trailing slash)")
	case strings.ContainsAny(raw, "*"):
		return errors.New("has a wildcard: list each origin")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("has an invalid port")
		}
	}
	return nil
}

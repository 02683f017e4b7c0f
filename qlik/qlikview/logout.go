package qlikview

import (
	"context"

	"github.com/qlikgate/qlikgate/qlik"
)

// Logout sends the browser to logout_url. A QlikView session lives in a
// cookie that only the browser holds, for the QlikView server's origin:
// the module cannot end it server to server, and a redirect cannot make
// the browser POST the AccessPoint logout. So logout_url names a small
// page on the QlikView server that posts it from there (see README).
// Without logout_url the QlikView session stays until the browser closes
// or QlikView times it out; qlikgate's own session still ends.
func (t *WebTicketTarget) Logout(ctx context.Context, _ qlik.User) (qlik.Handoff, error) {
	if t.cfg.LogoutURL == "" {
		t.log.DebugContext(ctx, "no logout_url: the QlikView session is left to expire")
		return qlik.Handoff{}, nil
	}
	return qlik.Handoff{Redirect: t.cfg.LogoutURL}, nil
}

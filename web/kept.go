package web

import (
	"context"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// endKept ends, in Qlik, what targets created for a browser whose sign-in
// just expired (qlik.KeptEnder). A failure is logged: the user is signed
// out of qlikgate either way, and Qlik's own inactivity timeout ends the
// rest.
func (s *Server) endKept(ctx context.Context, id providers.Identity, kept map[string]string) {
	u := qlikUser(id)
	for tid, v := range kept {
		t, ok := s.targets[tid].(qlik.KeptEnder)
		if !ok {
			continue
		}
		if err := t.EndKept(ctx, u, v); err != nil {
			s.log.WarnContext(ctx, "could not end the Qlik session of an expired sign-in", audit.Key, audit.LogoutFailed, "target", tid, "user", u.UserID, "cause", err.Error())
		}
	}
}

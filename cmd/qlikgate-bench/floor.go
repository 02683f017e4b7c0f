package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/web"
)

// floorCookie is the plain cookie that tells the floor server who the user
// is: DIRECTORY/userid, neither signed nor encrypted.
const floorCookie = "qlikgate_floor"

// newFloorCookie is the cookie the tool presents in floor mode instead of
// qlikgate's session cookie.
func newFloorCookie(s signIn, path string) *http.Cookie {
	return &http.Cookie{Name: floorCookie, Value: s.directory + "/" + s.name, Path: path}
}

// floorServer is the least any server must do for an SSO hand-off: learn
// the user, validate Qlik's entry, get a ticket and redirect. It stands in
// for qlikgate's web layer in the SSO iteration only, so that the
// comparison shows the ceiling of this flow shape on the machine and how
// much of it qlikgate reaches. There is deliberately no session, no
// routing framework, no middleware and no logging: whatever it leaves out
// is what qlikgate's web layer costs.
type floorServer struct {
	next   http.Handler // qlikgate's web layer, for the first logins
	target qlik.Target  // the same pooled target qlikgate's web layer uses
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The in-process module lives at the root, which is the default
	// target's entry URL.
	c, err := r.Cookie(floorCookie)
	if err != nil || r.Method != http.MethodGet || r.URL.Path != "/" {
		f.next.ServeHTTP(w, r)
		return
	}
	dir, id, ok := strings.Cut(c.Value, "/")
	if !ok || dir == "" || id == "" {
		http.Error(w, "floor: the cookie is not DIRECTORY/user", http.StatusBadRequest)
		return
	}
	e, err := f.target.ParseEntry(r.URL.Query())
	if err != nil {
		http.Error(w, "floor: "+err.Error(), http.StatusBadRequest)
		return
	}
	h, err := f.target.Login(r.Context(), qlik.User{Directory: dir, UserID: id}, e)
	if err != nil {
		http.Error(w, "floor: "+err.Error(), http.StatusBadGateway)
		return
	}
	// A bare 302, as qlikgate's hand-off answers (no body), and never
	// cached: the Location carries a one-time ticket.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", h.Redirect)
	w.WriteHeader(http.StatusFound)
}

// serveFloor serves the floor in front of srv as srv.Run would serve srv
// itself: the same background work, the same net/http server settings,
// and plain HTTP as newWebServer configures it.
func serveFloor(ctx context.Context, ln net.Listener, srv *web.Server, target qlik.Target, log *slog.Logger) error {
	defer srv.StartBackground(ctx)()
	return web.Serve(ctx, ln, &floorServer{next: srv.Handler(), target: target}, web.TLSConfig{}, log)
}

package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

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
//
// It asks Qlik for the very ticket qlikgate's web layer asked for when the
// user first signed in (handed): the same name, groups and attributes, so
// that the QPS and the hub do the same work for both, and only the web
// layer differs.
//
// With wire set (the wire variant), it also answers with the headers
// qlikgate's own single sign-on hand-off answered with (the security
// headers, the request id, the redirect-loop counter's Set-Cookie),
// recorded from one such hand-off, to a browser that also sends
// qlikgate's session cookie: what is left between it and the floor is
// what those bytes cost the machine, and no web layer that sends them can
// do better.
type floorServer struct {
	next   http.Handler // qlikgate's web layer, for the first logins
	target qlik.Target  // the same pooled target qlikgate's web layer uses
	handed *handedUsers // the users the web layer handed to Qlik
	wire   bool
	answer atomic.Pointer[http.Header] // wire: qlikgate's recorded hand-off headers
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The in-process module lives at the root, which is the default
	// target's entry URL.
	c, err := r.Cookie(floorCookie)
	if err != nil || r.Method != http.MethodGet || r.URL.Path != "/" {
		if f.wire && r.Method == http.MethodGet && r.URL.Path == "/" && f.answer.Load() == nil {
			w = &handoffRecorder{ResponseWriter: w, f: f}
		}
		f.next.ServeHTTP(w, r)
		return
	}
	u, ok := f.handed.user(c.Value)
	if !ok {
		http.Error(w, "floor: qlikgate's web layer has not handed this user to Qlik yet: the cookie is not DIRECTORY/user of a signed-in user", http.StatusBadRequest)
		return
	}
	answer := f.answer.Load()
	if f.wire && answer == nil {
		http.Error(w, "floor: no single sign-on hand-off of qlikgate's recorded yet", http.StatusInternalServerError)
		return
	}
	e, err := f.target.ParseEntry(r.URL.Query())
	if err != nil {
		http.Error(w, "floor: "+err.Error(), http.StatusBadRequest)
		return
	}
	h, err := f.target.Login(r.Context(), u, e)
	if err != nil {
		http.Error(w, "floor: "+err.Error(), http.StatusBadGateway)
		return
	}
	hdr := w.Header()
	if f.wire {
		for k, v := range *answer {
			hdr[k] = v // read-only: the server copies values out, never into them
		}
	} else {
		// A bare 302, as qlikgate's hand-off answers (no body), and
		// never cached: the Location carries a one-time ticket.
		hdr.Set("Cache-Control", "no-store")
	}
	hdr.Set("Location", h.Redirect)
	w.WriteHeader(http.StatusFound)
}

// handoffRecorder records the headers of qlikgate's answer to an entry
// request when it is a single sign-on hand-off: a 302 whose only cookie is
// the redirect-loop counter (a sign-in would set the session cookie too).
type handoffRecorder struct {
	http.ResponseWriter
	f *floorServer
}

func (h *handoffRecorder) WriteHeader(code int) {
	if hdr := h.Header(); code == http.StatusFound && isHandoffAnswer(hdr) {
		answer := hdr.Clone()
		for _, k := range []string{"Location", "Date", "Content-Length"} {
			delete(answer, k)
		}
		h.f.answer.CompareAndSwap(nil, &answer)
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *handoffRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func isHandoffAnswer(hdr http.Header) bool {
	sc := hdr.Values("Set-Cookie")
	return len(sc) == 1 && strings.HasPrefix(sc[0], loopCookie+"=") && hdr.Get("Location") != ""
}

// handedUsers is the target qlikgate's web layer uses in the floor
// variants: it remembers, by DIRECTORY/userid (the floor cookie's value),
// the user each hand-off gave Qlik.
type handedUsers struct {
	qlik.Target
	users sync.Map // DIRECTORY/userid → qlik.User
}

func (h *handedUsers) Login(ctx context.Context, u qlik.User, e qlik.Entry) (qlik.Handoff, error) {
	h.users.Store(u.Directory+"/"+u.UserID, u)
	return h.Target.Login(ctx, u, e)
}

func (h *handedUsers) user(key string) (qlik.User, bool) {
	v, ok := h.users.Load(key)
	if !ok {
		return qlik.User{}, false
	}
	return v.(qlik.User), true
}

// serveFloor serves the floor in front of srv as srv.Run would serve srv
// itself: the same background work, the same net/http server settings,
// and plain HTTP as newWebServer configures it.
func serveFloor(ctx context.Context, ln net.Listener, srv *web.Server, f *floorServer, log *slog.Logger) error {
	defer srv.StartBackground(ctx)()
	f.next = srv.Handler()
	return web.Serve(ctx, ln, f, web.TLSConfig{}, log)
}

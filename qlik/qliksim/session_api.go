package qliksim

import (
	"errors"
	"fmt"
	"html"
	"net/http"
)

// sessionRequest is the body of POST session (contract §1.5).
type sessionRequest struct {
	userFields
	SessionId *string
}

// addedSession is the QPS's AddedSession: the session plus whether the
// user is new to the site.
type addedSession struct {
	SessionData
	NewUser bool
}

// handleSessions is POST session (create a session with the caller's id)
// and GET session (list the virtual proxy's sessions).
func (s *Sense) handleSessions(w http.ResponseWriter, r *http.Request, _ []string) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		out := make([]SessionData, 0, len(s.st.sessions))
		for _, sd := range s.st.sessions {
			out = append(out, copySession(sd))
		}
		s.mu.Unlock()
		sortByID(out)
		writeJSON(w, http.StatusOK, out)
		return
	}

	var req sessionRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	sd, err := req.validate()
	if err != nil {
		s.badRequest(w, r, err.Error())
		return
	}
	if sd.SessionId, err = checkSessionID(req.SessionId); err != nil {
		s.badRequest(w, r, err.Error())
		return
	}
	s.mu.Lock()
	admitted := s.st.admit(sd, true)
	var newUser, ok bool
	if admitted {
		newUser, ok = s.st.addSession(sd)
	}
	s.mu.Unlock()
	if !admitted {
		s.logf("QPS: POST session: 403: %s\\%s is at the site's session limit", sd.UserDirectory, sd.UserId)
		plainError(w, http.StatusForbidden, SessionLimitMessage)
		return
	}
	if !ok {
		s.logf("QPS: POST session: 405: session %s already exists", redact(sd.SessionId))
		// The real QPS HTML-escapes the quotes (contract §1.5).
		plainError(w, http.StatusMethodNotAllowed, "SessionId "+html.EscapeString("'"+sd.SessionId+"'")+" already exists!")
		return
	}
	s.stats.sessionsCreated.Add(1)
	s.logf("QPS: session %s created for %s\\%s", redact(sd.SessionId), sd.UserDirectory, sd.UserId)
	writeJSON(w, http.StatusCreated, addedSession{SessionData: copySession(sd), NewUser: newUser})
}

// checkSessionID requires a SessionId the browser can carry as a cookie
// value (RFC 6265 cookie-octets): the module sets it as the proxy's session
// cookie, so anything else could never work.
func checkSessionID(v *string) (string, error) {
	if v == nil || *v == "" {
		return "", &fieldError{"SessionId", errors.New("required")}
	}
	for i := 0; i < len(*v); i++ {
		c := (*v)[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return "", &fieldError{"SessionId", fmt.Errorf("must not contain %q (it becomes a cookie value)", c)}
		}
	}
	return *v, nil
}

// handleSession is GET and DELETE session/{id}.
func (s *Sense) handleSession(w http.ResponseWriter, r *http.Request, segs []string) {
	id := segs[1]
	s.mu.Lock()
	sd, ok := s.st.sessions[id]
	if ok && r.Method == http.MethodDelete {
		s.st.drop(id)
	}
	s.mu.Unlock()
	if !ok {
		s.logf("QPS: %s session/%s: 404: no such session", r.Method, redact(id))
		plainError(w, http.StatusNotFound, "Session not found")
		return
	}
	if r.Method == http.MethodDelete {
		s.logf("QPS: session %s of %s\\%s deleted", redact(id), sd.UserDirectory, sd.UserId)
	}
	writeJSON(w, http.StatusOK, copySession(sd))
}

// handleUser is GET and DELETE user/{directory}/{id}: the user's sessions,
// and "log out everywhere".
func (s *Sense) handleUser(w http.ResponseWriter, r *http.Request, segs []string) {
	dir, id := segs[1], segs[2]
	s.mu.Lock()
	out := s.st.userSessions(dir, id, r.Method == http.MethodDelete)
	s.mu.Unlock()
	for i := range out {
		out[i] = copySession(out[i])
	}
	if r.Method == http.MethodDelete {
		s.logf("QPS: %d sessions of %s\\%s deleted", len(out), dir, id)
	}
	writeJSON(w, http.StatusOK, out)
}

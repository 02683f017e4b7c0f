package qliksim

import (
	"net/http"
)

// ticketRequest is the body of POST ticket (contract §1.3).
type ticketRequest struct {
	userFields
	TargetId *string
}

// ticketResponse is the 201 body, in the QPS's PascalCase.
type ticketResponse struct {
	UserDirectory string
	UserId        string
	Attributes    []map[string]string
	Ticket        string
	TargetUri     string `json:",omitempty"`
}

// handleTicket is POST ticket: it validates the user, resolves the optional
// TargetId and issues a single-use ticket valid for TicketTTL.
func (s *Sense) handleTicket(w http.ResponseWriter, r *http.Request, _ []string) {
	var req ticketRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	user, err := req.validate()
	if err != nil {
		s.badRequest(w, r, err.Error())
		return
	}
	tk, err := newTicket()
	if err != nil {
		s.logf("QPS: %v", err)
		plainError(w, http.StatusInternalServerError, "internal error")
		return
	}

	s.mu.Lock()
	now := s.opts.Now()
	s.st.prune(now)
	var targetURI string
	if req.TargetId != nil {
		t, ok := s.st.targets[*req.TargetId]
		if !ok {
			s.mu.Unlock()
			s.badRequest(w, r, "Unknown TargetId")
			return
		}
		targetURI = t.uri
	}
	if _, dup := s.st.tickets[tk]; dup {
		s.mu.Unlock()
		s.logf("QPS: generated ticket already in use")
		plainError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.st.addTicket(tk, &ticket{user: user, expires: now.Add(s.opts.TicketTTL)})
	s.mu.Unlock()

	s.stats.ticketsIssued.Add(1)
	s.logf("QPS: ticket %s issued for %s\\%s (%d attributes, target %q)", redact(tk), user.UserDirectory, user.UserId, len(user.Attributes), targetURI)
	writeJSON(w, http.StatusCreated, ticketResponse{
		UserDirectory: user.UserDirectory,
		UserId:        user.UserId,
		Attributes:    user.Attributes,
		Ticket:        tk,
		TargetUri:     targetURI,
	})
}

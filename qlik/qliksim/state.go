package qliksim

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// targetIDTTL is how long the proxy remembers a targetId. The real lifetime
// is undocumented (contract §1.2); ten minutes covers any interactive login
// while still letting a test prove that a stale targetId is refused.
const targetIDTTL = 10 * time.Minute

// SessionData is a proxy session as the QPS session API describes it
// (OpenAPI SessionData). Field names keep the QPS spelling (UserId, not
// UserID) so that the JSON matches the wire. Attributes are single-key
// objects in order.
type SessionData struct {
	UserDirectory string
	UserId        string
	Attributes    []map[string]string
	SessionId     string
}

// ticket is an issued, not yet expired ticket. Used tickets are kept until
// they expire so that a replay can be logged as such.
type ticket struct {
	user    SessionData // SessionId empty
	expires time.Time
	used    bool
}

type target struct {
	uri     string
	expires time.Time
}

// state is the simulator's mutable data; every method expects s.mu held.
type state struct {
	tickets  map[string]*ticket
	targets  map[string]target
	sessions map[string]SessionData
	users    map[string]bool // userKey of every user that ever had a session
	// limit is the site's per-user session counter when the node belongs
	// to a Site, nil for a lone node (which enforces no limit).
	limit *sessionCounter

	// Tickets and targetIds live for a fixed time and the clock only moves
	// forward, so the order they were added in is the order they expire in:
	// prune only looks at the front, however many are live (a load test
	// keeps tens of thousands).
	ticketOrder, targetOrder []expiring
}

type expiring struct {
	key     string
	expires time.Time
}

// addTicket remembers an issued ticket.
func (st *state) addTicket(key string, t *ticket) {
	st.tickets[key] = t
	st.ticketOrder = append(st.ticketOrder, expiring{key, t.expires})
}

// addTarget remembers a targetId.
func (st *state) addTarget(key string, t target) {
	st.targets[key] = t
	st.targetOrder = append(st.targetOrder, expiring{key, t.expires})
}

func newState() state {
	return state{
		tickets:  map[string]*ticket{},
		targets:  map[string]target{},
		sessions: map[string]SessionData{},
		users:    map[string]bool{},
	}
}

// prune drops expired tickets and targetIds. It runs on every state change
// and needs no background goroutine.
func (st *state) prune(now time.Time) {
	st.ticketOrder = popExpired(st.ticketOrder, now, func(k string) { delete(st.tickets, k) })
	st.targetOrder = popExpired(st.targetOrder, now, func(k string) { delete(st.targets, k) })
}

func popExpired(q []expiring, now time.Time, drop func(string)) []expiring {
	i := 0
	for i < len(q) && !now.Before(q[i].expires) {
		drop(q[i].key)
		i++
	}
	// Reslicing is O(1); append reallocates without the dropped prefix
	// once the capacity runs out, so memory stays bounded.
	return q[i:]
}

// userKey identifies a user. Qlik compares user directories and ids without
// regard to case, so the session API's user calls do too.
func userKey(dir, id string) string {
	return strings.ToLower(dir) + "\\" + strings.ToLower(id)
}

// admit reports whether the site's session limit lets sd be added.
func (st *state) admit(sd SessionData, api bool) bool {
	if _, dup := st.sessions[sd.SessionId]; dup || st.limit == nil {
		return true // a duplicate is refused by addSession
	}
	return st.limit.admit(userKey(sd.UserDirectory, sd.UserId), sd.SessionId, api)
}

// drop deletes a session and tells the site's counter.
func (st *state) drop(sid string) {
	sd, ok := st.sessions[sid]
	if !ok {
		return
	}
	delete(st.sessions, sid)
	if st.limit != nil {
		st.limit.end(userKey(sd.UserDirectory, sd.UserId), sid)
	}
}

// addSession stores sd unless its id is taken; newUser reports whether the
// user had no session before (the QPS's AddedSession.NewUser). Call admit
// first.
func (st *state) addSession(sd SessionData) (newUser, ok bool) {
	if _, dup := st.sessions[sd.SessionId]; dup {
		return false, false
	}
	k := userKey(sd.UserDirectory, sd.UserId)
	newUser = !st.users[k]
	st.users[k] = true
	st.sessions[sd.SessionId] = sd
	return newUser, true
}

// userSessions returns the user's sessions, ordered by id for stable
// output, and removes them when remove is set.
func (st *state) userSessions(dir, id string, remove bool) []SessionData {
	k := userKey(dir, id)
	out := []SessionData{}
	for sid, sd := range st.sessions {
		if userKey(sd.UserDirectory, sd.UserId) == k {
			out = append(out, sd)
			if remove {
				st.drop(sid)
			}
		}
	}
	sortByID(out)
	return out
}

// sortByID orders sessions by id, so that list answers are stable.
func sortByID(s []SessionData) {
	slices.SortFunc(s, func(a, b SessionData) int { return strings.Compare(a.SessionId, b.SessionId) })
}

// copySession returns sd with its own attribute slice, so callers outside
// the lock cannot alias stored data.
func copySession(sd SessionData) SessionData {
	attrs := make([]map[string]string, 0, len(sd.Attributes))
	for _, a := range sd.Attributes {
		attrs = append(attrs, maps.Clone(a))
	}
	sd.Attributes = attrs
	return sd
}

package web

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/gorilla/sessions"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

const (
	sessionName = "qlikgate"
	stateKey    = "s"
	// maxFlows bounds the pending Qlik entries kept per browser (one per
	// open tab that Qlik sent here), so the cookie stays small.
	maxFlows = 5
	// flowTTL is how long a pending entry waits for the user to sign in.
	flowTTL = 30 * time.Minute
)

// state is everything qlikgate remembers about a browser. It travels in
// the sealed session cookie (cookiestore.go), or in Redis, in the binary
// encoding of sessioncodec.go; the JSON names are those of the encoding
// save wrote before it, which decodeState still reads.
type state struct {
	// SID identifies this sign-in; it is replaced at every login so a
	// session planted before login is worthless after it.
	SID string `json:"sid"`
	// CSRF is the token every form must post back.
	CSRF string `json:"csrf"`
	// User is the signed-in identity, nil before login.
	User *providers.Identity `json:"user,omitempty"`
	// AuthAt is when the user signed in (Unix seconds).
	AuthAt int64 `json:"at,omitempty"`
	// SeenAt is when the sign-in was last used (Unix seconds).
	SeenAt int64 `json:"seen,omitempty"`
	// Targets are the Qlik targets the user was handed to, for logout.
	Targets []string `json:"tg,omitempty"`
	// Flows are entries from Qlik waiting for the user to sign in.
	Flows []flow `json:"f,omitempty"`
	// PasswordLogin is how User signed in with a password, for the
	// self-service password change; nil after a redirect login.
	PasswordLogin *passwordLogin `json:"pl,omitempty"`
	// Kept is what each target asked to be given back at the browser's
	// next hand-off (qlik.Handoff.Keep): the sense-session flow's proxy
	// SessionId, so the browser keeps one proxy session per target. It
	// outlives an expired sign-in, so the next sign-in reuses the session
	// or, for another user, has it deleted; logout clears it.
	Kept map[string]string `json:"k,omitempty"`
	// Owes is the second factor the sign-in still owes (mfa.go): while it
	// is set, no hand-off route accepts the session.
	Owes string `json:"owe,omitempty"`
	// Factors are the second factors passed in this sign-in.
	Factors []string `json:"af,omitempty"`
	// NoNegotiate is set once this browser's Kerberos token was refused:
	// the entry shows it the form instead of challenging again (negotiate.go).
	NoNegotiate bool `json:"nn,omitempty"`
	// Challenged is set while the entry's 401 Negotiate waits for the
	// browser's answer.
	Challenged bool `json:"ch,omitempty"`
	// Passkey is the passkey ceremony begun and not yet answered
	// (webauthn.go).
	Passkey *passkeyCeremony `json:"pk,omitempty"`

	// touched says that load changed the state (a new SID, a sign-out, a
	// later SeenAt): it must be saved even where nothing else changes it.
	touched bool
}

// flow is one entry from Qlik, kept per browser tab so two tabs that Qlik
// sent here with different targets do not overwrite each other.
type flow struct {
	ID      string     `json:"id"`
	Target  string     `json:"t"`
	Entry   qlik.Entry `json:"e"`
	Created int64      `json:"c"`
	// Redirect is set while the browser is at an identity provider.
	Redirect *redirectFlow `json:"r,omitempty"`
	// Change is set once a login of this flow was refused because the
	// password has expired or must be changed: only then does the change
	// page accept a change, for that user of that provider.
	Change *pendingChange `json:"pc,omitempty"`
	// Window is set for a sign-in that the access-token window started
	// (accesstokenwindow.go): the portal origin it was opened for. Such a
	// flow ends back at that window, never at Qlik, and the window's URL
	// is built from Target and Window here, so a flow can return to
	// nothing else.
	Window string `json:"w,omitempty"`
}

// redirectFlow is what a redirect (OIDC) login must find again when the
// browser comes back: which provider, and the values that bind the answer
// to this browser and this attempt.
type redirectFlow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Started  int64  `json:"t"`
}

func randomID() string { return rand.Text() }

// sessionStore wraps the gorilla store and the (de)serialisation of state.
type sessionStore struct {
	store    sessions.Store
	lifetime time.Duration
	idle     time.Duration
	now      func() time.Time
	// signing are the HKDF signing keys, the current secret's first, and
	// options the cookie's: what a server-side store is built from.
	signing [][]byte
	options sessions.Options
	// loopKey signs the redirect-loop counter cookie (loop.go), with
	// HMACs kept in loopMACs; loopAttrs are its Set-Cookie attributes.
	loopKey   []byte
	loopMACs  sync.Pool
	loopAttrs string
	// server is store when sessions live on the server (Redis), nil for
	// the cookie store; log reports its failures.
	server serverSideStore
	log    *slog.Logger

	// ended, when set, is told about a sign-in that expired or was signed
	// out elsewhere while targets kept something for it (Kept), so they
	// can end what they created for it in Qlik.
	ended func(ctx context.Context, user providers.Identity, kept map[string]string)

	// revoked are the sessions signed out, until they would have expired
	// anyway: the cookie is stateless, so a copy of it must be refused
	// after logout. It outlives the Server (State), so a reload or a
	// restart does not accept the copy again.
	revoked revocationStore
}

// newSessionStore derives separate signing and encryption keys from the
// configured secret with HKDF, so one secret never serves two purposes.
// Sessions made with previous secrets are still read; new ones use the
// current secret.
func newSessionStore(cfg SessionConfig, path string, secure bool, sameSite http.SameSite, now func() time.Time) (*sessionStore, error) {
	var keyPairs, signing [][]byte
	loopKey, err := hkdf.Key(sha256.New, []byte(cfg.Secret), nil, "qlikgate loop counter v1", 32)
	if err != nil {
		return nil, fmt.Errorf("session: derive loop counter key: %w", err)
	}
	for _, secret := range append([]string{cfg.Secret}, cfg.PreviousSecrets...) {
		hashKey, err := hkdf.Key(sha256.New, []byte(secret), nil, "qlikgate session signing v1", 64)
		if err != nil {
			return nil, fmt.Errorf("session: derive signing key: %w", err)
		}
		blockKey, err := hkdf.Key(sha256.New, []byte(secret), nil, "qlikgate session encryption v1", 32)
		if err != nil {
			return nil, fmt.Errorf("session: derive encryption key: %w", err)
		}
		keyPairs = append(keyPairs, hashKey, blockKey)
		signing = append(signing, hashKey)
	}
	options := sessions.Options{
		Path:     path,
		MaxAge:   int(cfg.Lifetime / time.Second),
		Secure:   secure,
		HttpOnly: true,
		SameSite: sameSite,
	}
	secrets := append([]string{cfg.Secret}, cfg.PreviousSecrets...)
	store, err := newSealedCookies(secrets, keyPairs, options)
	if err != nil {
		return nil, err
	}
	s := &sessionStore{store: store, lifetime: cfg.Lifetime, idle: cfg.IdleTimeout, now: now, revoked: newRevocationList(false),
		signing: signing, options: options, loopKey: loopKey}
	s.loopAttrs = s.loopCookieAttrs()
	return s, nil
}

// serverSideStore keeps sessions on the server under an id in the cookie.
type serverSideStore interface {
	sessions.Store
	// renew makes the next save use a new id and delete the current one.
	renew(sess *sessions.Session)
}

// storedSID marks, in a session's Values, the SID of the state the
// server-side store holds under the session's id ("" for none).
type storedSID struct{}

// keepRevocationsIn makes s keep sign-outs in state (nil: in a list of its
// own, in memory), configured by cfg: the file of the cookie store is
// read, and written, now.
func (s *sessionStore) keepRevocationsIn(state *State, cfg SessionConfig, log *slog.Logger) error {
	if err := state.revocations.use(cfg, log, s.now()); err != nil {
		return err
	}
	s.revoked = state.revocations
	return nil
}

// revoke refuses the state's session id from now on. A server-side store
// needs none of this: clear deletes the session there. An error means the
// sign-out is kept in memory but could not be persisted.
func (s *sessionStore) revoke(ctx context.Context, st *state) error {
	if st.User == nil || s.server != nil {
		return nil
	}
	return s.revoked.revoke(ctx, st.SID, time.Unix(st.AuthAt, 0), s.now())
}

func (s *sessionStore) isRevoked(sid string) bool { return s.revoked.revoked(sid) }

// load returns the browser's state, or a fresh one when there is none or it
// cannot be read (tampered, expired, old key).
func (s *sessionStore) load(r *http.Request) (*sessions.Session, *state) {
	// New (not Get) decodes the cookie without gorilla's per-request
	// registry; on a decode error it still returns a fresh session.
	sess, err := s.store.New(r, sessionName)
	st := &state{}
	if err == nil {
		if raw, ok := sess.Values[stateKey].([]byte); ok {
			if decodeState(raw, st) != nil {
				st = &state{}
			}
		}
	} else {
		if s.server != nil {
			s.log.ErrorContext(r.Context(), "the session store failed: treating the browser as not signed in", audit.Key, audit.SessionStoreFailed, "cause", err.Error())
		}
		sess.Values = map[any]any{}
	}
	stored := st.SID
	if st.SID == "" {
		st.SID, st.CSRF = randomID(), randomID()
		st.touched = true
	}
	now := s.now()
	if n := len(st.Flows); n > 0 {
		if st.pruneFlows(now); len(st.Flows) != n {
			st.touched = true
		}
	}
	if st.User != nil {
		seen := now.Sub(time.Unix(st.SeenAt, 0))
		expired := now.Sub(time.Unix(st.AuthAt, 0)) > s.lifetime
		idle := s.idle > 0 && seen > s.idle
		switch {
		case expired || idle || s.isRevoked(st.SID):
			// Signed out, but keep the browser's pending flows.
			if len(st.Kept) > 0 && s.ended != nil {
				s.ended(r.Context(), *st.User, st.Kept)
			}
			st.Kept = nil
			st.SID, st.CSRF = randomID(), randomID()
			st.User, st.AuthAt, st.SeenAt, st.Targets = nil, 0, 0, nil
			st.Owes, st.Factors = "", nil
			st.touched = true
		case seen >= s.seenEvery():
			st.SeenAt = now.Unix()
			st.touched = true
		}
	}
	if s.server != nil {
		sess.Values[storedSID{}] = stored
	}
	return sess, st
}

// decodeState reads the state that save wrote: the binary encoding
// (sessioncodec.go), or JSON, which save wrote before it and which may
// still be in a browser's cookie or in Redis.
//
// JSON is decoded with go-json-experiment/json (what encoding/json/v2 grew
// from), which takes a fraction of encoding/json's time and allocations.
// It reads what encoding/json writes: the same field names, "-" and
// omitempty. Where it is stricter (invalid UTF-8, a duplicate name, a name
// differing in case only: nothing encoding/json writes) encoding/json gets
// the last word, so no cookie that opened before is refused now.
// TestDecodeStateAgreesWithEncodingJSON compares the two on every field of
// state.
func decodeState(raw []byte, st *state) error {
	if len(raw) > 0 && raw[0] == stateBinaryV1 {
		return decodeStateBinary(raw, st)
	}
	if jsonv2.Unmarshal(raw, st) == nil {
		return nil
	}
	*st = state{}
	return json.Unmarshal(raw, st)
}

// seenEvery is how stale SeenAt may get before a request refreshes it: a
// fresh SeenAt on every request would mean writing the session on every
// request. The idle timeout is enforced to within this.
func (s *sessionStore) seenEvery() time.Duration {
	if s.idle > 0 {
		return min(time.Minute, s.idle/10)
	}
	return time.Minute
}

// save writes state into the response's Set-Cookie.
func (s *sessionStore) save(w http.ResponseWriter, r *http.Request, sess *sessions.Session, st *state) error {
	st.pruneFlows(s.now())
	b := encodeState(make([]byte, 0, 512), st)
	sess.Values[stateKey] = b
	if s.server != nil {
		// A new sign-in (or the end of one) gets a new id, so an id known
		// before it is worthless after it.
		if stored, _ := sess.Values[storedSID{}].(string); sess.ID != "" && stored != st.SID {
			s.server.renew(sess)
		}
		sess.Options.MaxAge = int((s.keepFor(st) + time.Second - 1) / time.Second)
	}
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	if s.server != nil {
		sess.Values[storedSID{}] = st.SID
	}
	return nil
}

// clear deletes the cookie.
func (s *sessionStore) clear(w http.ResponseWriter, r *http.Request, sess *sessions.Session) error {
	sess.Values = map[any]any{}
	sess.Options.MaxAge = -1
	return sess.Save(r, w)
}

// login rotates the session identifiers and records the user.
func (st *state) login(id providers.Identity, now time.Time) {
	// The same user signing in again over a live sign-in (an entry that
	// asked for a newer one) keeps the targets logout must end.
	if st.User == nil || st.User.Directory != id.Directory || st.User.UserID != id.UserID {
		st.Targets = nil
	}
	st.SID, st.CSRF = randomID(), randomID()
	st.User, st.AuthAt, st.SeenAt = &id, now.Unix(), now.Unix()
	st.Owes, st.Factors = "", nil
	st.PasswordLogin = nil
	st.touched = true
}

// addFlow remembers an entry and returns the new flow. The pointer is
// valid until the next change to st.Flows.
func (st *state) addFlow(target string, e qlik.Entry, now time.Time) *flow {
	st.Flows = append(st.Flows, flow{ID: randomID(), Target: target, Entry: e, Created: now.Unix()})
	if len(st.Flows) > maxFlows {
		st.Flows = st.Flows[len(st.Flows)-maxFlows:]
	}
	return &st.Flows[len(st.Flows)-1]
}

// takeFlow removes and returns the flow with the given id.
func (st *state) takeFlow(id string) (flow, bool) {
	for i, f := range st.Flows {
		if f.ID == id && id != "" {
			st.Flows = slices.Delete(st.Flows, i, i+1)
			return f, true
		}
	}
	return flow{}, false
}

// flowByState finds the flow waiting for an identity provider's answer
// with this state, comparing in constant time.
func (st *state) flowByState(provider, stateParam string) (*flow, bool) {
	for i := range st.Flows {
		r := st.Flows[i].Redirect
		if r != nil && r.Provider == provider && validToken(r.State, stateParam) {
			return &st.Flows[i], true
		}
	}
	return nil, false
}

func (st *state) pruneFlows(now time.Time) {
	st.Flows = slices.DeleteFunc(st.Flows, func(f flow) bool {
		return now.Sub(time.Unix(f.Created, 0)) > flowTTL
	})
}

// keep records what target id asked to keep, and says whether that
// changed the state.
func (st *state) keep(id, v string) bool {
	if v == "" || st.Kept[id] == v {
		return false
	}
	if st.Kept == nil {
		st.Kept = map[string]string{}
	}
	st.Kept[id] = v
	return true
}

// addTarget records a target the user was handed to and reports whether
// it is a new one.
func (st *state) addTarget(id string) bool {
	if slices.Contains(st.Targets, id) {
		return false
	}
	st.Targets = append(st.Targets, id)
	return true
}

// stateSerializer carries the session's one value, the state JSON, through
// securecookie as it is, for the cookies gorilla sealed before
// sealedCookies (and for reading them still). Gorilla's default gob serializer would describe
// the map's types in every cookie and compile that description on every
// request; signing and encryption stay securecookie's.
type stateSerializer struct{}

func (stateSerializer) Serialize(src any) ([]byte, error) {
	m, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("session: cannot serialize %T", src)
	}
	raw, _ := m[stateKey].([]byte)
	return raw, nil
}

func (stateSerializer) Deserialize(src []byte, dst any) error {
	m, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("session: cannot deserialize into %T", dst)
	}
	if *m == nil {
		*m = map[any]any{}
	}
	(*m)[stateKey] = src // securecookie allocated it for this decode
	return nil
}

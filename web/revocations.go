package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// revocationStore remembers sessions that were signed out, so that a copy
// of a stateless cookie taken before the sign-out is refused after it. An
// entry is needed only until the session would have ended anyway.
//
// session.store: redis needs none of it: logout deletes the session from
// Redis, and a cookie naming a deleted session opens nothing.
type revocationStore interface {
	// revoke refuses sid from now on; auth is when its user signed in.
	// The store remembers it even when the error (persisting failed) is
	// not nil.
	revoke(ctx context.Context, sid string, auth, now time.Time) error
	// revoked reports whether sid was signed out.
	revoked(sid string) bool
}

// maxRevocations bounds the list (and its file): far more sign-outs than
// an instance sees in a session lifetime. Past it, the entries that end
// soonest make room, so an authenticated user signing in and out in a
// loop cannot make every sign-out rewrite an ever larger file.
const maxRevocations = 100_000

// revocationFileVersion is the version of the file's format.
const revocationFileVersion = 1

// revocationList is the embedded revocation store: a map in memory,
// persisted (when it has a path) to session.revocation_file, rewritten
// atomically at every sign-out, so that a restart keeps it.
type revocationList struct {
	// writing is held while a snapshot is taken and written, so that files
	// are written in the order of their snapshots and the last one written
	// holds every entry; sign-outs that arrive during a write share the next.
	writing sync.Mutex

	mu       sync.Mutex
	entries  map[string]revocation // by revocationKey(sid)
	lifetime time.Duration         // session.lifetime, for pruning
	persist  bool                  // false: memory only (tests, embedders)
	path     string                // the file in use; "" before the first use
	changes  uint64                // entries added so far
	written  uint64                // changes in the last file written
	log      *slog.Logger
}

// revocation is one signed-out session, as kept in the file.
type revocation struct {
	// Auth is when the session's user signed in (Unix seconds).
	Auth int64 `json:"auth"`
	// Until is when the session ends (Unix seconds): Auth plus the
	// lifetime configured at sign-out.
	Until int64 `json:"until"`
}

// revocationFile is the file's content.
type revocationFile struct {
	Version int `json:"version"`
	// Revoked are the entries by the hash of the session id: the file
	// never holds an id a cookie carries.
	Revoked map[string]revocation `json:"revoked"`
}

func newRevocationList(persist bool) *revocationList {
	return &revocationList{entries: map[string]revocation{}, persist: persist, log: slog.New(slog.DiscardHandler)}
}

// revocationKey is what the list keys a session id by.
func revocationKey(sid string) string {
	return string(appendRevocationKey(nil, sid))
}

// appendRevocationKey appends sid's revocationKey to dst. revoked, which
// every request with a session calls, keeps it on its stack.
func appendRevocationKey(dst []byte, sid string) []byte {
	var in [96]byte
	h := sha256.Sum256(append(append(in[:0], "qlikgate revoked session\x00"...), sid...))
	return base64.RawURLEncoding.AppendEncode(dst, h[:])
}

// use applies a (new) session configuration. With the cookie store and
// a file path other than the one in use, it reads that file, adds its
// entries to those in memory (a reload keeps what it knew), and writes the
// result there, which proves at start-up and reload, not at the first
// sign-out, that the file can be written. On an error the path in use
// stays.
func (l *revocationList) use(cfg SessionConfig, log *slog.Logger, now time.Time) error {
	l.writing.Lock()
	defer l.writing.Unlock()
	l.mu.Lock()
	l.lifetime = cfg.Lifetime
	if log != nil {
		l.log = log
	}
	path, current := cfg.RevocationFile, l.path
	l.mu.Unlock()
	switch {
	case !l.persist || cfg.Store != "cookie":
		return nil
	case path == "":
		return errors.New("session.revocation_file: required with store: cookie: the file that keeps sign-outs across restarts, like /var/lib/qlikgate/revoked.json")
	case path == current:
		return nil
	}
	loaded, err := readRevocations(path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	for k, e := range loaded {
		if old, ok := l.entries[k]; !ok || e.Until > old.Until {
			l.entries[k] = e
		}
	}
	l.prune(now)
	data, err := l.marshal()
	changes := l.changes
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("session.revocation_file: %w: qlikgate must be able to write it (and create files in its directory) to keep sign-outs across restarts", err)
	}
	l.mu.Lock()
	l.path, l.written = path, changes
	l.mu.Unlock()
	return nil
}

func (l *revocationList) revoke(_ context.Context, sid string, auth, now time.Time) error {
	// The file is local: its writes cannot be cancelled, and a sign-out
	// whose browser went away must still be kept.
	l.mu.Lock()
	l.prune(now)
	if len(l.entries) >= maxRevocations {
		l.evictSoonest()
	}
	l.entries[revocationKey(sid)] = revocation{Auth: auth.Unix(), Until: auth.Add(l.lifetime).Unix()}
	l.changes++
	mine := l.changes
	l.mu.Unlock()
	return l.flush(mine)
}

// flush writes the list unless a write that began after change mine
// already holds it.
func (l *revocationList) flush(mine uint64) error {
	l.writing.Lock()
	defer l.writing.Unlock()
	l.mu.Lock()
	if l.written >= mine || l.path == "" {
		l.mu.Unlock()
		return nil
	}
	data, err := l.marshal()
	path, changes := l.path, l.changes
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("session.revocation_file: %w", err)
	}
	l.mu.Lock()
	l.written = changes
	l.mu.Unlock()
	return nil
}

func (l *revocationList) revoked(sid string) bool {
	var kb [64]byte
	k := appendRevocationKey(kb[:0], sid) // hashed before the lock, not under it
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.entries[string(k)]
	return ok
}

// prune drops the entries of sessions that have ended. A session ends at
// the later of its end at sign-out and its end under the lifetime now
// configured: a reload that lengthens the lifetime lengthens sessions
// signed in before it, so their revocations must last as long. Call with
// mu held.
func (l *revocationList) prune(now time.Time) {
	for k, e := range l.entries {
		if now.Unix() > max(e.Until, time.Unix(e.Auth, 0).Add(l.lifetime).Unix()) {
			delete(l.entries, k)
		}
	}
}

// evictSoonest makes room for one entry by dropping the one that ends
// first. Call with mu held.
func (l *revocationList) evictSoonest() {
	var victim string
	var until int64
	for k, e := range l.entries {
		if victim == "" || e.Until < until {
			victim, until = k, e.Until
		}
	}
	delete(l.entries, victim)
	l.log.Warn("too many signed-out sessions to remember: the one ending soonest is forgotten, and a copy of its cookie works again until it ends",
		"event", "revocations_full", "limit", maxRevocations)
}

// marshal encodes the list for the file. Call with mu held.
func (l *revocationList) marshal() ([]byte, error) {
	data, err := json.Marshal(revocationFile{Version: revocationFileVersion, Revoked: l.entries})
	if err != nil {
		return nil, fmt.Errorf("session.revocation_file: encode: %w", err)
	}
	return data, nil
}

// readRevocations reads a revocation file. A missing file is an empty
// list (the first start); anything it cannot read or understand is an
// error, not an empty list, because that would quietly accept every
// signed-out cookie again.
func readRevocations(path string) (map[string]revocation, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session.revocation_file: %w", err)
	}
	var f revocationFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != revocationFileVersion {
		why := fmt.Sprintf("version %d, want %d", f.Version, revocationFileVersion)
		if err != nil {
			why = err.Error()
		}
		return nil, fmt.Errorf("session.revocation_file: %s is not a qlikgate revocation list (%s): restore it, or delete it to start with an empty list (cookies signed out before then are accepted again until they expire)", path, why)
	}
	return f.Revoked, nil
}

// writeFileAtomic replaces path with data so that a reader (or a restart
// after a crash) finds the old content or the new, never a part: a
// temporary file in the same directory, synced, then renamed over it.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod says so for any umask.
	if err = tmp.Chmod(0o600); err == nil {
		if _, err = tmp.Write(data); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

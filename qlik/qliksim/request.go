package qliksim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBody caps request bodies; the real proxy's http.sys limits attribute
// volume far below this (contract §1.5).
const maxBody = 1 << 20

// decodeJSON reads a JSON object body into v. It writes the error response
// itself and reports whether the handler may go on. encoding/json matches
// property names case-insensitively and ignores unknown ones, which is what
// the real QPS appears to do (contract §0, §1.3).
func (s *Sense) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		s.logf("QPS: %s %s: 415: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
		plainError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.logf("QPS: %s %s: 400: read body: %v", r.Method, r.URL.Path, err)
		plainError(w, http.StatusBadRequest, "cannot read request body")
		return false
	}
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		s.logf("QPS: %s %s: 400: body is not a JSON object", r.Method, r.URL.Path)
		plainError(w, http.StatusBadRequest, "request body must be a JSON object")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.logf("QPS: %s %s: 400: malformed JSON: %v", r.Method, r.URL.Path, err)
		plainError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// badRequest logs and answers a validation failure.
func (s *Sense) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	s.logf("QPS: %s %s: 400: %s", r.Method, r.URL.Path, msg)
	plainError(w, http.StatusBadRequest, msg)
}

// fieldError is a validation failure of one request property; its text
// starts with the property's wire name so the client sees what to fix.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// userFields are the identity properties shared by ticket and session
// requests. Pointers tell a missing property from an empty one.
type userFields struct {
	UserDirectory *string
	UserId        *string
	Attributes    json.RawMessage
}

// validate applies the documented rules (contract §1.3) and returns the
// trimmed directory and id, as the real QPS stores them trimmed.
func (u userFields) validate() (SessionData, error) {
	dir, err := cleanID("UserDirectory", u.UserDirectory)
	if err != nil {
		return SessionData{}, err
	}
	id, err := cleanID("UserId", u.UserId)
	if err != nil {
		return SessionData{}, err
	}
	attrs, err := parseAttributes(u.Attributes)
	if err != nil {
		return SessionData{}, &fieldError{"Attributes", err}
	}
	return SessionData{UserDirectory: dir, UserId: id, Attributes: attrs}, nil
}

// cleanID trims a user directory or id and refuses a missing, blank or
// backslash-holding value: Qlik writes users as DIRECTORY\id, so a
// backslash would make the identity ambiguous.
func cleanID(field string, v *string) (string, error) {
	if v == nil {
		return "", &fieldError{field, errors.New("required")}
	}
	t := strings.TrimSpace(*v)
	if t == "" {
		return "", &fieldError{field, errors.New("must not be empty or whitespace")}
	}
	if strings.Contains(t, `\`) {
		return "", &fieldError{field, errors.New("must not contain a backslash")}
	}
	return t, nil
}

// parseAttributes accepts a missing or null value, or an array of objects
// that each hold exactly one property with a string value (keys may repeat
// across objects, values may be ""). A token walk is used instead of
// unmarshalling into maps because maps would hide a duplicate key inside one
// object.
func parseAttributes(raw json.RawMessage) ([]map[string]string, error) {
	out := []map[string]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := expectDelim(dec, '['); err != nil {
		return nil, errors.New("must be a list of single-key objects")
	}
	for i := 0; dec.More(); i++ {
		if err := expectDelim(dec, '{'); err != nil {
			return nil, fmt.Errorf("item %d must be an object with one property", i)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("item %d must be an object with one property, not an empty one", i)
		}
		if name == "" {
			return nil, fmt.Errorf("item %d: attribute name must not be empty", i)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		value, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("item %d: value of %q must be a string", i, name)
		}
		if err := expectDelim(dec, '}'); err != nil {
			return nil, fmt.Errorf("item %d must hold exactly one property", i)
		}
		out = append(out, map[string]string{name: value})
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, errors.New("must be a list of single-key objects")
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %v, got %v", want, tok)
	}
	return nil
}

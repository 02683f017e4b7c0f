package qliksim

import (
	"encoding/json"
	"errors"
	"net/http"
)

// errUUIDCollision would mean crypto/rand repeated itself; it is reported
// rather than overwriting a live session.
var errUUIDCollision = errors.New("generated session id already in use")

// plainError writes msg as the whole text/plain body. Unlike http.Error it
// adds no newline: clients may compare Qlik's messages exactly.
func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		plainError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

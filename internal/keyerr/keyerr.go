// Package keyerr puts configuration key paths in front of errors. Every
// Validate in qlikgate returns its problems joined (errors.Join), each
// starting with its key relative to the block; whoever composes blocks
// prefixes the block's path, so an operator reads
// "targets[0].sense.client_cert_file: …" and knows where to look.
package keyerr

import (
	"errors"
	"fmt"
)

// Prefix puts prefix before each of the (possibly nested) joined errors in
// err and joins them again; nil stays nil. Each part still matches what it
// wrapped with errors.Is and errors.As.
func Prefix(prefix string, err error) error {
	parts := List(err)
	if len(parts) == 0 {
		return nil
	}
	out := make([]error, len(parts))
	for i, e := range parts {
		out[i] = fmt.Errorf("%s%w", prefix, e)
	}
	return errors.Join(out...)
}

// List returns the errors inside (nested) errors.Join results, one per
// problem, for printing one a line; nil gives none.
func List(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, List(e)...)
	}
	return out
}

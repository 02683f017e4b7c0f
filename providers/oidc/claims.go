package oidc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// claims is a decoded JSON object of claims. Numbers stay json.Number so
// that a numeric id is not turned into 1.2345e+06.
type claims map[string]any

func decodeClaims(raw []byte) (claims, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var c claims
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decoding claims: %w", err)
	}
	return c, nil
}

// lookup finds a claim by name or by dotted path (realm_access.roles,
// resource_access.qlik.roles). A top-level claim whose name contains dots
// wins over a path, so namespaced claims ("https://example.com/roles") work
// without escaping.
func (c claims) lookup(path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if v, ok := c[path]; ok {
		return v, v != nil
	}
	var cur any = map[string]any(c)
	for seg := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// has reports whether the claim is present and not null.
func (c claims) has(path string) bool {
	_, ok := c.lookup(path)
	return ok
}

// str returns a single-valued claim as a string; numbers are accepted
// because some providers issue numeric user ids.
func (c claims) str(path string) (string, bool) {
	v, ok := c.lookup(path)
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// boolean reads a boolean claim, accepting "true"/"false" strings, which
// AWS Cognito sends for email_verified.
func (c claims) boolean(path string) (value, present bool) {
	v, ok := c.lookup(path)
	if !ok {
		return false, false
	}
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, true // present but not a boolean: treated as not verified
}

// strs returns a multi-valued claim: an array of strings (or numbers), or a
// single string, which some providers send when there is only one group.
// Blank and non-scalar entries are dropped, duplicates removed, order kept.
func (c claims) strs(path string) []string {
	v, ok := c.lookup(path)
	if !ok {
		return nil
	}
	items, isArray := v.([]any)
	if !isArray {
		items = []any{v}
	}
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		var s string
		switch it := it.(type) {
		case string:
			s = strings.TrimSpace(it)
		case json.Number:
			s = it.String()
		case bool:
			s = fmt.Sprint(it)
		}
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// merge adds the claims of extra that c lacks. The ID token's own claims
// win: it is signed, the userinfo answer only authenticated by TLS.
func (c claims) merge(extra claims) {
	for k, v := range extra {
		if _, ok := c[k]; !ok {
			c[k] = v
		}
	}
}

// Package locales holds the message catalogs of qlikgate's pages, one YAML
// file per language (en.yaml, de.yaml…), embedded in the binary.
//
// The files use go-i18n's format: nested keys join with "." into message ids
// (login.heading), {{.Name}} is a placeholder, and a map with "one" and
// "other" holds the plural forms chosen by {{.Count}}. en.yaml is the
// reference: every other catalog must have exactly its keys (a test checks).
package locales

import "embed"

// FS holds the catalogs.
//
//go:embed *.yaml
var FS embed.FS

// Package config is qlikgate's configuration file: the root [Config] that
// composes the blocks each package owns, and the strict loader behind
// `qlikgate serve`, `check` and `demo`.
//
// [Load] reads a YAML file and reports every problem at once, each error
// starting with the key it concerns (`targets[0].sense.hub_url: …`) and,
// for a bad value, its line. Unknown keys are errors with a suggestion;
// every string may use ${ENV_VAR}; a secret may come from `<key>_file`;
// relative file paths are relative to the file; YAML merge keys and
// aliases work, with a bound on aliases. Loading opens nothing: building
// providers and targets from a Config is the command's wiring.
//
// docs/configuration.md is generated from the field comments of these
// structs (configdoc.go).
package config

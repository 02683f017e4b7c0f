package config

// docs/configuration.md is generated from the field comments of the
// configuration structs and the defaults functions, by the test that also
// fails when the page is stale (configdoc_test.go).
//go:generate go test -run ^TestConfigReference$ . -args -update-config-doc

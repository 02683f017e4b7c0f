package main

import "time"

// serviceStopTimeout bounds a stop: serve's own shutdown gives in-flight
// requests 10 s, and the service manager should not wait for ever.
const serviceStopTimeout = 30 * time.Second

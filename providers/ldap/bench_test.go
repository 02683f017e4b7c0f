package ldap

import (
	"context"
	"testing"
)

// BenchmarkLogin is a full login (search, bind, group search) against the
// test slapd over LDAPS, with the connection pool and without it: without,
// every login pays two TCP+TLS handshakes and a service bind.
func BenchmarkLogin(b *testing.B) {
	s := needSlapd(b)
	for _, bc := range []struct {
		name string
		pool int
	}{{"pooled", 8}, {"unpooled", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			p, _ := openProvider(b, slapdConfig(s, func(c *Config) {
				c.URLs, c.CAFile, c.PoolSize = []string{s.LDAPSURL}, s.CAFile, bc.pool
			}))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Login(context.Background(), "alice", "alicepass"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

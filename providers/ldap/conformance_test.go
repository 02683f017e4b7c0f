package ldap

import (
	"net"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers/providertest"
)

func TestConformance(t *testing.T) {
	s := needSlapd(t)
	p, _ := openProvider(t, slapdConfig(s))
	// A port that was just closed: connections are refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ldap://" + ln.Addr().String()
	_ = ln.Close()
	down, _ := openProvider(t, slapdConfig(s, func(c *Config) {
		c.URLs = []string{dead}
		c.Timeout, c.DialTimeout = 2*time.Second, time.Second
	}))
	providertest.Password(t, providertest.PasswordSetup{Provider: p, User: "alice", Password: "alicepass", Unreachable: down})
}

package ldap_test

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"

	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
	"github.com/qlikgate/qlikgate/web"
)

// BenchmarkWindowsVsPasswordLogin measures, in one run against one stack
// (qlikgate with the ldap provider on the Samba DC, Kerberos on, behind
// qliksim), a whole Windows sign-in and a whole password sign-in, each
// from the hub to the hub with the ticket consumed:
//
//	kerberos  hub → entry 401 → entry with a fresh Negotiate token (verified
//	          with the keytab, directory search and groups) → QPS ticket → hub
//	password  hub → entry (form) → POST (directory search, user bind and
//	          groups) → QPS ticket → hub
//
// Each parallel virtual user has its own Kerberos client, logged in before
// the timer starts (its TGT and service ticket are cached; every login
// sends a new authenticator). Reported: logins/s, p50 and p99 ms. See
// docs/benchmarks.md.
func BenchmarkWindowsVsPasswordLogin(b *testing.B) {
	s := ldap.NeedSamba(b)
	// One user signs in from 16 browsers at once: attempts in flight count
	// against the throttle.
	st := kerberosStack(b, s, func(c *web.Config) {
		c.Security.MaxAttempts, c.Security.IPMaxAttempts = 1000, 1000
	})
	var (
		mu      sync.Mutex
		clients []*client.Client
	)
	newClient := func() *client.Client {
		mu.Lock()
		defer mu.Unlock()
		cl, err := s.KerberosClient("alice")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ldaptest.NegotiateHeader(cl, s.SPN); err != nil { // fetch the service ticket
			b.Fatal(err)
		}
		clients = append(clients, cl)
		return cl
	}
	b.Cleanup(func() {
		for _, cl := range clients {
			cl.Destroy()
		}
	})
	var failures atomic.Int32 // the first few are logged
	flows := []struct {
		name  string
		login func(b *testing.B, cl *client.Client) bool
	}{
		{"kerberos", func(b *testing.B, cl *client.Client) bool {
			nb := newNegotiatingBrowser(func() (string, error) { return ldaptest.NegotiateHeader(cl, s.SPN) })
			hub, err := nb.Get(st.hub)
			return err == nil && hub.HubUser() == `CORP\alice`
		}},
		{"password", func(b *testing.B, _ *client.Client) bool {
			wb := newNegotiatingBrowser(nil) // no ticket; reaches qlikgate.test
			login, err := wb.Get(st.hub)
			// The entry challenges first: this browser has no ticket, the 401 is the form.
			if err != nil || login.Status != http.StatusUnauthorized {
				return false
			}
			form, err := login.LoginForm("alice", s.Password("alice"))
			if err != nil {
				return false
			}
			hub, err := wb.PostForm(st.url+"/login", form)
			if err == nil && hub.HubUser() != `CORP\alice` && failures.Add(1) <= 3 {
				b.Logf("password login: %d %s %q", hub.Status, hub.URL, hub.Message())
			}
			return err == nil && hub.HubUser() == `CORP\alice`
		}},
	}
	const parallelism = 4 // goroutines per GOMAXPROCS
	for range parallelism * 4 {
		newClient()
	}
	for _, f := range flows {
		b.Run(f.name, func(b *testing.B) {
			var (
				next   atomic.Int32
				failed atomic.Int32
				lmu    sync.Mutex
				lat    []time.Duration
			)
			b.SetParallelism(parallelism)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				cl := clients[int(next.Add(1)-1)%len(clients)]
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					if !f.login(b, cl) {
						failed.Add(1)
					}
					mine = append(mine, time.Since(t0))
				}
				lmu.Lock()
				lat = append(lat, mine...)
				lmu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d logins did not reach the hub", n, b.N)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

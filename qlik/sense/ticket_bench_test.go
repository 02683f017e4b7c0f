package sense_test

import (
	"context"
	"testing"

	"github.com/qlikgate/qlikgate/qlik"
)

// BenchmarkTicketLogin requests tickets from qliksim over the target's
// pooled mutual-TLS client: JSON encoding, the xrfkey, one HTTPS round trip
// on a kept connection and the redirect URL. Parallel, so several
// connections are in use; it reports the TLS handshakes per 1,000 tickets,
// which stay near zero because connections are reused. qliksim runs in the
// same process and takes its share of the CPU.
func BenchmarkTicketLogin(b *testing.B) {
	sim, tgt := benchTicketTarget(b)
	ctx := context.Background()
	if _, err := tgt.Login(ctx, benchUser, qlik.Entry{}); err != nil {
		b.Fatal(err)
	}
	before := sim.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tgt.Login(ctx, benchUser, qlik.Entry{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := sim.Stats()
	tickets := st.TicketsIssued - before.TicketsIssued
	if tickets > 0 {
		b.ReportMetric(float64(st.TLSHandshakes-before.TLSHandshakes)*1000/float64(tickets), "handshakes/1000tickets")
		b.ReportMetric(float64(tickets)/b.Elapsed().Seconds(), "tickets/s")
	}
}

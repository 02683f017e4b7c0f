package web

import (
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/qlik"
)

// TestObserveHandoffSeries: the success series a hand-off updates through
// the cache are the vecs' own, counted per target and kind, beside the
// failures counted through the vecs.
func TestObserveHandoffSeries(t *testing.T) {
	m := newMetrics("test", "none")
	for range 3 {
		m.observeHandoff("hr", "sense-ticket", nil, time.Millisecond)
	}
	m.observeHandoff("fin", "sense-ticket", nil, time.Millisecond)
	m.observeHandoff("hr", "sense-ticket", qlik.ErrBadEntry, time.Millisecond)
	got := map[string]float64{}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case s.Counter != nil:
				got[key] = s.GetCounter().GetValue()
			case s.Histogram != nil:
				got[key] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"qlikgate_handoffs_total kind=sense-ticket result=success target=hr":      3,
		"qlikgate_handoffs_total kind=sense-ticket result=success target=fin":     1,
		"qlikgate_handoffs_total kind=sense-ticket result=bad_entry target=hr":    1,
		"qlikgate_upstream_request_duration_seconds id=hr upstream=sense-ticket":  4,
		"qlikgate_upstream_request_duration_seconds id=fin upstream=sense-ticket": 1,
	} {
		if got[key] != want {
			t.Errorf("%s: %v, want %v", key, got[key], want)
		}
	}
}

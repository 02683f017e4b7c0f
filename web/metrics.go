package web

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// metrics are the Prometheus series qlikgate exposes at /metrics. Each
// server has its own registry: no global state, and tests can build many.
type metrics struct {
	reg       *prometheus.Registry
	logins    *prometheus.CounterVec
	handoffs  *prometheus.CounterVec
	upstream  *prometheus.HistogramVec
	throttled *prometheus.CounterVec
	checks    *prometheus.GaugeVec
	// succeeded holds, by target id and kind, the series a successful
	// hand-off updates (handoffSeries): the request qlikgate serves most
	// then skips hashing three label values and two lookups in the vecs.
	succeeded sync.Map
}

// handoffSeries are the series of one target's successful hand-offs.
type handoffSeries struct {
	count    prometheus.Counter
	upstream prometheus.Observer
}

func newMetrics(version, commit string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikgate_logins_total",
			Help: "Login attempts by provider and result (success, bad_credentials, unavailable, error, throttled).",
		}, []string{"provider", "kind", "result"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikgate_handoffs_total",
			Help: "Hand-offs to Qlik by target and result (success, refused, unreachable, bad_entry, denied).",
		}, []string{"target", "kind", "result"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qlikgate_upstream_request_duration_seconds",
			Help:    "Time spent in a provider (LDAP, OIDC, static hashing) or a Qlik target (QPS, QlikView, Cloud) per call.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"upstream", "id"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikgate_login_throttled_total",
			Help: "Login attempts refused by brute-force throttling, before reaching the provider.",
		}, []string{"provider"}),
		checks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qlikgate_check_failures",
			Help: "Failed checks of the last background readiness run, per provider or target.",
		}, []string{"subject"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "qlikgate_build_info",
		Help: "Always 1; the labels say which build runs.",
	}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(version, commit, runtime.Version()).Set(1)
	m.reg.MustRegister(m.logins, m.handoffs, m.upstream, m.throttled, m.checks, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// loginResult names the outcome of a provider call for the metrics.
func loginResult(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, providers.ErrBadCredentials):
		return "bad_credentials"
	case errors.Is(err, providers.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}

// failureReason is the provider's machine-readable reason for the audit
// log ("wrong_password", "password_expired"…), or "" when it gave none.
func failureReason(err error) string {
	var f *providers.Failure
	if errors.As(err, &f) {
		return string(f.Reason)
	}
	return ""
}

// handoffResult names the outcome of a target call for the metrics.
func handoffResult(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, qlik.ErrBadEntry):
		return "bad_entry"
	case unreachable(err):
		return "unreachable"
	}
	return "refused"
}

func (m *metrics) observeLogin(p Provider, err error, d time.Duration) {
	m.logins.WithLabelValues(p.ID, p.Kind, loginResult(err)).Inc()
	m.upstream.WithLabelValues(p.Kind, p.ID).Observe(d.Seconds())
}

// countLogin counts a login refused before its provider was asked (a
// passkey that failed its check): there is no upstream time to observe.
func (m *metrics) countLogin(p Provider, result string) {
	m.logins.WithLabelValues(p.ID, p.Kind, result).Inc()
}

func (m *metrics) observeHandoff(id, kind string, err error, d time.Duration) {
	if err != nil {
		m.handoffs.WithLabelValues(id, kind, handoffResult(err)).Inc()
		m.upstream.WithLabelValues(kind, id).Observe(d.Seconds())
		return
	}
	key := [2]string{id, kind}
	v, ok := m.succeeded.Load(key)
	if !ok {
		// Made on first use, as WithLabelValues would: a target that has
		// not handed anybody off has no success series yet.
		v, _ = m.succeeded.LoadOrStore(key, &handoffSeries{
			count:    m.handoffs.WithLabelValues(id, kind, handoffResult(nil)),
			upstream: m.upstream.WithLabelValues(kind, id),
		})
	}
	hs := v.(*handoffSeries)
	hs.count.Inc()
	hs.upstream.Observe(d.Seconds())
}

// observeDenied counts a hand-off that the target's access rules refused;
// Qlik was not called, so no upstream time is observed.
func (m *metrics) observeDenied(id, kind string) {
	m.handoffs.WithLabelValues(id, kind, "denied").Inc()
}

func (m *metrics) observeThrottled(p Provider) {
	m.throttled.WithLabelValues(p.ID).Inc()
	m.logins.WithLabelValues(p.ID, p.Kind, "throttled").Inc()
}

// nodeCollector reports each server node of the targets that have several
// (qlik.NodeReporter), read when /metrics is scraped, so the target keeps
// its own counts and nothing is copied on the hand-off path.
type nodeCollector struct {
	targets            []qlik.NodeReporter
	ids                []string
	up, calls, failure *prometheus.Desc
}

// watchNodes registers the per-node series of the targets that report nodes.
func (m *metrics) watchNodes(targets []qlik.Target) {
	c := &nodeCollector{
		up: prometheus.NewDesc("qlikgate_qlik_node_up",
			"1 while a Qlik node takes calls, 0 while it is skipped after a failure (back-off).", []string{"target", "node"}, nil),
		calls: prometheus.NewDesc("qlikgate_qlik_node_calls_total",
			"Calls qlikgate made to a Qlik node.", []string{"target", "node"}, nil),
		failure: prometheus.NewDesc("qlikgate_qlik_node_failures_total",
			"Calls to a Qlik node that failed because of the node (unreachable or 5xx).", []string{"target", "node"}, nil),
	}
	for _, t := range targets {
		if r, ok := t.(qlik.NodeReporter); ok {
			c.targets, c.ids = append(c.targets, r), append(c.ids, t.ID())
		}
	}
	if len(c.targets) > 0 {
		m.reg.MustRegister(c)
	}
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.calls
	ch <- c.failure
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	for i, t := range c.targets {
		for _, n := range t.Nodes() {
			up := 0.0
			if n.Up {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, c.ids[i], n.Node)
			ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(n.Calls), c.ids[i], n.Node)
			ch <- prometheus.MustNewConstMetric(c.failure, prometheus.CounterValue, float64(n.Failures), c.ids[i], n.Node)
		}
	}
}

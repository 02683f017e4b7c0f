package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
	"github.com/qlikgate/qlikgate/qlik/sense"
)

// TestReadiness runs the real sense target's checks against qliksim: ready
// while the QPS answers, failing (503 with the reason) once it is gone, and
// the probe itself never calls the QPS.
func TestReadiness(t *testing.T) {
	sim, err := qliksim.NewSense(qliksim.SenseOptions{Prefix: "hr", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	files, err := sim.PKI().WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := sense.DefaultConfig()
	cfg.ProxyRestURI, cfg.HubURL = sim.ProxyRestURI(), sim.HubURL()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = files.ClientCert, files.ClientKey, files.Root
	cfg.Timeout = 2 * time.Second
	tgt, err := sense.OpenTicket(context.Background(), qlik.Common{ID: "sense"}, cfg, qlik.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := any(tgt).(check.Diagnoser)
	if !ok {
		t.Fatal("the sense target does not diagnose itself")
	}
	r := &readiness{subjects: []check.Subject{{Label: "targets[0] sense (sense-ticket)", Diagnoser: d}},
		interval: time.Hour, timeout: 5 * time.Second, metrics: newMetrics("test", "abc")}

	probe := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/readyz", nil), rec)
		if err := r.handle(c); err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body
	}
	if code, body := probe(); code != http.StatusServiceUnavailable || body["status"] != "starting" {
		t.Fatalf("before the first run: %d %v", code, body)
	}
	r.once(context.Background())
	if code, body := probe(); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("QPS up: %d %v", code, body)
	}
	before := sim.Stats().QPSRequests
	for range 5 {
		probe()
	}
	if sim.Stats().QPSRequests != before {
		t.Fatal("probes called the QPS")
	}
	sim.Close()
	r.once(context.Background())
	code, body := probe()
	failing, _ := body["failing"].([]any)
	if code != http.StatusServiceUnavailable || body["status"] != "failing" || len(failing) == 0 {
		t.Fatalf("QPS down: %d %v", code, body)
	}
	if f := failing[0].(map[string]any); f["subject"] != "targets[0] sense (sense-ticket)" {
		t.Errorf("failure names %v", f)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/providers/ldap/ldaptest"
)

// TestBenchRunsAndReportsSanely runs the whole tool briefly, as the README
// command does but with a fraction of a second per flow, and checks the
// report is sane: every flow completed, none failed, QPS connections were
// reused, the naive client shook hands once per ticket. Nothing here is a
// timed assertion: this machine may be busy. With -short it runs only the
// sso flow, without slapd and the comparison (about two seconds).
func TestBenchRunsAndReportsSanely(t *testing.T) {
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	args := []string{"-users", "2", "-duration", "500ms", "-warmup", "200ms", "-compare-duration", "300ms",
		"-pki", "ecdsa", "-argon2-time", "100ms", "-json", jsonPath}
	switch {
	case testing.Short():
		args = append(args, "-flows", "sso", "-slapd", "off", "-compare=false", "-duration", "300ms", "-warmup", "100ms")
	case ldaptest.Required():
		args = append(args, "-slapd", "require")
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, &out, &errOut); code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rep := readReport(t, jsonPath)
	want := []string{flowStatic, flowLDAP, flowSSO}
	switch {
	case testing.Short():
		want = []string{flowSSO}
	case rep.Setup.Directory == "":
		want = []string{flowStatic, flowSSO} // slapd is not installed here
	}
	if len(rep.Flows) != len(want) {
		t.Fatalf("flows %+v, want %v", rep.Flows, want)
	}
	for i, f := range rep.Flows {
		if f.Flow != want[i] {
			t.Errorf("flow %d is %q, want %q", i, f.Flow, want[i])
		}
		checkFlow(t, f, 2)
		if runtime.GOOS == "linux" && f.PeakRSS <= 0 {
			t.Errorf("%s: no peak RSS of the qlikgate process", f.Flow)
		}
		if !strings.Contains(out.String(), f.Flow) {
			t.Errorf("the table does not show the %s flow:\n%s", f.Flow, out.String())
		}
	}
	if testing.Short() {
		return
	}
	if rep.Argon2 == nil || rep.Argon2.PerSecond <= 0 {
		t.Errorf("no argon2id hash rate: %+v", rep.Argon2)
	}
	if len(rep.Comparison) == 0 {
		t.Fatal("no pooled-vs-naive comparison")
	}
	for _, c := range rep.Comparison {
		checkFlow(t, c.Pooled, 2)
		if c.Naive.Completed == 0 || c.Naive.Errors != 0 {
			t.Errorf("%s naive: %d completed, %d errors %v", c.Flow, c.Naive.Completed, c.Naive.Errors, c.Naive.ErrorSamples)
		}
		if q := c.Naive.QPS; q == nil || q.TLSHandshakes != q.TicketsIssued || q.Reused {
			t.Errorf("%s naive: want one handshake per ticket, got %+v", c.Flow, q)
		}
		if c.ThroughputRatio <= 0 {
			t.Errorf("%s: ratio %v", c.Flow, c.ThroughputRatio)
		}
	}
}

// checkFlow checks one pooled run: it completed flows without errors, every
// ticket reached the hub, and connections to the QPS were kept.
func checkFlow(t *testing.T, f flowResult, users int) {
	t.Helper()
	if f.Completed == 0 || f.Throughput <= 0 {
		t.Errorf("%s (%s): %d flows, %.1f/s", f.Flow, f.Module, f.Completed, f.Throughput)
	}
	if f.Errors != 0 {
		t.Errorf("%s (%s): %d errors: %v", f.Flow, f.Module, f.Errors, f.ErrorSamples)
	}
	if f.Latency.P50 <= 0 || f.Latency.P50 > f.Latency.P99 || f.ModuleLatency.P99 > f.Latency.Max {
		t.Errorf("%s (%s): latencies out of order: %+v, qlikgate %+v", f.Flow, f.Module, f.Latency, f.ModuleLatency)
	}
	q := f.QPS
	if q == nil {
		t.Fatalf("%s (%s): no QPS counters", f.Flow, f.Module)
	}
	if q.TicketsRejected != 0 {
		t.Errorf("%s (%s): %d tickets rejected at the hub", f.Flow, f.Module, q.TicketsRejected)
	}
	if !q.Reused {
		t.Errorf("%s (%s): connections not reused: %+v", f.Flow, f.Module, q)
	}
}

func readReport(t *testing.T, path string) report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%s", err, data)
	}
	return rep
}

// TestURLMode measures a qlikgate the tool did not start: here the pooled
// in-process module in front of qliksim.
func TestURLMode(t *testing.T) {
	site, err := newSenseSite(t.TempDir(), "ecdsa", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.close)
	users := accounts(1)
	mod, err := startInProcess(context.Background(), variantPooled, moduleParts{
		site: site, users: users, hash: cheapHash(t), logFile: filepath.Join(t.TempDir(), "qlikgate.log"), logLevel: "info",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mod.stop() })
	if err := site.restart(mod.publicURL); err != nil {
		t.Fatal(err)
	}
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{
		"-url", mod.publicURL, "-user", users[0].name, "-password", users[0].password,
		"-flows", "login,sso", "-users", "2", "-duration", "300ms", "-warmup", "100ms", "-json", jsonPath,
	}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rep := readReport(t, jsonPath)
	if len(rep.Flows) != 2 {
		t.Fatalf("flows: %+v", rep.Flows)
	}
	for _, f := range rep.Flows {
		if f.Completed == 0 || f.Errors != 0 || f.QPS != nil {
			t.Errorf("%s: %d completed, %d errors %v, qps %+v", f.Flow, f.Completed, f.Errors, f.ErrorSamples, f.QPS)
		}
	}
	if st := site.stats(); st.TicketsConsumed == 0 {
		t.Errorf("no ticket reached the hub: %+v", st)
	}
}

func TestOptionsRefuseNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"-users", "0"},
		{"-flows", "static,nope"},
		{"-slapd", "maybe"},
		{"-url", "http://127.0.0.1:1/"}, // no -user/-password
		{"-url", "http://127.0.0.1:1/", "-user", "a", "-password", "b"}, // default flows are not -url flows
		{"-cpuprofile", "x.prof", "-profile-flow", "ldap", "-flows", "sso"},
	} {
		if _, err := parseOptions(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
	if _, err := parseOptions(nil, &bytes.Buffer{}); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}

func TestPercentilesNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(ds)
	if got.P50 != 50 || got.P90 != 90 || got.P99 != 99 || got.Max != 100 {
		t.Fatalf("percentiles of 1..100 ms: %+v", got)
	}
	if one := percentiles([]time.Duration{3 * time.Millisecond}); one.P50 != 3 || one.P99 != 3 {
		t.Fatalf("one sample: %+v", one)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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
		"-pki", "ecdsa", "-argon2-time", "100ms", "-gogc", "150", "-json", jsonPath}
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
		if f.GOGC == nil || *f.GOGC != 150 {
			t.Errorf("%s: qlikgate ran with GOGC %v, want the 150 of -gogc", f.Flow, f.GOGC)
		}
		if runtime.GOOS == "linux" && f.CPUs < 1 {
			t.Errorf("%s: no CPU count for qlikgate", f.Flow)
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
	wantCompared := []string{flowSSO, flowLDAP}
	if rep.Setup.Directory == "" {
		wantCompared = []string{flowSSO}
	}
	var compared []string
	for _, c := range rep.Comparison {
		compared = append(compared, c.Flow)
	}
	if !slices.Equal(compared, wantCompared) {
		t.Fatalf("compared flows %q, want %q", compared, wantCompared)
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
		checkFloor(t, c, out.String())
	}
}

// checkFloor checks a comparison's floor run: the sso flow has one, which
// completed hand-offs to the right user at the hub (every iteration checks
// the hub's user, so no errors means it matched) and whose ratio is pooled
// ÷ floor; other flows have none.
func checkFloor(t *testing.T, c comparison, table string) {
	t.Helper()
	if c.Flow != flowSSO {
		if c.Floor != nil || c.FloorRatio != 0 {
			t.Errorf("%s: a floor run (%+v, ratio %v); only sso has one", c.Flow, c.Floor, c.FloorRatio)
		}
		return
	}
	f, w := c.Floor, c.Wire
	if f == nil || w == nil {
		t.Fatalf("sso: floor run %v, wire run %v in the comparison, want both", f != nil, w != nil)
	}
	want, wantWire := c.Pooled.Throughput/f.Throughput, w.Throughput/f.Throughput
	checkFloorRun(t, variantFloor, *f, c.FloorRatio, want)
	checkFloorRun(t, variantWire, *w, c.WireRatio, wantWire)
	for _, s := range []string{"sso floor", "sso wire", fmt.Sprintf("qlikgate reaches %.0f %% of the floor", 100*want),
		fmt.Sprintf("reaches %.0f %% of the floor: %.0f flows/s", 100*wantWire, w.Throughput)} {
		if !strings.Contains(table, s) {
			t.Errorf("the table lacks %q:\n%s", s, table)
		}
	}
}

// checkFloorRun checks the sso comparison's run of a floor variant: it
// completed hand-offs to the right user at the hub, every one with a
// ticket consumed, and its ratio is want.
func checkFloorRun(t *testing.T, variant string, run flowResult, ratio, want float64) {
	t.Helper()
	checkFlow(t, run, 2)
	if run.Module != variant+" (in-process)" {
		t.Errorf("sso %s: module %q", variant, run.Module)
	}
	if q := run.QPS; q != nil && q.TicketsConsumed < int64(run.Completed) {
		t.Errorf("sso %s: %d flows completed but only %d tickets consumed at the hub", variant, run.Completed, q.TicketsConsumed)
	}
	if ratio <= 0 || math.Abs(ratio-want) > 1e-9*want {
		t.Errorf("sso: %s ratio %v, want %v", variant, ratio, want)
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
	m := startModule(t, variantPooled, 1)
	site, users := m.site, m.users
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{
		"-url", m.publicURL, "-user", users[0].name, "-password", users[0].password,
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
		{"-pin", "1"}, // the comparison is on by default
		{"-pin", "-1", "-compare=false"},
		{"-pin", "1", "-compare=false", "-url", "http://127.0.0.1:1/", "-user", "a", "-password", "b", "-flows", "sso"},
		{"-gogc", "0"},
		{"-gogc", "lots"},
		{"-url", "http://127.0.0.1:1/", "-user", "a", "-password", "b", "-flows", "sso", "-gogc", "200"},
	} {
		if _, err := parseOptions(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
	if _, err := parseOptions(nil, &bytes.Buffer{}); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
	for _, gogc := range []string{"off", "200"} {
		if _, err := parseOptions([]string{"-gogc", gogc}, &bytes.Buffer{}); err != nil {
			t.Errorf("-gogc %s refused: %v", gogc, err)
		}
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

// TestReportShowsTheFloor checks what the report makes of a floor run: the
// ratio pooled ÷ floor in the JSON (beside the fields that were there
// before) and in the table, its errors in the exit status and its busy
// CPU in the notes; a comparison without a floor shows none of it.
func TestReportShowsTheFloor(t *testing.T) {
	run := func(module string, perSecond float64, errors int, otherPct float64) flowResult {
		return flowResult{Flow: flowSSO, Module: module, Throughput: perSecond, Errors: errors,
			Latency: latencyStats{P50: 2, P99: 9}, CPU: &cpuShare{OtherPct: otherPct}}
	}
	pooled, naive := run("pooled (in-process)", 720, 0, 0), run("naive (in-process)", 90, 0, 0)
	floor := run("floor (in-process)", 1000, 2, 30)
	floor.Latency.P99 = 6
	wire := run("wire (in-process)", 900, 1, 0)
	for _, tc := range []struct {
		name       string
		floor      *flowResult
		wantRatio  float64
		wantErrors int
		wantTable  []string
		wantNote   string // "": no note
	}{
		{"with a floor", &floor, 0.72, 3,
			[]string{"sso floor", "72 %", "qlikgate reaches 72 % of the floor: 720 of 1000 flows/s, p99 9.00 ms against 6.00 ms",
				"sso wire", "90 %", "reaches 90 % of the floor: 900 flows/s: no web layer that sends those bytes can do better"},
			"sso (floor (in-process)): other processes"},
		{"without a floor", nil, 0, 0, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newComparison(flowSSO, pooled, naive)
			if tc.floor != nil {
				c.addFloor(*tc.floor, wire)
			}
			rep := &report{Comparison: []comparison{c}}
			rep.noteBusyRuns()
			if c.FloorRatio != tc.wantRatio || c.ThroughputRatio != 8 {
				t.Errorf("ratios: pooled ÷ floor %v, want %v; pooled ÷ naive %v, want 8", c.FloorRatio, tc.wantRatio, c.ThroughputRatio)
			}
			if got := rep.errorCount(); got != tc.wantErrors {
				t.Errorf("%d errors, want %d", got, tc.wantErrors)
			}
			notes := strings.Join(rep.Notes, "\n")
			if (tc.wantNote == "") != (notes == "") || !strings.Contains(notes, tc.wantNote) {
				t.Errorf("notes %q, want one with %q", notes, tc.wantNote)
			}

			data, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(data, &fields); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"flow", "pooled", "naive", "throughput_ratio", "p50_ratio", "p99_ratio"} {
				if _, ok := fields[k]; !ok {
					t.Errorf("the JSON lost %q: %s", k, data)
				}
			}
			for _, k := range []string{"floor", "floor_ratio", "wire", "wire_ratio"} {
				if _, ok := fields[k]; ok != (tc.floor != nil) {
					t.Errorf("JSON field %q present: %v, want %v", k, ok, tc.floor != nil)
				}
			}

			var table bytes.Buffer
			rep.writeTable(&table)
			for _, s := range tc.wantTable {
				if !strings.Contains(table.String(), s) {
					t.Errorf("the table lacks %q:\n%s", s, table.String())
				}
			}
			if tc.floor == nil && (strings.Contains(table.String(), "sso floor") || strings.Contains(table.String(), "sso wire")) {
				t.Errorf("a floor row without a floor run:\n%s", table.String())
			}
		})
	}
}

// TestPin: with -pin the qlikgate child may run on exactly one CPU, the
// report says so and how busy that CPU was, and this process gets all its
// CPUs back afterwards.
func TestPin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("-pin is Linux-only")
	}
	cpus, err := moduleAffinity(os.Getpid())
	if err != nil || cpus < 2 {
		t.Skipf("-pin needs two CPUs, this process may use %d (%v)", cpus, err)
	}
	before := runtime.GOMAXPROCS(0)
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-pin", "1", "-compare=false", "-flows", "sso", "-slapd", "off", "-users", "2",
		"-duration", "300ms", "-warmup", "100ms", "-argon2-time", "0", "-pki", "ecdsa", "-json", jsonPath}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rep := readReport(t, jsonPath)
	if !strings.Contains(rep.Setup.Pinning, "qlikgate pinned to CPU") || !strings.Contains(out.String(), "CPUs: qlikgate pinned") {
		t.Errorf("the report does not say where qlikgate ran: %q\n%s", rep.Setup.Pinning, out.String())
	}
	if len(rep.Flows) != 1 || rep.Flows[0].CPUs != 1 {
		t.Fatalf("qlikgate could run on %+v CPUs, want 1", rep.Flows)
	}
	checkFlow(t, rep.Flows[0], 2)
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "of its own 1 CPU(s)") }) {
		t.Errorf("no note on how busy qlikgate's CPU was: %q", rep.Notes)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS %d after the run, was %d", got, before)
	}
	if n, err := moduleAffinity(os.Getpid()); err != nil || n != cpus {
		t.Errorf("this process may use %d CPUs after the run (%v), want its %d again", n, err, cpus)
	}

	// Every CPU for qlikgate would leave none for the tool.
	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"-pin", strconv.Itoa(cpus), "-compare=false", "-flows", "sso", "-slapd", "off",
		"-duration", "100ms", "-argon2-time", "0"}, &out, &errOut)
	if code == exitOK || !strings.Contains(errOut.String(), "one at least for the tool") {
		t.Errorf("-pin %d on %d CPUs: exit %d, stderr %q", cpus, cpus, code, errOut.String())
	}
}

// TestStartTakesAnotherPortWhenItsPortIsTaken: a port that another process
// took between the tool finding it free and qlikgate listening on it does
// not fail the run; qlikgate starts on another one, and a start that fails
// for any other reason says why from qlikgate's log.
func TestStartTakesAnotherPortWhenItsPortIsTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds qlikgate")
	}
	dir := t.TempDir()
	site, err := newSenseSite(dir, "ecdsa", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer site.close()
	o, err := parseOptions([]string{"-users", "1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := prepareModule(context.Background(), o, dir, site, nil, accounts(1), cheapHash(t), func(string, ...any) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", pm.mc.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	first := pm.publicURL
	child, err := pm.start(context.Background(), o, "")
	if err != nil {
		t.Fatalf("start with its port taken: %v", err)
	}
	if pm.publicURL == first || child.publicURL != pm.publicURL {
		t.Errorf("qlikgate at %s (module %s), first port %s: want a new port", child.publicURL, pm.publicURL, first)
	}
	child.stop()

	// Any other start-up failure is reported with qlikgate's own words.
	if err := os.WriteFile(pm.config, []byte("server: {listen: nonsense}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = startChild(context.Background(), pm.bin, pm.config, pm.publicURL, pm.logFile, "", "", nil)
	if err == nil || errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), "the end of its log") {
		t.Errorf("a bad configuration: %v", err)
	}
}

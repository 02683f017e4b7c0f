package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kardianos/service"
)

func TestServiceArgs(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return filepath.Join(wd, p) }
	tests := []struct {
		args    []string
		want    serviceOptions
		wantErr string
	}{
		{args: []string{"install", "-config", "conf/config.yaml"},
			want: serviceOptions{Action: "install", Name: "qlikgate", Config: abs("conf/config.yaml"), User: `NT SERVICE\qlikgate`}},
		{args: []string{"install", "-config", "c.yaml", "-name", "qlikgate-hr", "-log-file", "logs/q.log"},
			want: serviceOptions{Action: "install", Name: "qlikgate-hr", Config: abs("c.yaml"), User: `NT SERVICE\qlikgate-hr`, LogFile: abs("logs/q.log")}},
		{args: []string{"install", "-config", "c.yaml", "-user", `CORP\svc-qlik`, "-password", "pw"},
			want: serviceOptions{Action: "install", Name: "qlikgate", Config: abs("c.yaml"), User: `CORP\svc-qlik`, Password: "pw"}},
		{args: []string{"install", "-config", "c.yaml", "-user", "LocalSystem"},
			want: serviceOptions{Action: "install", Name: "qlikgate", Config: abs("c.yaml"), User: "LocalSystem"}},
		{args: []string{"run", "-name", "q2", "-config", "/etc/q.yaml"},
			want: serviceOptions{Action: "run", Name: "q2", Config: "/etc/q.yaml"}},
		{args: []string{"status"}, want: serviceOptions{Action: "status", Name: "qlikgate"}},
		{args: []string{"stop", "-name", "q.b_c-1"}, want: serviceOptions{Action: "stop", Name: "q.b_c-1"}},
		{args: []string{"reload"}, want: serviceOptions{Action: "reload", Name: "qlikgate"}},
		{args: []string{"reload", "-name", "qlikgate-hr"}, want: serviceOptions{Action: "reload", Name: "qlikgate-hr"}},

		{args: nil, wantErr: "missing action"},
		{args: []string{"-config", "c.yaml"}, wantErr: "missing action"},
		{args: []string{"restart"}, wantErr: `unknown action "restart"`},
		{args: []string{"install"}, wantErr: "-config is required"},
		{args: []string{"install", "-config", "c.yaml", "-password", "pw"}, wantErr: "-password needs -user"},
		{args: []string{"install", "-config", "c.yaml", "-name", "qlik gate"}, wantErr: `-name "qlik gate"`},
		{args: []string{"install", "-config", "c.yaml", "-name", `..\x`}, wantErr: "-name"},
		{args: []string{"start", "extra"}, wantErr: `unexpected argument "extra"`},
		{args: []string{"uninstall", "-config", "c.yaml"}, wantErr: "flag provided but not defined: -config"},
		{args: []string{"reload", "-config", "c.yaml"}, wantErr: "flag provided but not defined: -config"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		got, err := parseServiceArgs(tt.args, &stderr)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.args, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case got != tt.want:
			t.Errorf("%q:\n got %+v\nwant %+v", tt.args, got, tt.want)
		}
	}
}

func TestServiceConfig(t *testing.T) {
	o := serviceOptions{Action: "install", Name: "qlikgate", Config: `/srv/qlik gate/config.yaml`, User: `NT SERVICE\qlikgate`, LogFile: "/var/log/q.log"}
	c := serviceConfig(o, `/opt/qlikgate/qlikgate.exe`)
	if c.Name != "qlikgate" || c.DisplayName != "qlikgate" || c.Executable != `/opt/qlikgate/qlikgate.exe` || c.UserName != `NT SERVICE\qlikgate` {
		t.Errorf("config %+v", c)
	}
	wantArgs := []string{"service", "run", "-name", "qlikgate", "-config", `/srv/qlik gate/config.yaml`, "-log-file", "/var/log/q.log"}
	if !slices.Equal(c.Arguments, wantArgs) {
		t.Errorf("arguments %q, want %q", c.Arguments, wantArgs)
	}
	if !slices.Equal(c.Dependencies, []string{"Tcpip"}) {
		t.Errorf("dependencies %q", c.Dependencies)
	}
	if !strings.Contains(c.Description, o.Config) {
		t.Errorf("description %q does not name the configuration", c.Description)
	}
	for k, v := range map[string]any{"DelayedAutoStart": true, "StartType": "automatic", "OnFailure": "restart", "OnFailureDelayDuration": "10s", "OnFailureResetPeriod": 86400} {
		if c.Option[k] != v {
			t.Errorf("option %s = %v, want %v", k, c.Option[k], v)
		}
	}
	if _, ok := c.Option["Password"]; ok {
		t.Error("a password option without -password")
	}

	// What the service manager will run parses back to the same service.
	back, err := parseServiceArgs(c.Arguments[1:], &bytes.Buffer{})
	if err != nil || back.Name != o.Name || back.Config != o.Config || back.LogFile != o.LogFile || back.Action != actionRun {
		t.Errorf("registered arguments parse to %+v, %v", back, err)
	}

	o.Name, o.User, o.Password, o.LogFile = "qlikgate-hr", `CORP\svc-qlik`, "pw", ""
	c = serviceConfig(o, "q.exe")
	if c.DisplayName != "qlikgate (qlikgate-hr)" || c.UserName != `CORP\svc-qlik` || c.Option["Password"] != "pw" || slices.Contains(c.Arguments, "-log-file") {
		t.Errorf("second instance: %+v", c)
	}
	o.User, o.Password = "localsystem", ""
	if c := serviceConfig(o, "q.exe"); c.UserName != "" {
		t.Errorf("LocalSystem registered as %q, want the manager's default (empty)", c.UserName)
	}
}

// fakeManager records the actions a serviceCommand asks for.
type fakeManager struct {
	cfg    *service.Config
	calls  []string
	err    error
	status service.Status
}

func (f *fakeManager) Install() error   { f.calls = append(f.calls, "install"); return f.err }
func (f *fakeManager) Uninstall() error { f.calls = append(f.calls, "uninstall"); return f.err }
func (f *fakeManager) Start() error     { f.calls = append(f.calls, "start"); return f.err }
func (f *fakeManager) Stop() error      { f.calls = append(f.calls, "stop"); return f.err }
func (f *fakeManager) Reload() error    { f.calls = append(f.calls, "reload"); return f.err }
func (f *fakeManager) Status() (service.Status, error) {
	f.calls = append(f.calls, "status")
	return f.status, f.err
}

func fakeServiceCommand(goos string, m *fakeManager) serviceCommand {
	return serviceCommand{
		goos: goos,
		exe:  func() (string, error) { return `C:\qlikgate\qlikgate.exe`, nil },
		open: func(c *service.Config) (serviceManager, error) { m.cfg = c; return m, nil },
		run:  func(context.Context, serviceOptions, io.Writer) int { m.calls = append(m.calls, "run"); return exitOK },
	}
}

func TestServiceCommand(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("server: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		goos      string
		args      []string
		m         fakeManager
		code      int
		calls     []string
		inStdout  string
		inStderr  string
		checkArgs bool
	}{
		{name: "install", goos: "windows", args: []string{"install", "-config", cfgFile}, code: exitOK, calls: []string{"install"},
			inStdout: `/grant "NT SERVICE\qlikgate:(OI)(CI)RX"`, checkArgs: true},
		{name: "install with a log file", goos: "windows", args: []string{"install", "-config", cfgFile, "-user", `CORP\svc`, "-password", "S3cr3t-Pa55", "-log-file", cfgFile + ".log"},
			code: exitOK, calls: []string{"install"}, inStdout: `/grant "CORP\svc:(OI)(CI)M"`},
		{name: "install, missing config", goos: "windows", args: []string{"install", "-config", cfgFile + ".nope"}, code: exitConfig,
			inStderr: "no such file"},
		{name: "install, access denied", goos: "windows", args: []string{"install", "-config", cfgFile}, m: fakeManager{err: errors.New("Access is denied.")},
			code: exitFail, calls: []string{"install"}, inStderr: "Run as administrator"},
		{name: "start", goos: "windows", args: []string{"start"}, code: exitOK, calls: []string{"start"}, inStdout: "Started service qlikgate"},
		{name: "stop", goos: "windows", args: []string{"stop", "-name", "q2"}, code: exitOK, calls: []string{"stop"}, inStdout: "Stopped service q2"},
		{name: "reload", goos: "windows", args: []string{"reload", "-name", "q2"}, code: exitOK, calls: []string{"reload"}, inStdout: "event=reload_failed"},
		{name: "reload, access denied", goos: "windows", args: []string{"reload"}, m: fakeManager{err: errors.New("Access is denied.")},
			code: exitFail, calls: []string{"reload"}, inStderr: "qlikgate service reload qlikgate: Access is denied.\n(installing, removing, starting, stopping and reloading services needs an elevated prompt"},
		{name: "reload on linux", goos: "linux", args: []string{"reload"}, code: exitConfig, inStderr: "deploy/qlikgate.service"},
		{name: "uninstall", goos: "windows", args: []string{"uninstall"}, code: exitOK, calls: []string{"uninstall"}, inStdout: "Removed service qlikgate"},
		{name: "status running", goos: "windows", args: []string{"status"}, m: fakeManager{status: service.StatusRunning}, code: exitOK, calls: []string{"status"}, inStdout: "qlikgate: running"},
		{name: "status stopped", goos: "windows", args: []string{"status"}, m: fakeManager{status: service.StatusStopped}, code: exitFail, calls: []string{"status"}, inStdout: "qlikgate: stopped"},
		{name: "status not installed", goos: "windows", args: []string{"status"}, m: fakeManager{err: service.ErrNotInstalled}, code: exitFail, calls: []string{"status"}, inStdout: "not installed"},
		{name: "run", goos: "windows", args: []string{"run", "-config", cfgFile}, code: exitOK, calls: []string{"run"}},
		{name: "bad arguments", goos: "windows", args: []string{"install"}, code: exitConfig, inStderr: "-config is required"},
		{name: "help", goos: "linux", args: []string{"-h"}, code: exitOK, inStdout: `NT SERVICE\<name>`},
		{name: "help names reload", goos: "windows", args: []string{"help"}, code: exitOK, inStdout: "sc.exe control <name> paramchange"},
		{name: "linux", goos: "linux", args: []string{"install", "-config", cfgFile}, code: exitConfig, inStderr: "deploy/qlikgate.service"},
		{name: "darwin", goos: "darwin", args: []string{"status"}, code: exitConfig, inStderr: "qlikgate serve -config FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			var stdout, stderr bytes.Buffer
			code := fakeServiceCommand(tt.goos, &m).main(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !slices.Equal(m.calls, tt.calls) || !strings.Contains(stdout.String(), tt.inStdout) || !strings.Contains(stderr.String(), tt.inStderr) {
				t.Errorf("exit %d (want %d), calls %q (want %q)\nstdout: %s\nstderr: %s", code, tt.code, m.calls, tt.calls, &stdout, &stderr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "S3cr3t-Pa55") {
				t.Error("the account's password was printed")
			}
			if tt.checkArgs && (m.cfg == nil || m.cfg.Executable != `C:\qlikgate\qlikgate.exe` || !slices.Contains(m.cfg.Arguments, cfgFile)) {
				t.Errorf("registered %+v", m.cfg)
			}
		})
	}
}

// fakeLogger records event log entries.
type fakeLogger struct {
	mu      sync.Mutex
	entries []string
}

func (l *fakeLogger) add(kind string, v []any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, kind+" "+fmt.Sprint(v...))
	return nil
}
func (l *fakeLogger) Error(v ...any) error   { return l.add("E", v) }
func (l *fakeLogger) Warning(v ...any) error { return l.add("W", v) }
func (l *fakeLogger) Info(v ...any) error    { return l.add("I", v) }
func (l *fakeLogger) Errorf(f string, a ...any) error {
	return l.add("E", []any{fmt.Sprintf(f, a...)})
}
func (l *fakeLogger) Warningf(f string, a ...any) error {
	return l.add("W", []any{fmt.Sprintf(f, a...)})
}
func (l *fakeLogger) Infof(f string, a ...any) error { return l.add("I", []any{fmt.Sprintf(f, a...)}) }

// has reports whether an entry of that kind ("E ", "W ", "I ") contains s.
func (l *fakeLogger) has(kind, s string) bool {
	return slices.ContainsFunc(l.all(), func(e string) bool { return strings.HasPrefix(e, kind) && strings.Contains(e, s) })
}

func (l *fakeLogger) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

func TestEventLogWriter(t *testing.T) {
	l := &fakeLogger{}
	w := eventLogWriter{l}
	for _, line := range []string{
		`time=2026-01-01T00:00:00Z level=INFO msg="qlikgate started" event=start`,
		`{"time":"2026-01-01T00:00:00Z","level":"WARN","msg":"certificate expires soon"}`,
		`time=2026-01-01T00:00:00Z level=ERROR msg="qlikgate stopped" cause="web: serve: closed"`,
		`{"time":"2026-01-01T00:00:00Z","level":"DEBUG","msg":"x"}`,
		`qlikgate: C:\q\config.yaml: open C:\q\config.yaml: The system cannot find the file specified.`,
		"two\nlines\n",
	} {
		if n, err := w.Write([]byte(line + "\n")); err != nil || n != len(line)+1 {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	want := []string{"I time=", "W {", "E time=", "I {", "E qlikgate: ", "E two", "E lines"}
	if len(l.entries) != len(want) {
		t.Fatalf("entries %q", l.entries)
	}
	for i, e := range l.entries {
		if !strings.HasPrefix(e, want[i]) || strings.HasSuffix(e, "\n") {
			t.Errorf("entry %d = %q, want prefix %q and no newline", i, e, want[i])
		}
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
)

// serviceManager is the part of the operating system's service manager the
// administrator's actions use; github.com/kardianos/service implements it
// for the Windows SCM (with scmService adding Reload), tests with a fake.
type serviceManager interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Reload() error
	Status() (service.Status, error)
}

// scmService is kardianos/service's service plus the reload it lacks.
type scmService struct {
	service.Service
	name string
}

func (s scmService) Reload() error { return reloadService(s.name) }

// adminProgram is the program kardianos/service requires even where it
// never calls it: install, uninstall, start, stop, status and the event
// log. Running the service is serviceLoop's job.
type adminProgram struct{}

func (adminProgram) Start(service.Service) error { return nil }
func (adminProgram) Stop(service.Service) error  { return nil }

// serviceCommand is `qlikgate service`, with what it depends on made
// explicit so that it can be tested on any system without touching a real
// service manager.
type serviceCommand struct {
	goos string                                               // runtime.GOOS
	exe  func() (string, error)                               // os.Executable
	open func(*service.Config) (serviceManager, error)        // kardianos/service
	run  func(context.Context, serviceOptions, io.Writer) int // runs the service under the manager
}

func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := serviceCommand{
		goos: runtime.GOOS,
		exe:  os.Executable,
		open: func(cfg *service.Config) (serviceManager, error) {
			s, err := service.New(adminProgram{}, cfg)
			if err != nil {
				return nil, err
			}
			return scmService{Service: s, name: cfg.Name}, nil
		},
		run: runAsService,
	}
	return c.main(ctx, args, stdout, stderr)
}

func (c serviceCommand) main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		serviceUsage(stdout)
		return exitOK
	}
	o, err := parseServiceArgs(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "qlikgate service: %v\n\n", err)
			serviceUsage(stderr)
		}
		return exitConfig
	}
	if c.goos != "windows" {
		// The systemd unit in deploy/ is hardened (own user, read-only
		// file system, no capabilities); a generated one would not be.
		fmt.Fprint(stderr, `qlikgate service manages a Windows service.
On Linux, install deploy/qlikgate.service as a systemd unit, or run the container
(deploy/Dockerfile); see "Running on Linux" in README.md. Elsewhere, run
"qlikgate serve -config FILE" under the system's own service manager.
`)
		return exitConfig
	}
	if o.Action == actionRun {
		return c.run(ctx, o, stderr)
	}
	exe, err := c.exe()
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate service: finding this executable: %v\n", err)
		return exitFail
	}
	if o.Action == actionInstall {
		if _, err := os.Stat(o.Config); err != nil {
			fmt.Fprintf(stderr, "qlikgate service: -config: %v\n", err)
			return exitConfig
		}
	}
	m, err := c.open(serviceConfig(o, exe))
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate service: %v\n", err)
		return exitFail
	}
	return control(m, o, stdout, stderr)
}

// control carries out an administrator's action and says what to do next.
func control(m serviceManager, o serviceOptions, stdout, stderr io.Writer) int {
	var err error
	switch o.Action {
	case actionInstall:
		err = m.Install()
	case actionUninstall:
		err = m.Uninstall()
	case actionStart:
		err = m.Start()
	case actionStop:
		err = m.Stop()
	case actionReload:
		err = m.Reload()
	case actionStatus:
		return printServiceStatus(m, o.Name, stdout, stderr)
	}
	if err != nil {
		// Access denied is by far the most common cause.
		fmt.Fprintf(stderr, "qlikgate service %s %s: %v\n(installing, removing, starting, stopping and reloading services needs an elevated prompt: \"Run as administrator\")\n", o.Action, o.Name, err)
		return exitFail
	}
	switch o.Action {
	case actionInstall:
		printInstalled(stdout, o)
	case actionUninstall:
		fmt.Fprintf(stdout, "Removed service %s.\n", o.Name)
	case actionStart:
		fmt.Fprintf(stdout, "Started service %s.\n", o.Name)
	case actionStop:
		fmt.Fprintf(stdout, "Stopped service %s.\n", o.Name)
	case actionReload:
		// The manager only confirms delivery; the outcome is logged.
		fmt.Fprintf(stdout, "Asked service %s to reload its configuration. Its log shows the outcome: event=reload,\nor event=reload_failed with every problem while the previous configuration keeps running.\n", o.Name)
	}
	return exitOK
}

// printInstalled says what the account needs before the service can start.
func printInstalled(w io.Writer, o serviceOptions) {
	account := accountName(o.User)
	fmt.Fprintf(w, "Installed service %s, running as %s with %s.\n", o.Name, account, o.Config)
	fmt.Fprintln(w, "It starts automatically (delayed) at boot and restarts 10 s after a failure.")
	fmt.Fprintln(w, "The account must read the configuration and the certificates, for example:")
	fmt.Fprintf(w, "  icacls \"%s\" /grant \"%s:(OI)(CI)RX\"\n", filepath.Dir(o.Config), account)
	if o.LogFile != "" {
		fmt.Fprintln(w, "and write the log file:")
		fmt.Fprintf(w, "  icacls \"%s\" /grant \"%s:(OI)(CI)M\"\n", filepath.Dir(o.LogFile), account)
	} else {
		fmt.Fprintf(w, "Its log goes to the Windows event log (Application, source %s).\n", o.Name)
	}
	fmt.Fprintf(w, "Check the configuration with \"qlikgate check -config %s\", then start it:\n", o.Config)
	fmt.Fprintf(w, "  qlikgate service start -name %s\n", o.Name)
}

// printServiceStatus prints running, stopped or not installed; the exit
// code is 0 only when the service runs, for scripts.
func printServiceStatus(m serviceManager, name string, stdout, stderr io.Writer) int {
	st, err := m.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		fmt.Fprintf(stdout, "%s: not installed\n", name)
		return exitFail
	case err != nil:
		fmt.Fprintf(stderr, "qlikgate service status %s: %v\n", name, err)
		return exitFail
	case st == service.StatusRunning:
		fmt.Fprintf(stdout, "%s: running\n", name)
		return exitOK
	case st == service.StatusStopped:
		fmt.Fprintf(stdout, "%s: stopped\n", name)
		return exitFail
	default:
		fmt.Fprintf(stdout, "%s: unknown\n", name)
		return exitFail
	}
}

func accountName(user string) string {
	if user == "" {
		return localSystem
	}
	return user
}

func serviceUsage(w io.Writer) {
	fmt.Fprint(w, `qlikgate service — run qlikgate as a Windows service

  qlikgate service install -config FILE [-name qlikgate] [-user ACCOUNT [-password PW]] [-log-file FILE]
  qlikgate service uninstall|start|stop|reload|status [-name qlikgate]

install registers "qlikgate service run -config <absolute FILE>" with the service
manager: automatic (delayed) start, restart after a failure, logs to the Windows
event log (source = the service name) or to -log-file. Without -user the service
runs as its own virtual account NT SERVICE\<name>; grant it read access to the
configuration and certificate folder. Give each instance its own -name.
reload makes the running service read its configuration again (the same as
"sc.exe control <name> paramchange"); a configuration with problems is refused,
logged as event=reload_failed, and the previous one keeps running.
Run from an elevated prompt. On Linux, use deploy/qlikgate.service instead.
`)
}

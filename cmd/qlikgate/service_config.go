package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kardianos/service"
)

// Service actions. run is what the service manager starts; the others are
// for an administrator.
const (
	actionInstall   = "install"
	actionUninstall = "uninstall"
	actionStart     = "start"
	actionStop      = "stop"
	actionStatus    = "status"
	actionReload    = "reload"
	actionRun       = "run"
)

// defaultServiceName is the Windows service name unless -name says
// otherwise; several instances need several names.
const defaultServiceName = "qlikgate"

// LocalSystem is the Windows account the service manager uses when no
// account is given; -user LocalSystem asks for it explicitly.
const localSystem = "LocalSystem"

// serviceOptions are the parsed arguments of `qlikgate service ACTION`.
type serviceOptions struct {
	Action   string
	Name     string
	Config   string // absolute path of the configuration file (install, run)
	User     string // account the service runs as (install)
	Password string // its password, passed to the service manager only (install)
	LogFile  string // absolute path of a log file; empty: the Windows event log
}

var serviceNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$`)

// parseServiceArgs reads `ACTION [flags]`. Paths become absolute against
// the current directory, because the service manager starts the service
// elsewhere (C:\Windows\System32).
func parseServiceArgs(args []string, stderr io.Writer) (serviceOptions, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return serviceOptions{}, errors.New("missing action: install, uninstall, start, stop, reload or status")
	}
	o := serviceOptions{Action: args[0]}
	fs := flag.NewFlagSet("service "+o.Action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Name, "name", defaultServiceName, "service name; give each instance its own")
	withConfig := o.Action == actionInstall || o.Action == actionRun
	switch o.Action {
	case actionInstall:
		fs.StringVar(&o.User, "user", "", `account to run as (default NT SERVICE\<name>, a virtual account); DOMAIN\user, a gMSA DOMAIN\name$, or LocalSystem`)
		fs.StringVar(&o.Password, "password", "", "password of -user (not for virtual accounts, gMSAs or LocalSystem)")
		fallthrough
	case actionRun:
		fs.StringVar(&o.Config, "config", "", "configuration file (required)")
		fs.StringVar(&o.LogFile, "log-file", "", "append the log to this file instead of the Windows event log")
	case actionUninstall, actionStart, actionStop, actionReload, actionStatus:
	default:
		return serviceOptions{}, fmt.Errorf("unknown action %q: use install, uninstall, start, stop, reload or status", o.Action)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return serviceOptions{}, err
	}
	if fs.NArg() > 0 {
		return serviceOptions{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !serviceNamePattern.MatchString(o.Name) {
		return serviceOptions{}, fmt.Errorf("-name %q: use letters, digits, '.', '_' and '-' only (at most 80)", o.Name)
	}
	if withConfig && o.Config == "" {
		return serviceOptions{}, errors.New("-config is required")
	}
	if o.Password != "" && o.User == "" {
		return serviceOptions{}, errors.New("-password needs -user")
	}
	for _, p := range []*string{&o.Config, &o.LogFile} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return serviceOptions{}, fmt.Errorf("%s: %w", *p, err)
		}
		*p = abs
	}
	if o.Action == actionInstall && o.User == "" {
		o.User = virtualAccount(o.Name)
	}
	return o, nil
}

// virtualAccount is the service's own virtual account: it needs no
// password, has no rights beyond what is granted to it, and can be given
// read access to the certificate folder by name.
func virtualAccount(name string) string { return `NT SERVICE\` + name }

// serviceConfig is what gets registered with the service manager: the
// executable (exe) started with `service run` and the absolute paths, so the
// service finds its files whatever its working directory.
func serviceConfig(o serviceOptions, exe string) *service.Config {
	args := []string{"service", actionRun, "-name", o.Name, "-config", o.Config}
	if o.LogFile != "" {
		args = append(args, "-log-file", o.LogFile)
	}
	display := "qlikgate"
	if o.Name != defaultServiceName {
		display += " (" + o.Name + ")"
	}
	opts := service.KeyValue{
		// After the boot rush: Qlik's own services start first, and users
		// cannot sign in before those run anyway.
		"DelayedAutoStart": true,
		"StartType":        "automatic",
		// A crash or a start that fails (a port taken, an expired
		// certificate) is retried every 10 s; the event log says why.
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "10s",
		"OnFailureResetPeriod":   86400,
	}
	if o.Password != "" {
		opts["Password"] = o.Password
	}
	user := o.User
	if strings.EqualFold(user, localSystem) {
		user = "" // the service manager's spelling of LocalSystem
	}
	return &service.Config{
		Name:        o.Name,
		DisplayName: display,
		Description: "Login page for Qlik Sense, QlikView and Qlik Cloud. Configuration: " + o.Config,
		UserName:    user,
		Executable:  exe,
		Arguments:   args,
		// The TCP/IP driver: qlikgate listens as soon as it starts.
		Dependencies: []string{"Tcpip"},
		Option:       opts,
	}
}

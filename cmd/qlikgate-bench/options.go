package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// errHelp is returned for -h: usage was printed, nothing is wrong.
var errHelp = errors.New("help requested")

// Flow names.
const (
	flowStatic = "static" // full login, static provider
	flowLDAP   = "ldap"   // full login, LDAP provider
	flowSSO    = "sso"    // hand-off for a browser that already has a qlikgate session
	flowLogin  = "login"  // -url mode: full login with -user/-password
)

// options are the command-line flags.
type options struct {
	users    int
	duration time.Duration
	requests int     // total flows per flow kind; 0 means run for duration
	rate     float64 // flows per second to offer; 0 means as fast as the users go
	warmup   time.Duration
	flows    []string

	compare         bool
	compareDuration time.Duration
	floorRounds     int
	floorPhase      time.Duration

	argon2Time time.Duration // how long to measure the argon2id hash rate; 0 skips it

	slapd     string // auto | require | off
	pki       string // rsa | ecdsa
	ticketTTL time.Duration
	logLevel  string
	gogc      string // GOGC of the qlikgate child; empty: the tool's environment
	pin       int    // CPUs of qlikgate's own (Linux); 0: shared

	qlikgateBin string // a prebuilt qlikgate; empty builds ./cmd/qlikgate
	jsonFile    string
	cpuProfile  string
	profileFlow string

	// -url mode: a qlikgate someone else runs.
	url      string
	user     string
	password string
	provider string
	pid      int

	// The totp flow (totpflow.go).
	mfaStore     string // sqlite | postgres
	totpAccounts int
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("qlikgate-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `qlikgate-bench — measure qlikgate's logins per second

Starts qliksim, slapd (when installed) and the real qlikgate binary, drives virtual
users through whole login flows and prints a table (and -json FILE).

Flags:
`)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.users, "users", 8, "concurrent virtual users (browsers) per flow")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per flow")
	fs.IntVar(&o.requests, "requests", 0, "flows to complete per flow kind instead of -duration (0: use -duration)")
	fs.Float64Var(&o.rate, "rate", 0, "offer this many flows per second per flow kind, latency counted from each flow's scheduled start (0: closed loop, every user as fast as it can)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up per flow (connections, caches, GC)")
	flows := fs.String("flows", "static,ldap,sso", "flows to run: static, ldap, sso, oidc, totp (with -url: login, sso)")
	fs.BoolVar(&o.compare, "compare", true, "also run the pooled-vs-naive comparison (sso and ldap)")
	fs.DurationVar(&o.compareDuration, "compare-duration", 0, "measured time per comparison run (0: half of -duration)")
	fs.IntVar(&o.floorRounds, "floor-rounds", 1, "sso comparison: more than one interleaves pooled, floor and wire in phases of -floor-phase over -compare-duration, split into this many rounds, and reports the median round's share of the floor (for a machine other work shares)")
	fs.DurationVar(&o.floorPhase, "floor-phase", 200*time.Millisecond, "with -floor-rounds: how long one variant runs before the next takes its turn")
	fs.DurationVar(&o.argon2Time, "argon2-time", 2*time.Second, "how long to measure the argon2id hash rate beside the static flow (0: skip)")
	fs.StringVar(&o.slapd, "slapd", "auto", "LDAP directory: auto (start slapd when installed), require, off")
	fs.StringVar(&o.pki, "pki", "rsa", "key type of the simulated Sense site: rsa (2048, like a QMC export) or ecdsa")
	fs.DurationVar(&o.ticketTTL, "ticket-ttl", time.Minute, "qliksim ticket lifetime (Qlik: one minute)")
	fs.StringVar(&o.logLevel, "log-level", "info", "qlikgate's log.level (info is the default a deployment runs with)")
	fs.IntVar(&o.pin, "pin", 0, "Linux: run qlikgate on this many CPUs of its own (the last ones) and this tool with slapd on the others, to measure qlikgate on dedicated cores (needs -compare=false; 0: everything shares every CPU)")
	fs.StringVar(&o.gogc, "gogc", "", "GOGC for the qlikgate process only, to measure the garbage collector's share (empty: this tool's environment)")
	fs.StringVar(&o.qlikgateBin, "qlikgate", "", "use this qlikgate binary instead of building ./cmd/qlikgate")
	fs.StringVar(&o.jsonFile, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the qlikgate process during -profile-flow to this file")
	fs.StringVar(&o.profileFlow, "profile-flow", flowSSO, "the flow -cpuprofile covers")
	fs.StringVar(&o.mfaStore, "mfa-store", "sqlite", "totp flow: where the enrolments live: sqlite (a file) or postgres (a throwaway cluster the tool starts with the installed PostgreSQL)")
	fs.IntVar(&o.totpAccounts, "totp-accounts", 4000, "totp flow: accounts enrolled before the run; a code is accepted once per account and 30 s step, so the users rotate through them (flows/s × 30 s must stay below this)")
	fs.StringVar(&o.url, "url", "", "measure a running qlikgate at this entry URL instead of starting one (needs -user and -password)")
	fs.StringVar(&o.user, "user", "", "-url mode: username every virtual user signs in with")
	fs.StringVar(&o.password, "password", "", "-url mode: its password")
	fs.StringVar(&o.provider, "provider", "", "-url mode: provider id to sign in with (empty: the form's default)")
	fs.IntVar(&o.pid, "pid", 0, "-url mode: process id of that qlikgate, to report its peak RSS")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range strings.Split(*flows, ",") {
		if f = strings.TrimSpace(f); f != "" {
			o.flows = append(o.flows, f)
		}
	}
	if o.compareDuration == 0 {
		o.compareDuration = o.duration / 2
	}
	return o, o.validate()
}

func (o options) validate() error {
	var errs []error
	if o.users < 1 || o.users > 1000 {
		errs = append(errs, fmt.Errorf("-users: %d must be between 1 and 1000", o.users))
	}
	if o.requests < 0 {
		errs = append(errs, fmt.Errorf("-requests: %d must not be negative", o.requests))
	}
	if o.requests == 0 && o.duration <= 0 {
		errs = append(errs, errors.New("-duration: must be positive (or set -requests)"))
	}
	if o.rate < 0 {
		errs = append(errs, errors.New("-rate: must not be negative"))
	}
	if o.warmup < 0 {
		errs = append(errs, errors.New("-warmup: must not be negative"))
	}
	if o.floorRounds < 1 || o.floorRounds > 50 {
		errs = append(errs, fmt.Errorf("-floor-rounds: %d must be between 1 and 50", o.floorRounds))
	}
	if o.floorRounds > 1 && (o.rate > 0 || o.requests > 0) {
		errs = append(errs, errors.New("-floor-rounds: the interleaved rounds run closed-loop phases of a set time; not with -rate or -requests"))
	}
	if o.floorPhase < 20*time.Millisecond || o.floorPhase > 10*time.Second {
		errs = append(errs, fmt.Errorf("-floor-phase: %s must be between 20ms and 10s", o.floorPhase))
	}
	known := []string{flowStatic, flowLDAP, flowSSO, flowOIDC, flowTOTP}
	known = append(known, kerberosFlows...) // kerberos.go: the Windows sign-in flows on the Samba AD DC
	if o.url != "" {
		known = []string{flowLogin, flowSSO}
		if o.user == "" || o.password == "" {
			errs = append(errs, errors.New("-url: set -user and -password (an account every virtual user signs in with)"))
		}
		if o.cpuProfile != "" {
			errs = append(errs, errors.New("-cpuprofile: only when the tool starts qlikgate itself (not with -url)"))
		}
	}
	if len(o.flows) == 0 {
		errs = append(errs, errors.New("-flows: name at least one flow"))
	}
	for _, f := range o.flows {
		if !slices.Contains(known, f) {
			errs = append(errs, fmt.Errorf("-flows: unknown flow %q (known: %s)", f, strings.Join(known, ", ")))
		}
	}
	errs = append(errs, o.validateTOTP()...)
	if !slices.Contains([]string{"auto", "require", "off"}, o.slapd) {
		errs = append(errs, fmt.Errorf("-slapd: %q is not auto, require or off", o.slapd))
	}
	if o.pki != "rsa" && o.pki != "ecdsa" {
		errs = append(errs, fmt.Errorf("-pki: %q is not rsa or ecdsa", o.pki))
	}
	if o.ticketTTL < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("-ticket-ttl: %v is too short for a ticket to reach the hub", o.ticketTTL))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, o.logLevel) {
		errs = append(errs, fmt.Errorf("-log-level: %q is not debug, info, warn or error", o.logLevel))
	}
	if o.gogc != "" {
		if n, err := strconv.Atoi(o.gogc); o.gogc != "off" && (err != nil || n < 1) {
			errs = append(errs, fmt.Errorf("-gogc: %q is not a positive percentage or off", o.gogc))
		}
		if o.url != "" {
			errs = append(errs, errors.New("-gogc: only when the tool starts qlikgate itself (not with -url)"))
		}
	}
	if o.pin < 0 {
		errs = append(errs, errors.New("-pin: must not be negative"))
	}
	if o.pin > 0 && (o.url != "" || o.compare) {
		errs = append(errs, errors.New("-pin: only when the tool starts qlikgate itself, and with -compare=false (the in-process comparison would share the tool's CPUs)"))
	}
	if o.cpuProfile != "" && !slices.Contains(o.flows, o.profileFlow) {
		errs = append(errs, fmt.Errorf("-profile-flow: %q is not among -flows", o.profileFlow))
	}
	return errors.Join(errs...)
}

// window describes how long, or how many flows, one run measures.
type window struct {
	users    int
	rate     float64 // 0: closed loop
	warmup   time.Duration
	duration time.Duration
	requests int
}

func (o options) mainWindow() window {
	return window{users: o.users, rate: o.rate, warmup: o.warmup, duration: o.duration, requests: o.requests}
}

func (o options) compareWindow() window {
	w := window{users: o.users, rate: o.rate, warmup: o.warmup / 2, duration: o.compareDuration}
	if o.requests > 0 {
		w.requests = max(1, o.requests/2)
	}
	return w
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/web"
)

// bench runs everything the options ask for and returns the report, which
// holds whatever was measured even when an error stopped the run.
func bench(ctx context.Context, o options, logw io.Writer) (*report, error) {
	began := time.Now()
	progress := func(format string, args ...any) { fmt.Fprintf(logw, "qlikgate-bench: "+format+"\n", args...) }
	rep := &report{Date: today(), Machine: currentMachine()}
	var err error
	if o.url != "" {
		err = benchURL(ctx, o, rep, progress)
	} else {
		err = benchLocal(ctx, o, rep, progress)
	}
	rep.Setup.Seconds = time.Since(began).Round(100 * time.Millisecond).Seconds()
	rep.noteBusyRuns()
	rep.notePinned(rep.Machine.CPUs)
	return rep, err
}

// benchLocal starts Qlik, the directory and qlikgate, then measures.
func benchLocal(ctx context.Context, o options, rep *report, progress func(string, ...any)) error {
	dir, err := os.MkdirTemp("", "qlikgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rep.Setup = localSetup(o)
	if slices.Contains(o.flows, flowStatic) && o.argon2Time > 0 {
		// First, while nothing else runs: the ceiling of static logins.
		progress("measuring argon2id at the static provider's cost")
		if rep.Argon2, err = measureArgon2(ctx, o.argon2Time); err != nil {
			return err
		}
	}
	var pin *pinning
	if o.pin > 0 {
		// After the hash rate, which wants the whole machine; before
		// slapd, which inherits the tool's CPUs.
		if pin, err = pinTool(o.pin); err != nil {
			return err
		}
		defer func() { _ = pin.release() }()
		rep.Setup.Pinning, rep.Setup.Pinned = pin.describe(), o.pin
	}
	users := accounts(o.users)
	hash, err := static.HashPassword(benchPassword, static.DefaultArgon2)
	if err != nil {
		return fmt.Errorf("hashing the virtual users' password: %w", err)
	}
	svc, err := startServices(o, dir, users, rep, progress)
	if err != nil {
		return err
	}
	defer svc.close()
	var totp *totpSetup
	if slices.Contains(o.flows, flowTOTP) {
		if totp, err = prepareTOTP(ctx, o, dir, progress); err != nil {
			return err
		}
		defer totp.close()
		rep.Setup.MFAStore = totp.describe()
	}
	mod, err := prepareModule(ctx, o, dir, svc.site, svc.dir, users, hash, progress, totp)
	if err != nil {
		return err
	}
	mod.pin = pin
	e := entrance{start: svc.site.hubURL(), hubShowsUser: true}
	for _, flow := range o.flows {
		if (flow == flowLDAP && svc.dir == nil) || isKerberosFlow(flow) {
			continue
		}
		progress("flow %s: %d virtual users, %s", flow, o.users, span(o.mainWindow()))
		r, prof, err := measureChildFlow(ctx, o, flow, e, mod, svc.site, svc.dir, users)
		if err != nil {
			return err
		}
		rep.Flows = append(rep.Flows, r)
		if prof != nil {
			rep.Profile = prof
		}
	}
	if err := benchKerberos(ctx, o, rep, dir, mod.bin, svc.site, progress); err != nil {
		return err
	}
	if !o.compare {
		return nil
	}
	parts := moduleParts{site: svc.site, dir: svc.dir, users: users, hash: hash,
		logFile: filepath.Join(dir, "inprocess.log"), logLevel: o.logLevel}
	rep.Comparison, err = compareFlows(ctx, o, parts, progress)
	return err
}

// preparedModule is a qlikgate binary with its configuration, ready to be
// started once per flow.
type preparedModule struct {
	bin, config, publicURL, logFile string
	pin                             *pinning // -pin: where qlikgate runs
	dir                             string
	mc                              moduleConfig
	totp                            *totpSetup // the totp flow's accounts; nil without it
}

// bind gives the configuration a free loopback port and writes it.
func (pm *preparedModule) bind(mc moduleConfig) error {
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	mc.Listen, mc.PublicURL = listen, "http://"+listen+"/"
	config, err := writeModuleConfig(pm.dir, mc)
	if err != nil {
		return err
	}
	pm.mc, pm.config, pm.publicURL = mc, config, mc.PublicURL
	return nil
}

// startAttempts bounds the retries of a qlikgate whose port was taken.
const startAttempts = 3

// start starts qlikgate. Between finding a free port and qlikgate
// listening on it, another process may take the port (a busy machine
// makes outgoing connections from the same range), so a start that fails
// for that reason is tried again on another port.
func (pm *preparedModule) start(ctx context.Context, o options, pprofAddr string) (*childModule, error) {
	for attempt := 1; ; attempt++ {
		child, err := startChild(ctx, pm.bin, pm.config, pm.publicURL, pm.logFile, pprofAddr, o.gogc, pm.pin)
		if err == nil || attempt == startAttempts || !errors.Is(err, errPortTaken) {
			return child, err
		}
		if err := pm.bind(pm.mc); err != nil {
			return nil, err
		}
	}
}

// prepareModule writes qlikgate's configuration and builds (or takes) the
// binary.
func prepareModule(ctx context.Context, o options, dir string, site *senseSite, d *directory, users []account, hash string, progress func(string, ...any), totp *totpSetup) (preparedModule, error) {
	pm := preparedModule{dir: dir, logFile: filepath.Join(dir, "qlikgate.log"), bin: o.qlikgateBin, totp: totp}
	mc := moduleConfig{
		LogLevel: o.logLevel, Users: users, PasswordHash: hash,
		Sense: senseSettings{
			ProxyRestURI: site.proxyRestURI(), HubURL: site.hubURL(),
			ClientCert: site.files.ClientCert, ClientKey: site.files.ClientKey, Root: site.files.Root,
		},
	}
	if d != nil {
		lc := ldapConfig(d)
		mc.LDAP = &ldapSettings{URL: lc.URLs[0], CAFile: lc.CAFile, BindDN: lc.BindDN, BindPassword: lc.BindPassword,
			UserBase: lc.UserBase, GroupBase: lc.GroupBase}
	}
	if totp != nil {
		mc.ExtraProviders, mc.Extra = totp.providerYAML(hash), totp.mfaYAML()
	}
	if err := pm.bind(mc); err != nil {
		return preparedModule{}, err
	}
	if pm.bin == "" {
		var err error
		progress("building qlikgate")
		if pm.bin, err = buildModule(ctx, dir, o.cpuProfile != ""); err != nil {
			return preparedModule{}, err
		}
	}
	return pm, nil
}

// measureChildFlow starts `qlikgate serve` afresh, so that each flow gets
// its own peak RSS and opens its own QPS connections, and measures one
// flow against it.
func measureChildFlow(ctx context.Context, o options, flow string, e entrance, pm preparedModule, site *senseSite, d *directory, users []account) (flowResult, *profileSummary, error) {
	profiling := o.cpuProfile != "" && flow == o.profileFlow
	var pprofAddr string
	if profiling {
		var err error
		if pprofAddr, err = freeAddr(); err != nil {
			return flowResult{}, nil, err
		}
	}
	child, err := pm.start(ctx, o, pprofAddr)
	if err != nil {
		return flowResult{}, nil, err
	}
	defer child.stop()
	pids := toolPIDs(d)
	pids["qlikgate"] = child.pid()
	t := runTarget{label: "qlikgate serve (child process)", publicURL: pm.publicURL, pids: pids, rssPID: child.pid()}
	e.moduleURL = pm.publicURL
	w := o.mainWindow()
	var prof *profiler
	var onMeasure func()
	if profiling {
		onMeasure = func() { prof = startProfile(ctx, pprofAddr, w.duration) }
	}
	spec := flowFor(flow, e, users, d != nil)
	if flow == flowTOTP {
		spec = totpFlow(e, pm.totp)
	}
	r, err := measureFlow(ctx, flow, spec, w, site, t, onMeasure)
	if err != nil {
		return flowResult{}, nil, err
	}
	if err := child.alive(); err != nil {
		return flowResult{}, nil, err
	}
	gogc, err := child.gogc(ctx)
	if err != nil {
		return flowResult{}, nil, err
	}
	r.GOGC = &gogc
	if n, err := moduleAffinity(child.pid()); err == nil {
		r.CPUs = n
	}
	var sum *profileSummary
	if prof != nil {
		if sum, err = prof.finish(ctx, flow, o.cpuProfile); err != nil {
			return r, nil, err
		}
	}
	return r, sum, nil
}

// localSetup describes what benchLocal measures.
func localSetup(o options) setup {
	sec := web.DefaultSecurity()
	return setup{
		Module: fmt.Sprintf("`qlikgate serve -config …` as a child process, built from ./cmd/qlikgate%s; log.level %s (text, to a file); "+
			"providers static (argon2id, static.DefaultArgon2) and ldap; target sense-ticket", gogcNote(o.gogc), o.logLevel),
		Qlik: fmt.Sprintf("qliksim Sense virtual proxy in the tool's process (%s certificates, ticket TTL %s), started afresh for every run",
			keyName(o.pki), o.ticketTTL),
		Users: o.users, Rate: o.rate, Duration: o.duration.String(), Requests: o.requests, Warmup: o.warmup.String(), LogLevel: o.logLevel,
		TicketTTL: o.ticketTTL.String(),
		Security: fmt.Sprintf("defaults (max_attempts %d, ip_max_attempts %d, lockout %s, failure_delay %s); one account per virtual user, "+
			"only successful logins, so the throttle and the failure floor never engage", sec.MaxAttempts, sec.IPMaxAttempts, sec.Lockout, sec.FailureDelay),
	}
}

// gogcNote names a GOGC the tool gave qlikgate, or the one it inherited.
func gogcNote(gogc string) string {
	switch {
	case gogc != "":
		return ", GOGC=" + gogc
	case os.Getenv("GOGC") != "":
		return ", GOGC=" + os.Getenv("GOGC") + " (inherited)"
	}
	return ""
}

func keyName(pki string) string {
	if pki == "rsa" {
		return "RSA 2048"
	}
	return "ECDSA P-256"
}

func span(w window) string {
	s := fmt.Sprintf("%s after %s warm-up", w.duration, w.warmup)
	if w.requests > 0 {
		s = fmt.Sprintf("%d flows after %s warm-up", w.requests, w.warmup)
	}
	if w.rate > 0 {
		s += fmt.Sprintf(", offered at %.0f/s", w.rate)
	}
	return s
}

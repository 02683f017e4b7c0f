package main

import (
	"context"
	"fmt"
	"net/url"
)

// benchURL measures a qlikgate someone else runs, in front of whatever Qlik
// it is configured for. Every virtual user signs in with -user/-password
// (successful logins do not count towards the throttle). The tool cannot see
// the QPS, so there are no handshake counts, and no peak RSS without -pid.
func benchURL(ctx context.Context, o options, rep *report, progress func(string, ...any)) error {
	u, err := url.Parse(o.url)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url: %q is not an absolute http(s) URL", o.url)
	}
	rep.Setup = setup{
		Module: "a running qlikgate at " + u.Redacted(),
		Qlik:   "whatever that qlikgate is configured for",
		Users:  o.users, Duration: o.duration.String(), Requests: o.requests, Warmup: o.warmup.String(),
		Security: "as configured there; every virtual user signs in as " + o.user + " (successful logins only)",
	}
	e := entrance{start: o.url, moduleURL: u.Scheme + "://" + u.Host + "/"}
	who := func(int) signIn {
		return signIn{provider: o.provider, account: account{name: o.user, password: o.password}}
	}
	for _, flow := range o.flows {
		spec := loginFlow(flow, e, who)
		if flow == flowSSO {
			spec = ssoFlow(e, who)
		}
		progress("flow %s: %d virtual users, %s", flow, o.users, span(o.mainWindow()))
		if o.pid > 0 {
			if err := resetPeakRSS(o.pid); err != nil {
				rep.Notes = append(rep.Notes, err.Error())
			}
		}
		m, err := drive(ctx, spec, o.mainWindow(), nil)
		if err != nil {
			return err
		}
		r := newFlowResult(flow, "qlikgate at -url", o.mainWindow(), m)
		if o.pid > 0 {
			if r.PeakRSS, err = peakRSS(o.pid); err != nil {
				rep.Notes = append(rep.Notes, err.Error())
			}
		}
		rep.Flows = append(rep.Flows, r)
	}
	return nil
}

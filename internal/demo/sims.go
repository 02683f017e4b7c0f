package demo

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/qlikgate/qlikgate/qlik/cloud"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// The Qlik Cloud side of the demo: what the tenant's JWT identity provider
// and web integration would hold, and what qlikgate's `cloud:` block names.
const (
	demoCloudIssuer = "qlikgate-demo"
	demoCloudKeyID  = "demo-1"
	demoWebIntegID  = "demo-web-integration"
	// SessionPrefix is the second Sense virtual proxy's prefix.
	SessionPrefix = "sso"
)

// demoSims are the simulated Qlik products the demo runs, each already
// pointed at qlikgate.
type demoSims struct {
	sense    *qliksim.Sense // default virtual proxy, for the sense-ticket target
	session  *qliksim.Sense // virtual proxy "sso" of the same site, for sense-session
	qlikview *qliksim.QlikView
	cloud    *qliksim.Cloud
	// cloudKey is the PEM private key whose public half the tenant trusts.
	cloudKey []byte
	// oidcKey signs qlikgate's ID tokens for the tenant's interactive
	// identity provider (target cloud, kind cloud-oidc); oidcSecret is the
	// client secret both sides know.
	oidcKey    []byte
	oidcSecret string
	oidcRP     qliksim.CloudOIDC
}

// startDemoSims starts every simulator. On error, those already started
// are stopped.
func startDemoSims(a Addrs, publicURL string, log *slog.Logger) (_ *demoSims, err error) {
	s := &demoSims{} // not the named result: an error return sets that to nil
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	logf := func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) } // already prefixed "qliksim:"
	pub, err := url.Parse(publicURL)
	if err != nil {
		return nil, fmt.Errorf("qlikgate's address %q: %w", publicURL, err)
	}

	s.sense, err = qliksim.NewSense(qliksim.SenseOptions{
		ModuleURL: publicURL, // the default target
		HubAddr:   freeOr(a.Hub),
		QPSAddr:   freeOr(a.QPS),
		Logf:      logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the Qlik Sense simulator: %w", err)
	}
	// A second virtual proxy of the same site shares its certificates, as
	// on a real site, so qlikgate's one client certificate works for both.
	s.session, err = qliksim.NewSense(qliksim.SenseOptions{
		Prefix:    SessionPrefix,
		ModuleURL: publicURL + "t/sense-session/",
		HubAddr:   freeOr(a.SessionHub),
		QPSAddr:   freeOr(a.SessionQPS),
		PKI:       s.sense.PKI(),
		Logf:      logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the second Qlik Sense virtual proxy: %w", err)
	}

	// QlikView trusts GetWebTicket calls from 127.0.0.1 (config.xml's
	// <TrustedIP>) and may send browsers back to qlikgate (SafeForwardList).
	s.qlikview, err = qliksim.NewQlikView(qliksim.QlikViewOptions{
		Addr:             freeOr(a.QlikView),
		TrustedIPs:       []string{"127.0.0.1"},
		SafeForwardHosts: []string{pub.Host},
		LoginURL:         publicURL + "t/qv/",
		Logf:             logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the QlikView simulator: %w", err)
	}

	// RS256, what Qlik's JWT guide asks for (and so no start-up warning);
	// a fresh key each run, as `qlikgate keygen` would make.
	priv, pubPEM, err := cloud.GenerateKey(cloud.RS256)
	if err != nil {
		return nil, err
	}
	s.cloudKey = priv
	if s.oidcKey, _, err = cloud.GenerateKey(cloud.RS256); err != nil {
		return nil, err
	}
	s.oidcSecret = rand.Text() + rand.Text()
	s.cloud, err = qliksim.NewCloud(qliksim.CloudOptions{
		IdPs:             []qliksim.CloudIdP{{Issuer: demoCloudIssuer, KeyID: demoCloudKeyID, PEM: pubPEM}},
		WebIntegrationID: demoWebIntegID,
		ValidOrigins:     []string{strings.TrimSuffix(publicURL, "/")},
		LoginURL:         publicURL + "t/cloud/",
		Addr:             freeOr(a.Cloud),
		Logf:             logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the Qlik Cloud tenant simulator: %w", err)
	}
	// The tenant's interactive identity provider is qlikgate (cloud-oidc):
	// a top-level redirect each way, so no browser setting matters. Over
	// -https the tenant trusts the system's roots plus the demo's own
	// certificate, which connectOIDC adds once it exists.
	s.oidcRP = qliksim.CloudOIDC{Issuer: publicURL + "t/cloud", ClientID: demoOIDCClientID,
		ClientSecret: s.oidcSecret, InsecureLoopback: true, PostLogoutRedirectURI: s.cloud.URL() + "/"}
	if err := s.cloud.SetOIDC(s.oidcRP); err != nil {
		return nil, fmt.Errorf("configuring the Qlik Cloud tenant's identity provider: %w", err)
	}
	return s, nil
}

// Close stops every simulator that was started.
func (s *demoSims) Close() {
	if s.cloud != nil {
		s.cloud.Close()
	}
	if s.qlikview != nil {
		s.qlikview.Close()
	}
	if s.session != nil {
		s.session.Close()
	}
	if s.sense != nil {
		s.sense.Close()
	}
}

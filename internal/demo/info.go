package demo

import "strings"

// demoTarget is one simulated Qlik product as the index page and the
// banner present it.
type demoTarget struct {
	ID      string // qlikgate's target id (/t/{id}/), also the index page's element id
	Product string
	URL     string // what to open in the browser
	Expect  string // what happens, in one line
	Before  string // what to do first, if anything
}

// demoInfo is what the index page and the banner show.
type demoInfo struct {
	ModuleURL  string // qlikgate, with a trailing slash
	ModuleNote string // what to do about qlikgate's certificate, if anything
	IndexURL   string
	Targets    []demoTarget
	Users      []demoUser
}

func newDemoInfo(s *demoSims, moduleURL, indexURL string, https bool, users []demoUser) demoInfo {
	var note string
	if https {
		note = "qlikgate's certificate is self-signed: open " + moduleURL + " once and accept the browser's warning " +
			"(Chrome: Advanced, then Proceed to 127.0.0.1)."
	}
	return demoInfo{
		ModuleURL:  moduleURL,
		ModuleNote: note,
		IndexURL:   indexURL,
		Users:      users,
		Targets: []demoTarget{
			{
				ID:      "sense",
				Product: "Qlik Sense hub (ticket API)",
				URL:     s.sense.HubURL(),
				Expect: "The proxy sends you to qlikgate; after you sign in, qlikgate gets a one-time ticket from the QPS " +
					"over mutual TLS and the hub shows CORP\\alice with Group=Sales and Group=EU.",
			},
			{
				ID:      "sense-session",
				Product: "Qlik Sense hub (session API, virtual proxy " + SessionPrefix + ")",
				URL:     s.session.HubURL(),
				Expect: "qlikgate creates the proxy session itself and sets the " + s.session.CookieName() +
					" cookie; already signed in to qlikgate, you pass straight through.",
			},
			{
				ID:      "qv",
				Product: "QlikView AccessPoint",
				URL:     s.qlikview.AccessPointURL(),
				Expect: "AccessPoint sends you to qlikgate, which gets a web ticket from GetWebTicket.aspx " +
					"(127.0.0.1 is the trusted IP); Authenticate.aspx signs you in and AccessPoint shows CORP\\alice and her groups.",
			},
			{
				ID:      "cloud",
				Product: "Qlik Cloud tenant",
				URL:     s.cloud.URL() + "/hub",
				Expect: "The tenant's identity provider is qlikgate (cloud-oidc): it sends you to qlikgate, and after you " +
					"sign in qlikgate sends you back with a code the tenant redeems itself; the tenant hub shows alice and her groups. " +
					"No third-party cookie is involved, so this works in any browser profile. " +
					"The JWT kind stays configured as target cloud-jwt (/t/cloud-jwt/); its hand-off needs the tenant's cookie as a " +
					"first-party cookie, so restart the demo with -https to try it in a browser that blocks third-party cookies.",
				Before: "open " + strings.TrimSuffix(s.cloud.URL(), "/") + "/ once and accept the browser's warning " +
					"(Chrome: Advanced, then Proceed to 127.0.0.1); the tenant uses a certificate from a CA the demo made up.",
			},
		},
	}
}

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
				Expect: "The tenant sends you to qlikgate; after you sign in, qlikgate's page posts a signed JWT to " +
					"/login/jwt-session from your browser and the tenant hub shows alice and her groups.",
				Before: demoCloudCaveat(s.cloud.URL(), https),
			},
		},
	}
}

// demoCloudCaveat says what a real browser needs for the Cloud hand-off,
// as tried with Chromium: the tenant is HTTPS with a certificate from the
// simulator's own CA, and its session cookies are Secure and
// SameSite=None. Browsers compare sites by scheme and host, not port: with
// qlikgate on http the cookie is third-party on the hand-off page, with
// qlikgate on https (-https) it is first-party.
func demoCloudCaveat(tenantURL string, https bool) string {
	accept := "open " + strings.TrimSuffix(tenantURL, "/") + "/ once and accept the browser's warning " +
		"(Chrome: Advanced, then Proceed to 127.0.0.1); the tenant uses a certificate from a CA the demo made up."
	if https {
		return accept + " qlikgate and the tenant are then the same site (the port does not count), " +
			"so the tenant's session cookie is first-party and kept even where third-party cookies are blocked."
	}
	return accept + " Its session cookie (Secure, SameSite=None) is a third-party cookie on qlikgate's http page: " +
		"browsers compare scheme and host, so http and https are two sites even on 127.0.0.1. " +
		"Chromium blocks third-party cookies in a new profile, as Incognito windows do, and then the hand-off ends on " +
		"\"Could not sign you in to Qlik Cloud\". Restart the demo with -https (qlikgate and the tenant are then one site), " +
		"or choose \"Allow third-party cookies\" at chrome://settings/cookies."
}

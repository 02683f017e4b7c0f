// Package qliksim simulates Qlik products the way httptest simulates an HTTP
// server: it starts real listeners on loopback so that qlikgate's clients can
// be tested end to end without a Qlik licence.
//
// The simulators are deliberately strict. Where the real product's behaviour
// is documented they follow it; where it is not, they pick the reading that
// makes a client bug fail loudly (a 4xx with a plain-text reason) rather than
// pass by accident. The rules follow the wire contract in the project's
// qlik-contract notes (§1 for Qlik Sense).
//
// Sense (NewSense) simulates one virtual proxy of a Qlik Sense Enterprise on
// Windows site: the browser-facing proxy ("hub") that redirects anonymous
// users to the authentication module and swaps tickets for session cookies,
// and the QPS REST API (ticket and session calls) behind mutual TLS.
//
// Site (NewSite) is a site with several such nodes (§8.3): one PKI, a ticket
// and session table per node, a browser-facing front that round-robins with
// or without stickiness, and a site-wide count of each user's parallel
// sessions that refuses the sixth with Qlik's text. What Qlik leaves open
// (whether session-API sessions count, whether one SessionId on several
// nodes counts once) are switches: by default session-API sessions count,
// and one SessionId counts once however many nodes hold it.
package qliksim

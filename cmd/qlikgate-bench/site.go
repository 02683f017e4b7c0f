package main

import (
	"fmt"
	"net"
	"time"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// senseSite is a simulated Qlik Sense virtual proxy that can be started
// afresh, on the same addresses and with the same certificates, before each
// measured run. qliksim keeps every ticket until it expires and every
// targetId for ten minutes, and sweeps them on each change; a fresh site per
// run keeps one run's leftovers from slowing the next, and makes its
// counters (tickets, TLS handshakes) belong to that run alone.
type senseSite struct {
	pki       *qliksim.PKI
	files     qliksim.Files
	hubAddr   string
	qpsAddr   string
	ticketTTL time.Duration
	sim       *qliksim.Sense
}

// newSenseSite generates the site's certificates, writes the QMC-style
// export into dir and reserves two loopback ports.
func newSenseSite(dir, keyType string, ticketTTL time.Duration) (*senseSite, error) {
	newPKI := qliksim.NewPKI
	if keyType == "rsa" {
		newPKI = qliksim.NewPKIRSA
	}
	pki, err := newPKI(nil)
	if err != nil {
		return nil, fmt.Errorf("generating the Sense site's certificates: %w", err)
	}
	files, err := pki.WriteFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("writing the Sense site's certificates: %w", err)
	}
	s := &senseSite{pki: pki, files: files, ticketTTL: ticketTTL}
	if s.hubAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.qpsAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	return s, nil
}

// hubURL and proxyRestURI are fixed for the site's lifetime, so qlikgate's
// configuration stays valid across restarts.
//
// The hub is reached by the name localhost and qlikgate by 127.0.0.1: two
// host names, so that the virtual browser keeps their cookies apart, as a
// browser does for qlikgate's and Qlik's hosts in a deployment. On one
// name, whatever the ports, qlikgate's session cookie would travel to the
// hub with every hand-off, and the hub would read it.
func (s *senseSite) hubURL() string {
	_, port, _ := net.SplitHostPort(s.hubAddr) // freeAddr's, well-formed
	return "http://localhost:" + port + "/hub/"
}
func (s *senseSite) proxyRestURI() string { return "https://" + s.qpsAddr + "/qps/" }

// restart stops the running simulator, if any, and starts a fresh one that
// sends anonymous browsers to moduleURL.
func (s *senseSite) restart(moduleURL string) error {
	s.close()
	var err error
	// The old listeners are closed; the ports are free again at once
	// (Go listens with SO_REUSEADDR), but retry briefly for slow kernels.
	for range 20 {
		s.sim, err = qliksim.NewSense(qliksim.SenseOptions{
			ModuleURL: moduleURL,
			HubAddr:   s.hubAddr,
			QPSAddr:   s.qpsAddr,
			PKI:       s.pki,
			TicketTTL: s.ticketTTL,
		})
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("starting the Qlik Sense simulator: %w", err)
}

func (s *senseSite) stats() qliksim.SenseStats {
	if s.sim == nil {
		return qliksim.SenseStats{}
	}
	return s.sim.Stats()
}

func (s *senseSite) close() {
	if s.sim != nil {
		s.sim.Close()
		s.sim = nil
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// sibling is another site with the same certificates (so the same
// qlikgate configuration trusts it) on addresses of its own, for the
// interleaved comparison's lanes. It is not running until restart.
func (s *senseSite) sibling() (*senseSite, error) {
	t := &senseSite{pki: s.pki, files: s.files, ticketTTL: s.ticketTTL}
	var err error
	if t.hubAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	if t.qpsAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	return t, nil
}

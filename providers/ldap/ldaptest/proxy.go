package ldaptest

import (
	"fmt"
	"io"
	"net"
	"sync"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// Mode is how a Proxy treats connections.
type Mode int

const (
	// Forward passes traffic to the server and records it.
	Forward Mode = iota
	// Hang accepts connections and never answers, and stops answering on
	// open connections too (until StartTLS, after which it cannot see
	// requests): a server that is up at the TCP level but stuck.
	Hang
	// Reset drops every open connection and closes new ones at once: a
	// server that was stopped mid-run.
	Reset
)

// Op is one request a client sent.
type Op struct {
	Kind string // bind, search, unbind, starttls, modify, add, delete, other
	// DN is the bind DN of a bind. EmptyPassword tells whether the bind had
	// no password (an unauthenticated bind); passwords are never recorded.
	DN            string
	EmptyPassword bool
}

// Proxy forwards TCP connections to a directory server and records, for
// each client connection, the LDAP requests sent on it. It sees requests
// only in plain LDAP: after StartTLS it records "starttls" and then just
// forwards. It can also play a stuck or stopped server (SetMode).
type Proxy struct {
	Addr string // 127.0.0.1:PORT
	URL  string // ldap://Addr

	target string
	ln     net.Listener

	mu       sync.Mutex
	mode     Mode
	accepted int
	logs     []*[]Op
	open     map[net.Conn]bool
	wg       sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards to target (host:port).
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), URL: "ldap://" + ln.Addr().String(), target: target, ln: ln, open: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// SetMode changes how connections are treated from now on; Reset also drops
// the open ones.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	p.mode = m
	var drop []net.Conn
	if m == Reset {
		for c := range p.open {
			drop = append(drop, c)
		}
	}
	p.mu.Unlock()
	for _, c := range drop {
		c.Close()
	}
}

// Accepted is the number of connections accepted so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Conns returns a copy of the requests recorded on each connection, in the
// order the connections were accepted.
func (p *Proxy) Conns() [][]Op {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]Op, len(p.logs))
	for i, l := range p.logs {
		out[i] = append([]Op(nil), (*l)...)
	}
	return out
}

// ClearLog forgets what was recorded.
func (p *Proxy) ClearLog() {
	p.mu.Lock()
	p.logs, p.accepted = nil, 0
	p.mu.Unlock()
}

// Close stops listening and drops every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.SetMode(Reset)
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		mode := p.mode
		log := new([]Op)
		p.logs = append(p.logs, log)
		p.open[c] = true
		p.mu.Unlock()
		switch mode {
		case Reset:
			p.forget(c)
		case Hang:
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				_, _ = io.Copy(io.Discard, c)
				p.forget(c)
			}()
		default:
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c, log)
			}()
		}
	}
}

func (p *Proxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
}

func (p *Proxy) forward(client net.Conn, log *[]Op) {
	defer p.forget(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		client.Close()
	}()
	for {
		pkt, err := ber.ReadPacket(client)
		if err != nil {
			return
		}
		op := parseOp(pkt)
		p.mu.Lock()
		*log = append(*log, op)
		mode := p.mode
		p.mu.Unlock()
		if mode == Hang {
			continue // a stuck server: the request is never answered
		}
		if _, err := server.Write(pkt.Bytes()); err != nil {
			return
		}
		if op.Kind == "starttls" {
			_, _ = io.Copy(server, client) // TLS from here on: just forward
			return
		}
	}
}

// LDAP application tags of requests (RFC 4511).
const (
	tagBind     = 0
	tagUnbind   = 2
	tagSearch   = 3
	tagModify   = 6
	tagAdd      = 8
	tagDelete   = 10
	tagExtended = 23
	oidStartTLS = "1.3.6.1.4.1.1466.20037"
)

func parseOp(pkt *ber.Packet) Op {
	if len(pkt.Children) < 2 {
		return Op{Kind: "other"}
	}
	req := pkt.Children[1]
	switch req.Tag {
	case tagBind:
		op := Op{Kind: "bind"}
		if len(req.Children) >= 3 {
			op.DN = req.Children[1].Data.String()
			op.EmptyPassword = req.Children[2].Data.Len() == 0
		}
		return op
	case tagUnbind:
		return Op{Kind: "unbind"}
	case tagSearch:
		return Op{Kind: "search"}
	case tagModify:
		return Op{Kind: "modify"}
	case tagAdd:
		return Op{Kind: "add"}
	case tagDelete:
		return Op{Kind: "delete"}
	case tagExtended:
		if len(req.Children) > 0 && req.Children[0].Data.String() == oidStartTLS {
			return Op{Kind: "starttls"}
		}
	}
	return Op{Kind: "other"}
}

package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// demoUser is a user of the demo's static provider.
type demoUser struct {
	Name, Password, FullName, Email string
	Groups                          []string
	Hash                            string
}

// runDemo starts a simulated Qlik Sense site and qlikgate wired to it. The
// configuration it writes goes through the same loader as `serve`, so the
// demo exercises the real start-up path.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "qlikgate address (a free port is used if taken)")
	hub := fs.String("hub", "127.0.0.1:8081", "simulated Qlik Sense proxy (hub) address")
	qps := fs.String("qps", "127.0.0.1:4243", "simulated QPS REST API address")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ln, err := listenOrFree(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitFail
	}
	defer ln.Close()
	publicURL := "http://" + ln.Addr().String() + "/"

	sim, err := qliksim.NewSense(qliksim.SenseOptions{
		ModuleURL: publicURL,
		HubAddr:   freeOr(*hub),
		QPSAddr:   freeOr(*qps),
		Logf:      func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) }, // already prefixed "qliksim:"
	})
	if err != nil {
		fmt.Fprintf(stderr, "demo: starting the Qlik Sense simulator: %v\n", err)
		return exitFail
	}
	defer sim.Close()

	dir, err := os.MkdirTemp("", "qlikgate-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	cfgPath, users, err := writeDemoConfig(dir, sim, ln.Addr().String(), publicURL)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitFail
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		printConfigError(stderr, cfgPath, err)
		return exitFail
	}
	srv, closeAll, err := build(ctx, cfg, log)
	if err != nil {
		printConfigError(stderr, cfgPath, err)
		return exitFail
	}
	defer closeAll()
	printDemoBanner(stdout, sim, publicURL, users)
	return serve(ctx, srv, ln, cfg, log)
}

// listenOrFree listens on addr, or on a free port of the same host if addr
// is taken.
func listenOrFree(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, err
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// freeOr returns addr if it can be listened on now, else a free port on its
// host. (The simulator listens right after; a race here only costs a retry.)
func freeOr(addr string) string {
	ln, err := listenOrFree(addr)
	if err != nil {
		return addr
	}
	defer ln.Close()
	return ln.Addr().String()
}

var demoConfig = template.Must(template.New("config").Funcs(template.FuncMap{"base": filepath.Base}).Parse(`# Written by "qlikgate demo"; deleted when it stops. Values are single-quoted
# YAML (no escapes); file names are relative to this file.
server:
  listen: '{{.Listen}}'
  public_url: '{{.PublicURL}}'
session:
  secret: '{{.Secret}}'
ui:
  title: "qlikgate demo"
providers:
  - id: demo
    kind: static
    label: "Demo users"
    directory: CORP
    static:
      users:
{{- range .Users}}
        - username: '{{.Name}}'
          password_hash: '{{.Hash}}'
          name: '{{.FullName}}'
          email: '{{.Email}}'
          groups: [{{range $i, $g := .Groups}}{{if $i}}, {{end}}'{{$g}}'{{end}}]
{{- end}}
targets:
  - id: sense
    kind: sense-ticket
    default: true
    sense:
      proxy_rest_uri: '{{.ProxyRestURI}}'
      client_cert_file: '{{base .Files.ClientCert}}'
      client_key_file: '{{base .Files.ClientKey}}'
      root_ca_file: '{{base .Files.Root}}'
      hub_url: '{{.HubURL}}'
`))

func writeDemoConfig(dir string, sim *qliksim.Sense, listen, publicURL string) (string, []demoUser, error) {
	files, err := sim.PKI().WriteFiles(dir)
	if err != nil {
		return "", nil, err
	}
	users := []demoUser{
		{Name: "alice", Password: "alice", FullName: "Alice Example", Email: "alice@example.org", Groups: []string{"Sales", "EU"}},
		{Name: "bob", Password: "bob", FullName: "Bob Example", Email: "bob@example.org"},
	}
	for i := range users {
		if users[i].Hash, err = static.HashPassword(users[i].Password, static.DefaultArgon2); err != nil {
			return "", nil, err
		}
	}
	path := filepath.Join(dir, "config.yaml")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", nil, err
	}
	err = demoConfig.Execute(f, map[string]any{
		"Listen": listen, "PublicURL": publicURL, "Secret": rand.Text() + rand.Text(),
		"Users": users, "Files": files, "ProxyRestURI": sim.ProxyRestURI(), "HubURL": sim.HubURL(),
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return path, users, err
}

func printDemoBanner(w io.Writer, sim *qliksim.Sense, publicURL string, users []demoUser) {
	fmt.Fprintf(w, `
qlikgate demo is running.

  Simulated Qlik Sense hub:   %s
  qlikgate login page:        %s
  Simulated QPS (mutual TLS): %s

Open the hub in a browser. The simulated Qlik proxy sends you to qlikgate's
login page; sign in and you land back on the hub, which shows who Qlik
thinks you are and the attributes qlikgate sent:

`, sim.HubURL(), publicURL, sim.ProxyRestURI())
	for _, u := range users {
		groups := "no groups"
		if len(u.Groups) > 0 {
			groups = "groups " + strings.Join(u.Groups, ", ")
		}
		fmt.Fprintf(w, "  %-6s password %-6s %-20s -> the hub says CORP\\%s\n", u.Name, u.Password, groups, u.Name)
	}
	fmt.Fprintf(w, `
A wrong password shows an error on the login page. Sign out at %slogout.
Press Ctrl-C to stop.

`, publicURL)
}

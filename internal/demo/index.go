package demo

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The index is served by the demo on its own port, not by qlikgate: it is
// part of the simulated world (a list of bookmarks), and qlikgate's routes
// stay exactly those of `serve`.
var demoIndexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>qlikgate demo</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d2b36; }
h1 { color: #006580; }
li { margin-bottom: 1rem; }
.before { background: #fff4d6; padding: .25rem .5rem; }
code { background: #eef3f5; padding: 0 .25rem; }
table { border-collapse: collapse; } td, th { padding: .1rem .75rem .1rem 0; text-align: left; }
</style></head>
<body>
<h1>qlikgate demo</h1>
<p>qlikgate runs at <a id="module" href="{{.ModuleURL}}">{{.ModuleURL}}</a>. Each link below is a simulated Qlik
product that sends you there to sign in. Sign in once and every other product lets you straight in
(single sign-on) until you <a id="logout" href="{{.ModuleURL}}logout">sign out</a>.</p>
{{- with .ModuleNote}}
<p class="before">{{.}}</p>
{{- end}}
<table>
<tr><th>User</th><th>Password</th><th>Groups</th></tr>
{{- range .Users}}
<tr><td><code>{{.Name}}</code></td><td><code>{{.Password}}</code></td><td>{{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{else}}none{{end}}</td></tr>
{{- end}}
</table>
<p>Every user is in the directory <code>CORP</code>; a wrong password shows an error on the login page.</p>
<ul>
{{- range .Targets}}
<li id="target-{{.ID}}"><a href="{{.URL}}">{{.Product}}</a> — target <code>{{.ID}}</code><br>
{{.Expect}}
{{- if .Before}}<br><span class="before">Before you start: {{.Before}}</span>{{end}}</li>
{{- end}}
</ul>
<p>Press Ctrl-C where the demo runs to stop everything.</p>
</body></html>
`))

// serveDemoIndex serves the index page on ln until the returned stop is
// called.
func serveDemoIndex(ln net.Listener, info demoInfo, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := demoIndexPage.Execute(w, info); err != nil {
			log.Warn("demo index page", "cause", err.Error())
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("demo index page stopped", "cause", err.Error())
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // only an index page: a cut-off answer costs nothing
		<-done
	}
}

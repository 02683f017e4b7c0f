package demo

import (
	"fmt"
	"io"
	"strings"
)

// printDemoBanner tells what to open. The first lines keep the labels the
// README and scripts look for ("Simulated Qlik Sense hub:", "qlikgate
// login page:").
func printDemoBanner(w io.Writer, info demoInfo) {
	fmt.Fprintf(w, `
qlikgate demo is running.

  Demo index (start here):    %s
  Simulated Qlik Sense hub:   %s
  qlikgate login page:        %s

Every simulated Qlik product sends you to qlikgate to sign in, then shows
who it thinks you are and the groups qlikgate sent:

`, info.IndexURL, info.Targets[0].URL, info.ModuleURL)
	if info.ModuleNote != "" {
		fmt.Fprintf(w, "Before you start: %s\n\n", info.ModuleNote)
	}
	for _, t := range info.Targets {
		fmt.Fprintf(w, "  %-48s %s\n", t.Product+":", t.URL)
	}
	fmt.Fprintln(w, "\nUsers (directory CORP):")
	for _, u := range info.Users {
		groups := "no groups"
		if len(u.Groups) > 0 {
			groups = "groups " + strings.Join(u.Groups, ", ")
		}
		fmt.Fprintf(w, "  %-6s password %-6s %-20s -> Qlik Sense says CORP\\%s\n", u.Name, u.Password, groups, u.Name)
	}
	for _, t := range info.Targets {
		if t.Before != "" {
			fmt.Fprintf(w, "\n%s, before you start: %s\n", t.Product, t.Before)
		}
	}
	fmt.Fprintf(w, `
A wrong password shows an error on the login page. Sign out at %slogout.
Press Ctrl-C to stop.

`, info.ModuleURL)
}

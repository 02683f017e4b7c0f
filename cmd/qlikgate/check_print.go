package main

import (
	"fmt"
	"io"

	"github.com/qlikgate/qlikgate/check"
)

// marks are the prefixes of passed, warned and failed results.
type marks struct{ pass, warn, fail string }

// marksFor returns ✔ ! ✘, or words for consoles whose font lacks them.
func marksFor(ascii bool) marks {
	if ascii {
		return marks{"OK  ", "WARN", "FAIL"}
	}
	return marks{"✔", "!", "✘"}
}

// printReports writes one line per result, "✔ label: name: detail", an
// indented fix under each warning and failure, and a summary.
func printReports(w io.Writer, reports []check.Report, m marks) {
	for _, rep := range reports {
		for _, r := range rep.Results {
			mark := m.pass
			switch {
			case !r.OK:
				mark = m.fail
			case r.Warn:
				mark = m.warn
			}
			fmt.Fprintf(w, "%s %s: %s: %s\n", mark, rep.Label, r.Name, r.Detail)
			if r.Fix != "" && (!r.OK || r.Warn) {
				fmt.Fprintf(w, "    fix: %s\n", r.Fix)
			}
		}
	}
	failed, warnings, total := check.Count(reports)
	fmt.Fprintf(w, "\n%d checks: %d passed, %d %s, %d failed\n", total, total-failed-warnings, warnings, plural(warnings, "warning"), failed)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

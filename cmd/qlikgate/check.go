package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/config"
)

// runCheck is `qlikgate check`: it loads the configuration like serve,
// opens every provider and target, runs their checks against the real
// servers and prints one line per check. Exit code 0 means nothing failed
// (warnings allowed), 1 that a check failed, 2 that the file does not load.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for the checks of each provider and target (they run at once)")
	ascii := fs.Bool("ascii", false, "mark results with OK/WARN/FAIL instead of ✔ ! ✘ (for consoles without those characters)")
	verbose := fs.Bool("v", false, "also write the providers' and targets' log to stderr")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "check: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "check: -timeout must be positive")
		return exitConfig
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigError(stderr, *path, err)
		return exitConfig
	}
	// Their log would repeat, less clearly, what the checks report.
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = cfg.Log.Logger(stderr)
	}
	subjects, closeAll := openForCheck(ctx, cfg, log)
	defer closeAll()
	reports := check.Run(ctx, *timeout, subjects)
	printReports(stdout, reports, marksFor(*ascii))
	if failed, _, _ := check.Count(reports); failed > 0 {
		return exitFail
	}
	return exitOK
}

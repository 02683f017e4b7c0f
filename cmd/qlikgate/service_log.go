package main

import (
	"log/slog"
	"strings"

	"github.com/kardianos/service"
)

// eventLogWriter turns qlikgate's log lines into Windows event log entries
// of the matching type, so that an administrator can filter the
// Application log for errors and warnings as usual. It receives whatever
// `log.format` makes (text or JSON); each line keeps that form.
type eventLogWriter struct{ l service.Logger }

func (w eventLogWriter) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var err error
		switch level := lineLevel(line); {
		case level >= slog.LevelError:
			err = w.l.Error(line)
		case level >= slog.LevelWarn:
			err = w.l.Warning(line)
		default:
			err = w.l.Info(line)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// lineLevel reads the level slog wrote into a text or JSON line. A line
// without one is the command's own message about a configuration problem,
// printed just before it gives up: an error.
func lineLevel(line string) slog.Level {
	var word string
	if _, rest, ok := strings.Cut(line, "level="); ok {
		word, _, _ = strings.Cut(rest, " ")
	} else if _, rest, ok := strings.Cut(line, `"level":"`); ok {
		word, _, _ = strings.Cut(rest, `"`)
	} else {
		return slog.LevelError
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(word)); err != nil {
		return slog.LevelError
	}
	return l
}

package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/qlikgate/qlikgate/providers/static"
)

// runHashPassword prints an argon2id hash of a password read from stdin.
// On a terminal the password is asked twice without echo; from a pipe the
// first line is used, so `echo -n pw | qlikgate hash-password` works in
// scripts.
func runHashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p := static.DefaultArgon2
	mem := fs.Uint("memory", uint(p.Memory), "argon2id memory in KiB")
	passes := fs.Uint("time", uint(p.Time), "argon2id passes")
	threads := fs.Uint("threads", uint(p.Threads), "argon2id lanes")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *mem < 8 || *mem > 4<<20 || *passes < 1 || *passes > 100 || *threads < 1 || *threads > 255 {
		fmt.Fprintln(stderr, "hash-password: -memory must be 8..4194304 KiB, -time 1..100, -threads 1..255")
		return exitConfig
	}
	p.Memory, p.Time, p.Threads = uint32(*mem), uint32(*passes), uint8(*threads)

	pw, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "hash-password: %v\n", err)
		return exitFail
	}
	h, err := static.HashPassword(pw, p)
	if err != nil {
		fmt.Fprintf(stderr, "hash-password: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, h)
	return exitOK
}

func readPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		if len(a) == 0 {
			return "", errors.New("empty password")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("empty password on stdin")
	}
	return line, nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// modulePackage is the qlikgate command the tool builds and runs.
const modulePackage = "github.com/qlikgate/qlikgate/cmd/qlikgate"

// pprofEnv names the variable that makes a profiling build serve
// net/http/pprof on the given loopback address.
const pprofEnv = "QLIKGATE_BENCH_PPROF"

// pprofOverlay is added to package main of cmd/qlikgate when -cpuprofile is
// set, with `go build -overlay`: the product's source stays untouched, and
// without -cpuprofile the binary is exactly what `go build ./cmd/qlikgate`
// makes.
const pprofOverlay = `package main

// Added by qlikgate-bench at build time (go build -overlay) for -cpuprofile;
// not part of qlikgate.

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("` + pprofEnv + `")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go func() { _ = http.Serve(ln, mux) }()
}
`

// buildModule compiles cmd/qlikgate into dir, with the pprof overlay when
// profiling, and returns the binary's path.
func buildModule(ctx context.Context, dir string, profiling bool) (string, error) {
	goBin, err := goCommand()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "qlikgate")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	args := []string{"build", "-o", bin}
	if profiling {
		overlay, err := writeOverlay(ctx, goBin, dir)
		if err != nil {
			return "", err
		}
		args = append(args, "-overlay", overlay)
	}
	args = append(args, modulePackage)
	cmd := exec.CommandContext(ctx, goBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building qlikgate (go %s): %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return bin, nil
}

// writeOverlay writes the pprof file and the overlay map naming it as a
// file of cmd/qlikgate's directory.
func writeOverlay(ctx context.Context, goBin, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, goBin, "list", "-f", "{{.Dir}}", modulePackage).Output()
	if err != nil {
		return "", fmt.Errorf("locating %s (run the tool inside the qlikgate module): %w", modulePackage, err)
	}
	src := filepath.Join(dir, "bench_pprof.go")
	if err := os.WriteFile(src, []byte(pprofOverlay), 0o600); err != nil {
		return "", fmt.Errorf("writing the pprof overlay: %w", err)
	}
	target := filepath.Join(strings.TrimSpace(string(out)), "zz_qlikgate_bench_pprof.go")
	data, err := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, data, 0o600); err != nil {
		return "", fmt.Errorf("writing the overlay: %w", err)
	}
	return overlay, nil
}

// goCommand finds the go tool in PATH.
func goCommand() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build qlikgate (or pass -qlikgate BINARY): %w", err)
	}
	return p, nil
}

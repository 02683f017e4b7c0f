# qlikgate build targets.
#   make dist   CGO_ENABLED=0 binaries for every platform into dist/, with SHA256SUMS
#   make test   the test suite, as README and CI run it
# Version, commit and date end up in `qlikgate version`.

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DATE    := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64

.PHONY: dist test clean

# Each binary is named qlikgate-OS-ARCH (.exe on Windows), so scripts and
# the systemd instructions need no version in the path.
dist:
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "dist/qlikgate-$$os-$$arch$$ext"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
			-o "dist/qlikgate-$$os-$$arch$$ext" ./cmd/qlikgate; \
	done
	@cd dist && sha256sum qlikgate-* > SHA256SUMS
	@echo "qlikgate $(VERSION) (commit $(COMMIT), built $(DATE))"

test:
	go test -race ./...

clean:
	rm -rf dist

#!/usr/bin/env bash
# idle-rss.sh: qlikgate's resident memory with config.yaml.example, right
# after start and after some hundreds of requests (docs/benchmarks.md).
#
#   bash cmd/qlikgate-bench/idle-rss.sh [REQUESTS]     (from the repository)
#
# It builds qlikgate as `make dist` does (CGO_ENABLED=0, -trimpath, -s -w),
# writes the files the example names (certificates and keys from openssl,
# a session secret), and starts `qlikgate serve -config config.yaml` with
# the example's own content; only server.listen (a free loopback port) and
# session.revocation_file (a temporary directory) differ. The example's
# directory, Qlik and identity provider hosts do not exist here: qlikgate
# starts anyway (their checks fail in the background), as it would before
# the network is up. RSS is VmRSS from /proc/PID/status, the same number
# ps and top show; RssAnon is the process's own memory, RssFile the
# binary's pages it touched.
set -euo pipefail
requests=${1:-300}
repo=$(pwd)
[ -f "$repo/config.yaml.example" ] || { echo "run from the repository" >&2; exit 2; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/qlikgate" ./cmd/qlikgate
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root_key.pem -out root.pem -days 2 -subj /CN=root 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client_key.pem -out client.csr -subj /CN=QlikClient 2>/dev/null
openssl x509 -req -in client.csr -CA root.pem -CAkey root_key.pem -CAcreateserial -out client.pem -days 2 2>/dev/null
cp root.pem corp-root-ca.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwt_private.pem 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s#listen: \":8080\"#listen: \"127.0.0.1:$port\"#" \
    -e "s#/var/lib/qlikgate/revoked.json#$work/revoked.json#" "$repo/config.yaml.example" > config.yaml
grep -q "127.0.0.1:$port" config.yaml || { echo "config.yaml.example: server.listen not found" >&2; exit 1; }
QLIKGATE_SESSION_SECRET=$(openssl rand -base64 48) LDAP_BIND_PASSWORD=unused OIDC_SECRET=unused \
  ./qlikgate serve -config config.yaml > serve.log 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fs -o /dev/null "$base/healthz" && break
  sleep 0.1
done
curl -fs -o /dev/null "$base/healthz" || { cat serve.log >&2; exit 1; }
sleep 2 # settle: no request yet but the probe
rss() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %d MiB  ", $1, $2/1024} END {print ""}' "/proc/$pid/status"; }
echo "after start:            $(rss)"

# The requests a browser and a monitor make without signing in: the login
# page in each of the five languages (templates and catalogues), Qlik's
# entry for each target, the static files, readiness and metrics.
langs=(en de fr es sv)
for i in $(seq "$requests"); do
  lang=${langs[$((i % 5))]}
  case $((i % 6)) in
    0) curl -s -o /dev/null -H "Accept-Language: $lang" "$base/" ;;
    1) curl -s -o /dev/null -H "Accept-Language: $lang" "$base/t/sense/?proxyRestUri=https%3A%2F%2Fsense.corp.local%3A4243%2Fqps%2Fhr%2F&targetId=0f7d9a4e-3c1b-4e8a-9b2d-5a6c7e8f9012" ;;
    2) curl -s -o /dev/null -H "Accept-Language: $lang" "$base/login" ;;
    3) curl -s -o /dev/null "$base/static/qlikgate.css" ;;
    4) curl -s -o /dev/null "$base/readyz" ;;
    5) curl -s -o /dev/null "$base/metrics" ;;
  esac
done
echo "after $requests requests: $(rss)"

#!/usr/bin/env bash
# Build Prometheus from the Go module proxy (module controlplane/prometheus), once per
# pinned version, into $CRESTLINE_CACHE/bin/prometheus-<key>/. Prints the binary path.
#
# Why not Debian's: Debian builds Prometheus without Kubernetes service discovery
# (kubernetes_sd_configs is "not found in type config.ScrapeConfig"), and the stack
# with a real node discovers pods the way Prometheus does in a cluster.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/prometheus"
cache="${CRESTLINE_CACHE:-$HOME/.cache/crestline}"
key="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
out="$cache/bin/prometheus-$key"
if [ ! -x "$out/prometheus" ]; then
  command -v go >/dev/null || { echo "prometheus.sh: Go is required (>= 1.25)" >&2; exit 1; }
  echo "prometheus.sh: building Prometheus (a cold build takes a few minutes)" >&2
  mkdir -p "$cache/bin"
  tmp="$(mktemp -d "$cache/bin/.prometheus-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$here" && CGO_ENABLED=0 timeout 1800 go build -trimpath -ldflags "-s -w" \
    -o "$tmp/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
  mkdir -p "$out" && mv "$tmp/prometheus" "$out/prometheus"
fi
echo "$out/prometheus"

#!/usr/bin/env bash
# Fetch the Prometheus Operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule) for
# the test control plane. The official YAML ships inside the Go module; `go mod
# download` puts it in the module cache (a second run is instant). Prints the directory
# holding the three CRD files.
set -euo pipefail
version="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json \
  "github.com/prometheus-operator/prometheus-operator@${version}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
crds="$dir/example/prometheus-operator-crd"
for kind in servicemonitors podmonitors prometheusrules; do
  [ -f "$crds/monitoring.coreos.com_${kind}.yaml" ] || { echo "missing $kind CRD in $crds" >&2; exit 1; }
done
echo "$crds"

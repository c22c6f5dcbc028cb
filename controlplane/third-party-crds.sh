#!/usr/bin/env bash
# Fetch the third-party CRDs the tests install next to crestline's own: the Prometheus
# Operator's (ServiceMonitor, PodMonitor, PrometheusRule: EventDay retunes them) and
# KEDA's ScaledObject (another owner of a workload's replicas: a Conflict). The official
# YAML ships inside each project's Go module; `go mod download` puts it in the module
# cache, so a second run is instant. Prints the directory holding the requested files.
# Usage: third-party-crds.sh monitoring|keda
set -euo pipefail
case "${1:-}" in
  monitoring)
    module="github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
    subdir=example/prometheus-operator-crd
    files="monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_prometheusrules.yaml"
    ;;
  keda)
    module="github.com/kedacore/keda/v2@${KEDA_VERSION:-v2.21.0}"
    subdir=config/crd/bases
    files="keda.sh_scaledobjects.yaml"
    ;;
  *) echo "usage: $0 monitoring|keda" >&2; exit 2 ;;
esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$module" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
for f in $files; do
  [ -f "$dir/$subdir/$f" ] || { echo "missing $f in $dir/$subdir" >&2; exit 1; }
done
echo "$dir/$subdir"

#!/usr/bin/env bash
# Install the Debian packages the local stack runs (Prometheus, Alertmanager, Redis)
# when any is missing, and check the toolchains the build needs. Idempotent: a machine
# that has everything is left alone in well under a second.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null \
  || need+=(prometheus-alertmanager)
command -v redis-server >/dev/null || need+=(redis-server)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-system-deps: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "install-system-deps: Go >= 1.25 is required to build the control plane" >&2
  exit 1
fi
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if [ "$go_minor" -lt 25 ]; then
  echo "install-system-deps: Go >= 1.25 is required (found $(go env GOVERSION))" >&2
  exit 1
fi

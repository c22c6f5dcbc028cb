#!/usr/bin/env bash
# Build helm from the Go module proxy (no replace directives, so `go install` works),
# once per version, into $CRESTLINE_CACHE/bin/helm-<version>/. Prints the binary path.
set -euo pipefail
version="${HELM_VERSION:-v3.19.5}"
cache="${CRESTLINE_CACHE:-$HOME/.cache/crestline}"
out="$cache/bin/helm-$version"
if [ ! -x "$out/helm" ]; then
  echo "helm.sh: building helm $version (a cold build takes a few minutes)" >&2
  mkdir -p "$out.tmp"
  GOBIN="$out.tmp" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
    "helm.sh/helm/v3/cmd/helm@$version"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out/helm"

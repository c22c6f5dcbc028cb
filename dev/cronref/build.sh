#!/usr/bin/env bash
# Build the robfig/cron v3 oracle (main.go) once and cache it.
#
# The binary lands in $CRESTLINE_CACHE/bin/cronref-<key>/cronref (default cache
# ~/.cache/crestline), where <key> hashes go.mod, go.sum and main.go: a second run is
# a no-op, and a dependency bump or an edit rebuilds. Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CRESTLINE_CACHE:-$HOME/.cache/crestline}"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)"
out="$cache/bin/cronref-$key"

if [ -x "$out/cronref" ]; then echo "$out/cronref"; exit 0; fi

command -v go >/dev/null || { echo "cronref/build.sh: Go is required" >&2; exit 1; }
mkdir -p "$out.tmp"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp/cronref" .)
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/cronref"

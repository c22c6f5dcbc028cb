#!/usr/bin/env bash
# `make image`: build the operator image from the Dockerfile on a base made here from
# Debian packages (no registry needed), tagged crestline:<version from pyproject.toml>.
#
# Set-up runs in parallel where it can: the base's root filesystem (debootstrap, cached)
# while the Docker engine starts. Every step is cached: the base tarball by its recipe,
# the image layers by BuildKit, so a second run with no change takes seconds.
# Prints the image name on stdout. BASE=python:3.11-slim uses the official base instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$SECONDS

bash "$root/scripts/install-node-deps.sh"
# shellcheck source=/dev/null
source "$root/scripts/docker-cli.sh"

base="${BASE:-}"
if [ -z "$base" ]; then
  bash "$root/images/base/build.sh" tarball >/dev/null &
  tarball_pid=$!
  DOCKER_HOST="$(bash "$root/scripts/docker-up.sh")"
  export DOCKER_HOST
  wait "$tarball_pid"
  base="$(DOCKER="$docker_cli" bash "$root/images/base/build.sh")"
else
  DOCKER_HOST="$(bash "$root/scripts/docker-up.sh")"
  export DOCKER_HOST
fi

version="$(sed -nE 's/^version = "([^"]+)"/\1/p' "$root/pyproject.toml" | head -n1)"
image="${IMAGE:-crestline:$version}"
secret=()
ca="${CRESTLINE_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
[ -s "$ca" ] && secret=(--secret "id=ca,src=$ca")

echo "build-image: building $image on $base" >&2
timeout 1800 "${docker_build[@]}" --build-arg "BASE=$base" "${secret[@]}" -t "$image" "$root" >&2
echo "build-image: $image ready in $((SECONDS - start))s" >&2
echo "$image"

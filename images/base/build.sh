#!/usr/bin/env bash
# Make a Python base image from Debian packages alone, for machines that reach no
# container registry (the Dockerfile's default base, python:3.11-slim, comes from one).
#
# debootstrap --variant=minbase bookworm plus python3, python3-venv and ca-certificates,
# imported into Docker as crestline-base:<key>. <key> hashes this recipe, so editing it
# rebuilds; the root filesystem tarball is cached as
# $CRESTLINE_CACHE/images/debian-base-<key>.tar, so a Docker engine with a fresh data
# root imports it in seconds instead of running debootstrap again (minutes).
# Needs root (debootstrap) and a running Docker engine (DOCKER_HOST). Prints the image.
# `build.sh tarball` only makes the cached tarball (no Docker needed) and prints its path,
# so a caller can run it while the Docker engine starts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages=python3,python3-venv,ca-certificates
key="$(cat "$here/build.sh" | sha256sum | cut -c1-12)"
image="crestline-base:$key"
cache="${CRESTLINE_CACHE:-$HOME/.cache/crestline}/images"
tarball="$cache/debian-base-$key.tar"
docker="${DOCKER:-docker}"

only_tarball=0
case "${1:-}" in "") ;; tarball) only_tarball=1 ;; *) echo "usage: build.sh [tarball]" >&2; exit 2 ;; esac

if [ "$only_tarball" = 0 ] && timeout 30 "$docker" image inspect "$image" >/dev/null 2>&1; then
  echo "$image"; exit 0
fi

if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || { echo "base: debootstrap missing (scripts/install-node-deps.sh)" >&2; exit 1; }
  mkdir -p "$cache"
  root="$(mktemp -d "$cache/.rootfs-XXXXXX")"
  # --one-file-system: never follow a mount debootstrap may have left inside (proc, dev).
  trap 'rm -rf --one-file-system "$root" "$tarball.tmp"' EXIT
  echo "base: debootstrap $suite ($packages) from $mirror (takes a few minutes)" >&2
  timeout 1200 debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  # What an image needs no copy of: package lists and downloaded .debs, docs, logs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*
  # Same sort order and mtimes every time: the tarball only depends on what is in it.
  tar --sort=name --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
if [ "$only_tarball" = 1 ]; then echo "$tarball"; exit 0; fi
timeout 300 "$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$tarball" "$image" >/dev/null
echo "$image"

#!/usr/bin/env bash
# Make sure a Docker engine answers, and print the DOCKER_HOST to reach it.
#
# An engine that already answers (DOCKER_HOST, or the default socket) is used as it is.
# Otherwise this starts Debian's dockerd with a socket and data of its own
# (/run/crestline-docker/, $CRESTLINE_CACHE/docker), detached, and leaves it running
# for the next build: like a system service, it outlives this script. Stop it with
# `kill "$(cat /run/crestline-docker/dockerd.pid)"`.
set -euo pipefail

answers() { timeout 10 docker ${1:+-H "$1"} info >/dev/null 2>&1; }

if answers "${DOCKER_HOST:-}"; then echo "${DOCKER_HOST:-unix:///var/run/docker.sock}"; exit 0; fi

run=/run/crestline-docker
sock="unix://$run/docker.sock"
if answers "$sock"; then echo "$sock"; exit 0; fi

command -v dockerd >/dev/null || { echo "docker-up: dockerd missing (scripts/install-node-deps.sh)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "docker-up: starting dockerd needs root" >&2; exit 1; }
cache="${CRESTLINE_CACHE:-$HOME/.cache/crestline}"
mkdir -p "$run" "$cache/docker"
# A dockerd killed earlier leaves its pid file; dockerd refuses to start over a live one only.
if [ -f "$run/dockerd.pid" ] && ! kill -0 "$(cat "$run/dockerd.pid")" 2>/dev/null; then
  rm -f "$run/dockerd.pid"
fi
echo "docker-up: starting dockerd on $sock (log $cache/dockerd.log)" >&2
setsid dockerd \
  --host "$sock" \
  --data-root "$cache/docker" \
  --exec-root "$run/exec" \
  --pidfile "$run/dockerd.pid" \
  --storage-driver overlay2 \
  >>"$cache/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if answers "$sock"; then echo "$sock"; exit 0; fi
  kill -0 $! 2>/dev/null || break
  sleep 0.5
done
echo "docker-up: dockerd did not come up; last log lines:" >&2
tail -n 20 "$cache/dockerd.log" >&2
exit 1

#!/usr/bin/env bash
# Build the test workload image (crestline-workload:1) on the Debian-made base. Only the
# server module goes in; Docker's layer cache makes a rebuild with no change take a
# second. Needs DOCKER_HOST. Prints the image name.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
image="${WORKLOAD_IMAGE:-crestline-workload:1}"
# shellcheck source=/dev/null
source "$root/scripts/docker-cli.sh"
base="$(DOCKER="$docker_cli" bash "$root/images/base/build.sh")"
timeout 600 "${docker_build[@]}" -q --build-arg "BASE=$base" -f "$here/Dockerfile" -t "$image" \
  "$root/dev/crestline_dev/workload" >/dev/null
echo "$image"

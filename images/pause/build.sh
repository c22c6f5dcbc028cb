#!/usr/bin/env bash
# Build the node's pause image (docker.io/crestline/pause:1) from pause.c: one static
# binary imported into Docker. Rebuilt only when pause.c or this script changes (the
# image carries their hash as a label). Needs gcc, libc6-dev and DOCKER_HOST. Prints
# the image name.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image=docker.io/crestline/pause:1
docker="${DOCKER:-docker}"
key="$(cat "$here/pause.c" "$here/build.sh" | sha256sum | cut -c1-12)"
have="$(timeout 30 "$docker" image inspect -f '{{index .Config.Labels "crestline.source"}}' "$image" 2>/dev/null || true)"
if [ "$have" = "$key" ]; then echo "$image"; exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -static -Os -s -o "$tmp/pause" "$here/pause.c"
tar -C "$tmp" --owner=0 --group=0 -cf "$tmp/rootfs.tar" pause
timeout 120 "$docker" import --change 'ENTRYPOINT ["/pause"]' --change "LABEL crestline.source=$key" \
  "$tmp/rootfs.tar" "$image" >/dev/null
echo "$image"

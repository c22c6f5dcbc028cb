# Sourced by the image scripts: pick a docker CLI that can build with BuildKit.
#
# A CLI with the buildx plugin builds with BuildKit by default. Debian's docker.io
# (20.10) has no buildx, but its own CLI speaks BuildKit when DOCKER_BUILDKIT=1; a newer
# CLI without buildx refuses that, so prefer Debian's CLI when buildx is missing.
# Sets docker_cli (a path) and docker_build (an array: the build command).
if docker buildx version >/dev/null 2>&1; then
  docker_cli="$(command -v docker)"
  docker_build=("$docker_cli" build)
elif [ -x /usr/bin/docker ]; then
  docker_cli=/usr/bin/docker
  docker_build=(env DOCKER_BUILDKIT=1 "$docker_cli" build)
else
  docker_cli="$(command -v docker)"
  docker_build=(env DOCKER_BUILDKIT=1 "$docker_cli" build)
fi
export docker_cli

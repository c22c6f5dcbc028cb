#!/usr/bin/env bash
# Build the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kubectl) from the Go module proxy, once per pinned version set.
#
# `build.sh node` also builds what a real node needs (kube-scheduler, kubelet,
# kube-proxy) into the same directory; without it they are not built, so the fast
# node-less stack does not pay for them.
#
# The binaries land in $CRESTLINE_CACHE/bin/<key>/ (default ~/.cache/crestline),
# where <key> hashes versions.env and both go.mod/go.sum pairs, so a second run is
# a no-op and a version bump rebuilds. Prints the binary directory on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"

cache="${CRESTLINE_CACHE:-$HOME/.cache/crestline}"
key="$(cat "$here/versions.env" "$here"/k8s/go.mod "$here"/k8s/go.sum "$here"/etcd/go.mod "$here"/etcd/go.sum | sha256sum | cut -c1-12)"
out="$cache/bin/k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}-$key"
control=(kube-apiserver kube-controller-manager kubectl)
node=(kube-scheduler kubelet kube-proxy)
case "${1:-}" in
  "") with_node=0 ;;
  node) with_node=1 ;;
  *) echo "usage: build.sh [node]" >&2; exit 2 ;;
esac

missing() { for b in "$@"; do [ -x "$out/$b" ] || echo "$b"; done; }
mapfile -t want_k8s < <(missing "${control[@]}")
if [ "$with_node" = 1 ]; then mapfile -t -O "${#want_k8s[@]}" want_k8s < <(missing "${node[@]}"); fi
mapfile -t want_etcd < <(missing etcd)
if [ ${#want_k8s[@]} -eq 0 ] && [ ${#want_etcd[@]} -eq 0 ]; then echo "$out"; exit 0; fi

command -v go >/dev/null || { echo "build.sh: Go is required (>= 1.25)" >&2; exit 1; }
# One build directory per run: two builds at once (two engineers, two test sessions)
# never see each other's half-written binaries; each binary is moved into place whole.
mkdir -p "$cache/bin"
tmp="$(mktemp -d "$cache/bin/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
ver_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ver_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ver_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

if [ ${#want_k8s[@]} -gt 0 ]; then
  echo "build.sh: building Kubernetes $KUBERNETES_VERSION: ${want_k8s[*]} (a cold build takes several minutes)" >&2
  pkgs=(); for b in "${want_k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$here/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ver_flags" -o "$tmp/" "${pkgs[@]}")
fi
if [ ${#want_etcd[@]} -gt 0 ]; then
  echo "build.sh: building etcd $ETCD_VERSION" >&2
  (cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
fi

mkdir -p "$out"
for b in "$tmp"/*; do mv -f "$b" "$out/"; done
echo "build.sh: built in $((SECONDS - start))s into $out" >&2
echo "$out"

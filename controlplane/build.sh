#!/usr/bin/env bash
# Build the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kubectl) from the Go module proxy, once per pinned version set.
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
want=(etcd kube-apiserver kube-controller-manager kubectl)

have_all() { for b in "${want[@]}"; do [ -x "$out/$b" ] || return 1; done; }
if have_all; then echo "$out"; exit 0; fi

command -v go >/dev/null || { echo "build.sh: Go is required (>= 1.25)" >&2; exit 1; }
mkdir -p "$out.tmp"
start=$SECONDS

minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
ver_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ver_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ver_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

echo "build.sh: building Kubernetes $KUBERNETES_VERSION (a cold build takes several minutes)" >&2
(cd "$here/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ver_flags" -o "$out.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl)
echo "build.sh: building etcd $ETCD_VERSION" >&2
(cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)

rm -rf "$out" && mv "$out.tmp" "$out"
echo "build.sh: built in $((SECONDS - start))s into $out" >&2
echo "$out"

#!/usr/bin/env bash
# Install the Debian packages that building images and running a real node need, when
# any is missing: Docker (dockerd 20.10 with its containerd and runc), a containerd for
# the kubelet, CNI plugins, debootstrap (the base image), iptables and conntrack
# (kube-proxy), gcc (the pause image). Idempotent: a machine that has everything is left
# alone in well under a second.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have dockerd || need+=(docker.io)
have containerd || need+=(containerd)
have runc || need+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
  || need+=(containernetworking-plugins)
have debootstrap || need+=(debootstrap)
have iptables || need+=(iptables)
have conntrack || need+=(conntrack)
have gcc || need+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-node-deps: apt-get install ${need[*]}" >&2
  timeout 300 $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

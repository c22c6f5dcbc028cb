"""The real node's configuration files, as pure functions of where things live.

Each function returns what one component reads (containerd's TOML, the CNI conflist,
the kubelet's and kube-proxy's component configs); :mod:`crestline_dev.stack.node`
writes them and starts the processes. Keeping them pure keeps every setting that
these machines need in one readable place, each with the reason it is there, and lets
a unit test check them without root.

The settings that make a node work here (found by trial on these machines):

* containerd ``restrict_oom_score_adj``: the kernel refuses an ``oom_score_adj`` below
  0 to us, and without it every sandbox fails with "can't get final child's PID from
  pipe: EOF".
* ``SystemdCgroup = false`` and the kubelet's ``cgroupDriver: cgroupfs``: no systemd.
* ``failCgroupV1: false``: the machines run cgroup v1, which kubelet 1.35 refuses by
  default.
* ``failSwapOn: false``: whatever swap the host has is not ours to turn off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BRIDGE = "crestline0"
POD_CIDR = "10.244.0.0/24"
# The bridge's own address is the node's IP: not loopback (the API server dials the
# kubelet there for logs and exec), and reachable from the pods on the bridge.
NODE_IP = "10.244.0.1"
# The node is named by its IP. The API server dials a kubelet at the node's Hostname
# address first (its default --kubelet-preferred-address-types), which for a name
# would mean a DNS lookup that fails (`kubectl logs` breaks) and asks the host's
# resolver about a name of ours; an IP needs no lookup.
NODE_NAME = NODE_IP
PAUSE_IMAGE = "docker.io/crestline/pause:1"
CGROUP_ROOT = "crestline"


@dataclass(frozen=True)
class NodePaths:
    """Every file and socket of one node, under its private work dir."""

    workdir: Path

    @property
    def containerd_config(self) -> Path:
        return self.workdir / "containerd.toml"

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "containerd.sock"

    @property
    def containerd_root(self) -> Path:
        return self.workdir / "containerd-root"

    @property
    def containerd_state(self) -> Path:
        return self.workdir / "containerd-state"

    @property
    def cni_conf_dir(self) -> Path:
        return self.workdir / "cni"

    @property
    def kubelet_root(self) -> Path:
        return self.workdir / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.workdir / "kubelet.yaml"

    @property
    def kube_proxy_config(self) -> Path:
        return self.workdir / "kube-proxy.yaml"

    @property
    def resolv_conf(self) -> Path:
        return self.workdir / "resolv.conf"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"


def containerd_toml(paths: NodePaths, runc: Path, cni_bin_dir: Path) -> str:
    """containerd 1.6 (Debian) config: CRI plugin only, its own root, state and socket."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    lines = [
        "version = 2",
        f'root = "{paths.containerd_root}"',
        f'state = "{paths.containerd_state}"',
        "[grpc]",
        f'  address = "{paths.containerd_socket}"',
        "[ttrpc]",
        f'  address = "{paths.containerd_socket}.ttrpc"',
        '[plugins."io.containerd.internal.v1.opt"]',
        f'  path = "{paths.workdir / "containerd-opt"}"',
        f"[{cri}]",
        f'  sandbox_image = "{PAUSE_IMAGE}"',
        "  restrict_oom_score_adj = true",
        # Network namespaces as bind mounts under our state dir, not /var/run/netns:
        # stopping the node unmounts everything under its work dir, nothing else.
        "  netns_mounts_under_state_dir = true",
        "  enable_selinux = false",
        f"[{cri}.containerd]",
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        f"[{cri}.containerd.runtimes.runc]",
        '  runtime_type = "io.containerd.runc.v2"',
        f"[{cri}.containerd.runtimes.runc.options]",
        "  SystemdCgroup = false",
        f'  BinaryName = "{runc}"',
        f"[{cri}.cni]",
        f'  bin_dir = "{cni_bin_dir}"',
        f'  conf_dir = "{paths.cni_conf_dir}"',
        "  max_conf_num = 1",
    ]
    return "\n".join(lines) + "\n"


def cni_conflist(service_cidr: str) -> str:
    """A bridge with host-local addresses. No masquerade: pods get no way off this host.

    Pods get routes to the pod network and to the Service CIDR (through the node, where
    kube-proxy translates cluster IPs), and no default route.
    """
    conf = {
        "cniVersion": "0.4.0",
        "name": "crestline",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": POD_CIDR}, {"dst": service_cidr}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(conf, indent=2)


@dataclass(frozen=True)
class KubeletPorts:
    """The kubelet's serving port (on the node IP) and its loopback healthz port."""

    serving: int
    healthz: int


def kubelet_config(paths: NodePaths, ports: KubeletPorts) -> dict[str, Any]:
    """KubeletConfiguration for one small, fast-reacting test node.

    The API server of the local stack dials kubelets without a client certificate, so
    the kubelet allows anonymous access. It listens only on the node IP, an address of
    a bridge that exists on this host alone.
    """
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": ports.serving,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": ports.healthz,
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        # All pods under one cgroup of ours: stopping the node kills exactly what is in it.
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "failCgroupV1": False,
        "failSwapOn": False,
        "resolvConf": str(paths.resolv_conf),
        "clusterDomain": "cluster.local",
        "maxPods": 40,
        "serializeImagePulls": False,
        "nodeStatusUpdateFrequency": "2s",
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "10s",
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "protectKernelDefaults": False,
        "localStorageCapacityIsolation": False,
        "shutdownGracePeriod": "0s",
    }


def kube_proxy_config(kubeconfig: Path, healthz_port: int, metrics_port: int) -> dict[str, Any]:
    """KubeProxyConfiguration: iptables mode, node ports only on the node IP."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        # Leave the host's conntrack sysctls alone: they are not ours to change.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "iptables": {"minSyncPeriod": "0s", "syncPeriod": "10s"},
    }

"""The node's and the workload's pure parts, without root or Docker."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from crestline_dev.sim.trace import StepTrace
from crestline_dev.stack.monitoring import KubernetesAccess, kubernetes_pods_job
from crestline_dev.stack.node_config import (
    NODE_IP,
    KubeletPorts,
    NodePaths,
    cni_conflist,
    containerd_toml,
    kubelet_config,
)
from crestline_dev.workload.loadgen import LoadGenerator, check_target
from crestline_dev.workload.server import Service, make_handler


@pytest.mark.parametrize(
    "url", ["http://192.0.2.2:80/", "http://10.0.0.5/", "http://8.8.8.8/", "https://127.0.0.1/"]
)
def test_load_generator_refuses_anything_but_loopback_and_the_pod_network(url: str) -> None:
    with pytest.raises(ValueError, match="only"):
        check_target(url)


def test_pods_get_no_way_off_the_host() -> None:
    bridge = json.loads(cni_conflist("10.0.0.0/24"))["plugins"][0]
    assert bridge["ipMasq"] is False
    assert "0.0.0.0/0" not in {r["dst"] for r in bridge["ipam"]["routes"]}
    assert bridge["ipam"]["ranges"][0][0]["gateway"] == NODE_IP


def test_the_settings_these_machines_need() -> None:
    paths = NodePaths(Path("/w"))
    toml = containerd_toml(paths, Path("/usr/sbin/runc"), Path("/usr/lib/cni"))
    assert "restrict_oom_score_adj = true" in toml
    assert "SystemdCgroup = false" in toml
    kubelet = kubelet_config(paths, KubeletPorts(serving=1, healthz=2))
    assert kubelet["failCgroupV1"] is False
    assert kubelet["failSwapOn"] is False
    assert kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["address"] == NODE_IP


def test_pod_discovery_keeps_annotated_pods_and_labels_them() -> None:
    access = KubernetesAccess("https://127.0.0.1:6443", Path("ca"), Path("c"), Path("k"))
    job = kubernetes_pods_job("pods", access, ["ns"])
    assert job["kubernetes_sd_configs"][0]["role"] == "pod"
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"__address__", "namespace", "pod", "service"} <= targets


def test_workload_serves_and_counts_and_the_generator_follows_the_trace() -> None:
    service = Service(workers=2, service_seconds=0.01, max_queue=10)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(service, never_ready=False))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = LoadGenerator([f"{url}/"], StepTrace([(0, 40.0)], length=2)).run(2)
        assert report.errors == 0
        assert 60 <= report.ok <= 80  # 40 req/s for 2 s, open loop
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        assert f'http_requests_total{{code="200"}} {report.ok}' in text
        assert f"http_request_duration_seconds_count {report.ok}" in text
    finally:
        server.shutdown()

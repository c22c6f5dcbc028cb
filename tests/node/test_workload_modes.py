"""The workload's failure modes, its warm-up endpoint and the load generator's cluster-IP
rule, without root or Docker (the scenarios on the node rely on each)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from crestline_dev.stack.node_config import BRIDGE
from crestline_dev.workload.deploy import WorkloadSpec, mode_config_map, workload_deployment
from crestline_dev.workload.loadgen import check_target, service_cidr_on_bridge
from crestline_dev.workload.server import Readiness, Service, main, make_handler, read_mode

ROUTE_HEADER = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"


def _routes(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "route"
    path.write_text(ROUTE_HEADER + "".join(lines))
    return path


def test_the_service_cidr_counts_as_local_only_while_routed_onto_the_bridge(
    tmp_path: Path,
) -> None:
    # 10.0.0.0/24 in /proc/net/route's little-endian hex: 0000000A, mask 00FFFFFF.
    on_bridge = f"{BRIDGE}\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    elsewhere = "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    assert service_cidr_on_bridge(_routes(tmp_path, on_bridge))
    assert not service_cidr_on_bridge(_routes(tmp_path, elsewhere))
    assert not service_cidr_on_bridge(_routes(tmp_path))
    assert not service_cidr_on_bridge(tmp_path / "missing")


def test_a_cluster_ip_is_a_target_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="only"):
        check_target("http://10.0.0.7/")
    monkeypatch.setattr("crestline_dev.workload.loadgen.service_cidr_on_bridge", lambda: False)
    with pytest.raises(ValueError, match="only"):
        check_target("http://10.0.0.7/", cluster_ips=True)
    monkeypatch.setattr("crestline_dev.workload.loadgen.service_cidr_on_bridge", lambda: True)
    assert check_target("http://10.0.0.7/", cluster_ips=True) == ("10.0.0.7", 80, "/")
    with pytest.raises(ValueError, match="only"):
        check_target("http://10.0.1.7/", cluster_ips=True)  # outside the Service CIDR


def test_the_mode_file_is_read_once_and_crash_exits(tmp_path: Path) -> None:
    mode = tmp_path / "mode"
    assert read_mode(None) == "ok"
    assert read_mode(str(mode)) == "ok"  # an optional ConfigMap that does not exist
    mode.write_text("never-ready\n")
    assert read_mode(str(mode)) == "never-ready"
    mode.write_text("crash")
    assert main([f"--mode-file={mode}", "--port=0"]) == 1


def test_readiness_after_a_slow_start_or_never() -> None:
    assert Readiness().ready()
    assert not Readiness(never=True).ready()
    slow = Readiness(after=0.2)
    assert not slow.ready()
    time.sleep(0.25)
    assert slow.ready()


@pytest.fixture
def server() -> Iterator[str]:
    service = Service(workers=2, service_seconds=0.01, max_queue=4)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(service))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _get(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_warmups_and_busy_seconds_are_counted(server: str) -> None:
    assert _get(f"{server}/warmup")[0] == 200
    assert _get(f"{server}/warmup", "POST")[0] == 200
    for _ in range(5):
        assert _get(f"{server}/")[0] == 200
    _, metrics = _get(f"{server}/metrics")
    values = dict(
        line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#")
    )
    assert float(values["workload_warmups_total"]) == 2
    assert float(values["workload_busy_seconds_total"]) == pytest.approx(0.05)


def test_the_deployment_mounts_the_mode_config_map_optionally() -> None:
    spec = WorkloadSpec(mode_config_map="web-mode", ready_after_seconds=20)
    pod = workload_deployment("web", 2, spec)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "--mode-file=/etc/workload/mode" in container["args"]
    assert "--ready-after-seconds=20" in container["args"]
    assert pod["volumes"] == [{"name": "mode", "configMap": {"name": "web-mode", "optional": True}}]
    assert mode_config_map("web-mode", "crash")["data"] == {"mode": "crash"}

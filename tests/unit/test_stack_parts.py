"""Unit tests of the harness parts that need no running component."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crestline_dev.stack.pki import make_cluster_pki
from crestline_dev.stack.ports import free_port
from crestline_dev.stack.stack import Stack, StackConfig, sweep_orphans


def test_free_ports_are_distinct() -> None:
    ports = {free_port() for _ in range(50)}
    assert len(ports) == 50


def test_pki_chains_to_the_ca_and_names_the_admin(tmp_path: Path) -> None:
    pki = make_cluster_pki(tmp_path)
    ca = x509.load_pem_x509_certificate(pki.ca.cert.read_bytes())
    admin = x509.load_pem_x509_certificate(pki.admin.cert.read_bytes())
    serving = x509.load_pem_x509_certificate(pki.serving.cert.read_bytes())
    admin.verify_directly_issued_by(ca)
    serving.verify_directly_issued_by(ca)
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "system:masters"
    )
    eku = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert oct(pki.admin.key.stat().st_mode & 0o777) == "0o600"


def test_sweep_removes_only_dirs_of_dead_owners(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"crestline-stack-{dead.pid}-abc"
    live = tmp_path / f"crestline-stack-{os.getpid()}-def"
    unrelated = tmp_path / "something-else"
    for d in (orphan, live, unrelated):
        d.mkdir()
    assert sweep_orphans(tmp_path) == [orphan]
    assert live.exists()
    assert unrelated.exists()


def test_existing_cluster_mode_needs_a_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    config = StackConfig(
        use_existing_cluster=True, prometheus=False, alertmanager=False, redis=False
    )
    with pytest.raises(RuntimeError, match="no kubeconfig exists"):
        Stack(config).start()
    assert not list(tmp_path.glob("crestline-stack-*"))


def test_existing_cluster_mode_uses_kubeconfig_and_starts_no_control_plane(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("CRESTLINE_USE_EXISTING_CLUSTER", "1")
    config = StackConfig(prometheus=False, alertmanager=False, redis=False)
    assert config.use_existing_cluster
    with Stack(config) as stack:
        assert stack.kubeconfig == kubeconfig
        assert stack.control_plane is None
        assert stack.env() == {"KUBECONFIG": str(kubeconfig)}

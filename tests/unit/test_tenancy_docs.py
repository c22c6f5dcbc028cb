"""docs/tenancy.md: its example of the chart's ``config:`` values is a valid operator
configuration, and means what the text says it means."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from crestline.api.config import OperatorConfig, RedisEndpoint
from crestline.policy import tenancy

DOC = Path(__file__).resolve().parents[2] / "docs" / "tenancy.md"


def _values() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    found = [yaml.safe_load(b) for b in blocks if b.startswith("# values.yaml")]
    assert len(found) == 1
    values: dict[str, Any] = found[0]
    return values


def test_the_example_values_are_a_valid_configuration() -> None:
    values = _values()
    config = OperatorConfig.model_validate(values["config"])
    assert set(values["watchNamespaces"]) == {"shop", "payments"}
    for endpoint in config.endpoints.prometheus:
        for path in (endpoint.bearer_token_file, endpoint.ca_file):
            assert path is None or any(
                path.startswith(f"/etc/crestline/secrets/{s}/") for s in values["credentialSecrets"]
            )


def test_the_example_means_what_the_text_says() -> None:
    config = OperatorConfig.model_validate(_values()["config"])
    # shop's own Redis: only shop may name it, and its hit ratio is allowed there
    own = tenancy.redis(config, "shop", endpoint="shop-cache", url=None)
    assert isinstance(own, RedisEndpoint)
    assert tenancy.hit_ratio_allowed(own, "shop") is None
    assert isinstance(
        tenancy.redis(config, "payments", endpoint="shop-cache", url=None), tenancy.Refusal
    )
    shared = tenancy.redis(config, "shop", endpoint=None, url=None)
    assert isinstance(shared, RedisEndpoint)
    assert tenancy.hit_ratio_allowed(shared, "shop") is not None
    assert tenancy.key_prefix(shared, "shop") == "shop:"
    # payments' own Prometheus and Secrets; neither for shop
    url = "https://prometheus.payments.svc:9090/"
    assert isinstance(
        tenancy.prometheus(config, "payments", endpoint=None, url=url), tenancy.FreeUrl
    )
    assert isinstance(tenancy.prometheus(config, "shop", endpoint=None, url=url), tenancy.Refusal)
    assert tenancy.secrets_allowed(config, "payments") is None
    assert tenancy.secrets_allowed(config, "shop") is not None
    warm = "http://web.shop.svc:8080/internal/warmup/catalog"
    assert isinstance(tenancy.warmup_url(config, "shop", warm), tenancy.FreeUrl)
    job = {"template": {"spec": {"serviceAccountName": "cache-warmer", "containers": []}}}
    assert tenancy.job_template(config, "shop", job) is None
    assert tenancy.job_template(config, "payments", job) is not None

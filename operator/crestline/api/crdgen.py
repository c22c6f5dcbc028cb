"""Render CustomResourceDefinitions from the pydantic models.

pydantic emits JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3 subset.
The translation here is mechanical and total: ``$ref`` is inlined, ``Optional[X]``
(``anyOf: [X, null]``) becomes ``X`` (absent rather than null), titles are dropped,
numeric ``exclusiveMinimum: n`` becomes ``minimum: n, exclusiveMinimum: true``, and
``additionalProperties: false`` is dropped (structural schemas prune unknown fields
instead; ``kubectl apply``'s strict field validation reports them). CEL rules attached
to models with :func:`crestline.api.slo.cel` pass through unchanged.

``crestline crds generate`` writes the files; ``crestline crds check`` (and a test)
fails when the checked-in files differ from what the models produce.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from crestline.api.base import GROUP, VERSION
from crestline.api.eventday import EventDaySpec, EventDayStatus
from crestline.api.slo import PerformanceSLOSpec
from crestline.api.status import PerformanceSLOStatus

_DROP = {"title"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return _resolve({**target, **extra}, defs)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"cannot express union in a structural schema: {node['anyOf']}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        merged = {**_resolve(branches[0], defs), **rest}
        if merged.get("default", 0) is None:
            del merged["default"]
        return _resolve(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key == "$defs":
            continue
        if key == "additionalProperties" and isinstance(value, bool):
            continue  # maps (a schema here) stay; closed objects are pruned instead
        if key == "exclusiveMinimum" and not isinstance(value, bool):
            out["minimum"] = value
            out["exclusiveMinimum"] = True
        elif key == "exclusiveMaximum" and not isinstance(value, bool):
            out["maximum"] = value
            out["exclusiveMaximum"] = True
        elif key == "properties":
            out[key] = {name: _resolve(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _resolve(value, defs)
    return out


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of ``model`` (camelCase field names)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    resolved: dict[str, Any] = _resolve(raw, raw.get("$defs", {}))
    return resolved


@dataclass(frozen=True)
class CrdSpec:
    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    printer_columns: tuple[dict[str, Any], ...]
    description: str

    @property
    def filename(self) -> str:
        return f"{GROUP}_{self.plural}.yaml"


PERFORMANCE_SLO = CrdSpec(
    kind="PerformanceSLO",
    plural="performanceslos",
    short_names=("pslo",),
    spec_model=PerformanceSLOSpec,
    status_model=PerformanceSLOStatus,
    printer_columns=(
        {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name"},
        {"name": "Current", "type": "integer", "jsonPath": ".status.currentReplicas"},
        {"name": "Desired", "type": "integer", "jsonPath": ".status.desiredReplicas"},
        {
            "name": "Worst",
            "type": "string",
            "jsonPath": ".status.worstObjective",
            "description": "Objective furthest from good, value/target (> 1 violates).",
        },
        {"name": "Mode", "type": "string", "jsonPath": ".status.mode"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ),
    description="Keep a workload inside its performance objectives by scaling it.",
)

EVENT_DAY = CrdSpec(
    kind="EventDay",
    plural="eventdays",
    short_names=("evd",),
    spec_model=EventDaySpec,
    status_model=EventDayStatus,
    printer_columns=(
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {
            "name": "Next",
            "type": "string",
            "jsonPath": ".status.nextActivation",
            "description": "When event mode next begins (UTC).",
        },
        {"name": "SLOs", "type": "string", "jsonPath": ".status.affected"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ),
    description="A scheduled event mode that prepares selected SLOs for a known peak.",
)

ALL_CRDS: tuple[CrdSpec, ...] = (PERFORMANCE_SLO, EVENT_DAY)


def render(crd: CrdSpec) -> dict[str, Any]:
    """The full CustomResourceDefinition object for one resource."""
    schema = {
        "type": "object",
        "description": crd.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": openapi_schema(crd.spec_model),
            "status": openapi_schema(crd.status_model),
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{crd.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": crd.kind,
                "listKind": f"{crd.kind}List",
                "plural": crd.plural,
                "singular": crd.kind.lower(),
                "shortNames": list(crd.short_names),
                "categories": ["crestline"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": list(crd.printer_columns),
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def render_yaml(crd: CrdSpec) -> str:
    header = "# Generated from crestline.api by `crestline crds generate`; do not edit.\n"
    return header + yaml.safe_dump(render(crd), sort_keys=False, width=100)


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for crd in ALL_CRDS:
        path = directory / crd.filename
        path.write_text(render_yaml(crd))
        written.append(path)
    return written


def drifted(directory: Path) -> list[str]:
    """Names of CRD files that are missing or differ from what the models produce."""
    return [
        crd.filename
        for crd in ALL_CRDS
        if not (directory / crd.filename).is_file()
        or (directory / crd.filename).read_text() != render_yaml(crd)
    ]

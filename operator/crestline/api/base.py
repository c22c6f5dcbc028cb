"""Shared model configuration: camelCase on the wire, snake_case in Python, strict keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base for every resource part.

    ``extra="forbid"`` mirrors the structural schema (unknown fields are an error, not
    silently dropped), ``populate_by_name`` lets Python code use snake_case.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


GROUP = "crestline.dev"
VERSION = "v1alpha1"

DURATION_PATTERN = r"^[0-9]+(ms|s|m|h|d|w|y)$"
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def cel(*rules: tuple[str, str]) -> dict[str, Any]:
    """JSON-schema extra carrying CEL rules as (expression, message) pairs."""
    return {"x-kubernetes-validations": [{"rule": r, "message": m} for r, m in rules]}


def defaulted(factory: Callable[[], ApiModel]) -> Any:
    """A nested-object field whose default the API server fills in too.

    pydantic does not put ``default_factory`` values in the schema; without a schema
    default the API server would leave the whole object out, and ``kubectl get -o yaml``
    would hide the values in force. The default is the factory's value, serialized.
    """
    value = factory().model_dump(by_alias=True, mode="json", exclude_none=True)
    return Field(default_factory=factory, json_schema_extra={"default": value})

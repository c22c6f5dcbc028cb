"""Shared model configuration: camelCase on the wire, snake_case in Python, strict keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
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

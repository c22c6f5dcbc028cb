"""When an EventDay is in force: one-off windows and cron-driven recurring windows in an
IANA timezone, with lead and trail time.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from crestline.api.base import ApiModel, cel
from crestline.calendar.cron import Cron

LOCAL_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
EVENT_DURATION_PATTERN = r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
CRON_PATTERN = r"^\s*(\S+\s+){4}\S+\s*$"


@functools.cache
def iana_zones() -> tuple[str, ...]:
    """Every IANA zone name of the pinned tzdata release, sorted."""
    return tuple(sorted(resources.files("tzdata").joinpath("zones").read_text().split()))


def _zone_rule() -> tuple[str, str]:
    names = ", ".join(f"'{z}'" for z in iana_zones())
    return (f"self in [{names}]", "unknown IANA timezone (e.g. Europe/Berlin, America/New_York)")


class OneOffWindow(ApiModel):
    """A window in the schedule's timezone, as local wall-clock times."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(("self.end > self.start", "end must be after start"))
    }

    start: Annotated[
        str, Field(pattern=LOCAL_TIME_PATTERN, max_length=19, description="2026-11-27T09:00:00")
    ]
    end: Annotated[str, Field(pattern=LOCAL_TIME_PATTERN, max_length=19)]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RecurringWindow(ApiModel):
    """A window opening at each cron match (local time), lasting ``duration`` (elapsed)."""

    cron: Annotated[
        str,
        Field(
            pattern=CRON_PATTERN, max_length=200, description="Five fields, e.g. '0 18 * * SAT'."
        ),
    ]
    duration: Annotated[str, Field(pattern=EVENT_DURATION_PATTERN, min_length=2)]

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        Cron.parse(value)
        return value


class Schedule(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            (
                "(has(self.windows) ? size(self.windows) : 0)"
                " + (has(self.recurring) ? size(self.recurring) : 0) >= 1",
                "the schedule needs at least one window (windows or recurring)",
            ),
        )
    }

    timezone: Annotated[str, Field(max_length=64, json_schema_extra=cel(_zone_rule()))] = "UTC"
    windows: Annotated[list[OneOffWindow], Field(max_length=100)] = Field(default_factory=list)
    recurring: Annotated[list[RecurringWindow], Field(max_length=20)] = Field(default_factory=list)
    lead_time: Annotated[
        str,
        Field(
            pattern=EVENT_DURATION_PATTERN,
            description=("Activate this early to pre-scale and warm (e.g. 2h)."),
        ),
    ] = "0s"
    trail_time: Annotated[
        str,
        Field(
            pattern=EVENT_DURATION_PATTERN,
            description=("Stay in event mode this long after the window ends."),
        ),
    ] = "0s"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in iana_zones():
            raise ValueError(f"unknown IANA timezone {value!r}")
        return value

    @model_validator(mode="after")
    def _some_window(self) -> Self:
        if not self.windows and not self.recurring:
            raise ValueError("the schedule needs at least one window (windows or recurring)")
        return self

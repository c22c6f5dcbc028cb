"""Bad EventDays are rejected at apply time, with a message naming the field.

The rule-by-rule cases go straight to the API server (the kubernetes client, with
``dryRun=All`` so nothing is stored), bypassing any client-side check: what rejects
them is the CRD's schema and CEL rules. Each also checks that pydantic (what the
operator reports for an object stored under an older CRD) gives the same message.
Installing the CRD at all is the proof that the CEL rules fit the server's cost budget.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client
from pydantic import ValidationError

from crestline.api.eventday import EventDaySpec
from crestline_dev.stack import Stack
from tests.kubectl import apply, kubectl

pytestmark = pytest.mark.stack

VALID: dict[str, Any] = {
    "apiVersion": "crestline.dev/v1alpha1",
    "kind": "EventDay",
    "metadata": {"name": "black-friday", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"tier": "shop"}},
        "schedule": {
            "timezone": "Europe/Berlin",
            "windows": [{"start": "2026-11-27T09:00:00", "end": "2026-11-27T21:00:00"}],
            "recurring": [{"cron": "0 18 * * SAT", "duration": "6h"}],
            "leadTime": "2h",
            "trailTime": "30m",
        },
        "overrides": {
            "evaluationIntervalSeconds": 10,
            "objectives": [{"name": "p95", "target": 0.25}],
            "capacity": {"minReplicas": 10, "headroomPercent": 20},
        },
    },
}


def _variant(name: str, schedule: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(VALID)
    obj["metadata"]["name"] = name
    obj["spec"]["schedule"].update(schedule)
    for key in [k for k, v in obj["spec"]["schedule"].items() if v is None]:
        del obj["spec"]["schedule"][key]
    return obj


def test_valid_eventday_is_accepted_with_defaults(stack: Stack, crds: None) -> None:
    apply(stack, VALID)
    got = kubectl(
        stack, "get", "evd", "black-friday", "-o", "jsonpath={.spec.overrides.capacity.noScaleDown}"
    ).stdout
    assert got == "true"
    header = kubectl(stack, "get", "evd", "black-friday").stdout.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "NEXT", "SLOS", "AGE"]


@pytest.mark.parametrize(
    ("case", "schedule", "message"),
    [
        (
            "end-before-start",
            {"windows": [{"start": "2026-11-27T21:00:00", "end": "2026-11-27T09:00:00"}]},
            "end must be after start",
        ),
        ("bad-time", {"windows": [{"start": "tomorrow", "end": "2026-11-27T09:00:00"}]}, "start"),
        ("bad-cron", {"recurring": [{"cron": "every saturday", "duration": "6h"}]}, "cron"),
        ("unknown-tz", {"timezone": "Mars/Olympus_Mons"}, "unknown IANA timezone"),
        ("negative-lead", {"leadTime": "-2h"}, "leadTime"),
        ("no-windows", {"windows": [], "recurring": []}, "at least one window"),
        ("windows-absent", {"windows": None, "recurring": None}, "at least one window"),
    ],
)
def test_invalid_eventday_is_rejected_at_apply(
    stack: Stack, crds: None, case: str, schedule: dict[str, Any], message: str
) -> None:
    result = apply(stack, _variant(f"bad-{case}", schedule), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert message in result.stderr, result.stderr


def _create(kube: client.ApiClient, name: str, schedule: dict[str, Any]) -> str | None:
    """Create the variant with dryRun=All; None if accepted, else the server's message."""
    body = _variant(name, schedule)
    try:
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            "crestline.dev", "v1alpha1", "default", "eventdays", body, dry_run="All"
        )
    except client.ApiException as exc:
        status, text = exc.status, str(exc.body or "")
    else:
        return None
    assert status == 422, text
    return str(json.loads(text)["message"])


def _pydantic_messages(schedule: dict[str, Any]) -> dict[str, str]:
    spec = _variant("x", schedule)["spec"]
    try:
        EventDaySpec.model_validate(spec)
    except ValidationError as exc:
        return {
            "spec." + ".".join(str(p) for p in e["loc"]): e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        }
    return {}


def _cron(expr: str) -> dict[str, Any]:
    return {"recurring": [{"cron": expr, "duration": "6h"}]}


def _window(start: str, end: str = "2030-01-01T00:00:00") -> dict[str, Any]:
    return {"windows": [{"start": start, "end": end}]}


# (case, schedule, field path as the API server writes it, what the message says)
RULES = [
    ("cron-tz", _cron("TZ=Europe/Berlin 0 18 * * SAT"), "recurring[0].cron", "TZ= and CRON_TZ="),
    ("cron-cron-tz", _cron("CRON_TZ=UTC 0 18 * * SAT"), "recurring[0].cron", "TZ= and CRON_TZ="),
    ("cron-every", _cron("@every 1h"), "recurring[0].cron", "@every is not supported"),
    ("cron-descriptor", _cron("@reboot"), "recurring[0].cron", "unknown descriptor"),
    ("cron-fields", _cron("0 18 * *"), "recurring[0].cron", "expected exactly 5 fields"),
    ("cron-empty", _cron(""), "recurring[0].cron", "expected exactly 5 fields"),
    ("cron-minute", _cron("61 * * * *"), "recurring[0].cron", "minute: each comma-separated"),
    ("cron-hour", _cron("0 24 * * *"), "recurring[0].cron", "hour: each comma-separated"),
    ("cron-dom", _cron("0 0 32 * *"), "recurring[0].cron", "day-of-month: each comma-separated"),
    ("cron-month", _cron("0 0 * 13 *"), "recurring[0].cron", "month: each comma-separated"),
    ("cron-dow-7", _cron("0 0 * * 7"), "recurring[0].cron", "day-of-week: each comma-separated"),
    ("cron-name", _cron("0 0 * * FUNDAY"), "recurring[0].cron", "day-of-week: each comma"),
    ("cron-step-0", _cron("*/0 * * * *"), "recurring[0].cron", "minute: each comma-separated"),
    ("cron-arabic-digit", _cron("\u0663 * * * *"), "recurring[0].cron", "minute: each comma"),
    ("cron-fullwidth-digit", _cron("0 0 * * \uff15"), "recurring[0].cron", "day-of-week: each"),
    ("cron-minute-order", _cron("30-10 * * * *"), "recurring[0].cron", "minute: a range N-M"),
    ("cron-hour-order", _cron("0 10-5 * * *"), "recurring[0].cron", "hour: a range N-M"),
    ("cron-dom-order", _cron("0 0 20-10 * *"), "recurring[0].cron", "day-of-month: a range"),
    ("cron-month-order", _cron("0 0 * DEC-JAN *"), "recurring[0].cron", "month: a range N-M"),
    ("cron-dow-order", _cron("0 0 * * FRI-MON"), "recurring[0].cron", "day-of-week: a range"),
    ("cron-no-minute", _cron(", * * * *"), "recurring[0].cron", "minute: has no value"),
    ("cron-no-hour", _cron("0 , * * *"), "recurring[0].cron", "hour: has no value"),
    ("cron-no-month", _cron("0 0 1 , *"), "recurring[0].cron", "month: has no value"),
    ("cron-no-dom", _cron("0 0 , * *"), "recurring[0].cron", "day-of-month: has no value"),
    ("cron-no-dow", _cron("0 0 * * ,"), "recurring[0].cron", "day-of-week: has no value"),
    ("cron-feb-30", _cron("0 0 30 2 *"), "recurring[0].cron", "day-of-month: none of its days"),
    ("cron-apr-31", _cron("* * 31 4 *"), "recurring[0].cron", "day-of-month: none of its days"),
    ("cron-no-day", _cron("0 0 , * ,"), "recurring[0].cron", "no day can ever match"),
    ("duration-zero", {"recurring": [{"cron": "0 18 * * SAT", "duration": "0s"}]},
     "recurring[0].duration", "must be longer than 0s"),
    ("duration-empty", {"recurring": [{"cron": "0 18 * * SAT", "duration": ""}]},
     "recurring[0].duration", "must be a duration such as"),
    ("duration-too-long", {"recurring": [{"cron": "0 18 * * SAT", "duration": "367d"}]},
     "recurring[0].duration", "must be at most 366d"),
    ("lead-empty", {"leadTime": ""}, "leadTime", "must be a duration such as"),
    ("lead-too-long", {"leadTime": "366d1s"}, "leadTime", "must be at most 366d"),
    ("trail-too-long", {"trailTime": "400d"}, "trailTime", "must be at most 366d"),
    ("start-feb-30", _window("2026-02-30T09:00:00"), "windows[0].start", "exists"),
    ("start-feb-29-common-year", _window("2027-02-29T09:00:00"), "windows[0].start", "exists"),
    ("start-month-13", _window("2026-13-01T09:00:00"), "windows[0].start", "exists"),
    ("start-hour-24", _window("2026-01-01T24:00:00"), "windows[0].start", "exists"),
    ("start-before-1970", _window("1969-12-31T23:00:00"), "windows[0].start", "exists"),
    ("end-feb-29-2100", _window("2099-01-01T00:00:00", "2100-02-29T00:00:00"), "windows[0].end",
     "exists"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "schedule", "field", "message"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_rejects_at_the_api_server_naming_the_field(
    stack: Stack, crds: None, kube: client.ApiClient, case: str, schedule: dict[str, Any],
    field: str, message: str,
) -> None:  # fmt: skip
    got = _create(kube, f"bad-{case}", schedule)
    assert got is not None, f"{case} was accepted"
    assert f"spec.schedule.{field}" in got, got
    assert message in got, got
    # The operator's own check says the same thing about the same field.
    mirror = _pydantic_messages(schedule)
    path = "spec.schedule." + field.replace("[", ".").replace("]", "")
    assert message in mirror[path], mirror
    assert mirror[path] in got or "pattern" in mirror[path], (mirror[path], got)


ACCEPTED = [
    "30 5/1 * * *",  # every hour from 05:30
    "0 0 13 * */1",  # the 13th only
    "@daily",
    "@midnight",
    "0 0 29 2 *",
    "0 0 31 */2 *",
    "*/9223372036854775807 * * * *",
    "*-x/5 0 1 * ?",  # robfig reads *-anything as *
    "0 0 * * MON-FR\u0130",  # Go lowers U+0130 to i
    "0\u00a00\u3000*\t* *",  # Go's strings.Fields splits on Unicode white space
    "+5 007 1 jan Mon",
    "0 0 1 * ,",  # under the either-day rule, the 1st
    "0 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23 * * *",
]


@pytest.mark.parametrize("expr", ACCEPTED)
def test_what_a_cronjob_accepts_is_accepted(
    stack: Stack, crds: None, kube: client.ApiClient, expr: str
) -> None:
    assert _create(kube, "good", _cron(expr)) is None
    assert _pydantic_messages(_cron(expr)) == {}

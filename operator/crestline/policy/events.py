"""Where an EventDay stands at ``now``: its phase, its activation, when that changes.

Manual control for on-call is expressed as data, so it is as level-triggered as the
schedule: an extra window (start now, for a duration) and a stop time (every
activation that began at or before it is over, and does not come back). Both come
from annotations, which GitOps tools leave alone (see crestline.handlers for their
names).

Containment: for any spec that passes ``EventDaySpec.model_validate``,
:func:`event_state` returns or raises :class:`ScheduleError`, whose message starts
with the field at fault (``schedule.recurring[0].cron: never fires within ...``).
Nothing else escapes, so one bad EventDay can be reported on its own and never stops
the evaluation of anything else.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crestline.api.eventday import EventDaySpec
from crestline.calendar.cron import Cron, CronError
from crestline.calendar.instants import format_instant, parse_duration, parse_instant
from crestline.calendar.wallclock import parse_time
from crestline.calendar.zones import MAX_INSTANT, MIN_INSTANT
from crestline.policy.windows import (
    STEPS,
    Activation,
    CalendarState,
    CronSource,
    FixedSource,
    NeverFires,
    Phase,
    Source,
    Window,
    activation_at,
    first_after,
)

__all__ = [
    "MANUAL_WINDOW_ANNOTATION",
    "STOPPED_AT_ANNOTATION",
    "ScheduleError",
    "event_state",
    "manual_control",
    "selects",
    "sources",
]

MANUAL_WINDOW_ANNOTATION = "crestline.dev/manual-window"  # "<start>/<end>", RFC 3339
STOPPED_AT_ANNOTATION = "crestline.dev/stopped-at"  # RFC 3339
_NO_LEAD = dt.timedelta()


@functools.lru_cache(maxsize=4096)
def _parse_cron(text: str) -> Cron:
    """Cron.parse, remembered: a pure function of the text, asked on every evaluation."""
    return Cron.parse(text)


class ScheduleError(ValueError):
    """The schedule cannot be evaluated; the message starts with the field at fault."""


def _field(path: str, action: str, exc: Exception) -> ScheduleError:
    return ScheduleError(f"{path}: {action}: {exc}")


def _check_span(path: str, w: Window, lead: dt.timedelta, trail: dt.timedelta) -> None:
    """A window whose lead or trail would leave the supported years is an error of its own."""
    try:
        if w.start - lead < MIN_INSTANT or w.end + trail >= MAX_INSTANT:
            raise OverflowError
    except OverflowError:
        raise ScheduleError(
            f"{path}: with leadTime and trailTime it reaches outside the years 3 to 9998"
        ) from None


@functools.lru_cache(maxsize=1024)
def _one_off_source(
    times: tuple[tuple[str, str], ...], tz: ZoneInfo, lead: dt.timedelta, trail: dt.timedelta
) -> FixedSource:
    """The one-off windows as a source, remembered (a pure function of the spec's values:
    converting a hundred local times on every evaluation would dominate its cost)."""
    one_offs = []
    for i, (start, end) in enumerate(times):
        try:
            window = Window(parse_time(start, tz), parse_time(end, tz))
        except (ValueError, OverflowError) as exc:
            raise _field(f"schedule.windows[{i}]", "bad time", exc) from exc
        _check_span(f"schedule.windows[{i}]", window, lead, trail)
        one_offs.append((f"windows[{i}]", window))
    return FixedSource.of("windows", one_offs, lead=lead, trail=trail)


def sources(spec: EventDaySpec, manual: Sequence[Window] = ()) -> list[Source]:
    """The spec's windows as sources, in spec order: one-off, recurring, then manual."""
    sched = spec.schedule
    try:
        tz = ZoneInfo(sched.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _field("schedule.timezone", "unknown zone", exc) from exc
    durations = {}
    for name in ("lead_time", "trail_time"):
        try:
            durations[name] = parse_duration(getattr(sched, name))
        except ValueError as exc:
            path = "leadTime" if name == "lead_time" else "trailTime"
            raise _field(f"schedule.{path}", "bad duration", exc) from exc
    lead, trail = durations["lead_time"], durations["trail_time"]
    times = tuple((w.start, w.end) for w in sched.windows)
    out: list[Source] = [_one_off_source(times, tz, lead, trail)]
    for i, rec in enumerate(sched.recurring):
        try:
            cron = _parse_cron(rec.cron)
        except CronError as exc:
            raise ScheduleError(f"schedule.recurring[{i}].cron: {exc}") from exc
        try:
            duration = parse_duration(rec.duration)
        except ValueError as exc:
            raise _field(f"schedule.recurring[{i}].duration", "bad duration", exc) from exc
        out.append(CronSource(f"recurring[{i}]", cron, tz, duration, lead, trail))
    for extra in manual:
        _check_span(MANUAL_WINDOW_ANNOTATION, extra, _NO_LEAD, trail)
    manual_windows = [("manual", extra) for extra in manual]
    out.append(FixedSource.of("manual", manual_windows, lead=_NO_LEAD, trail=trail))
    return out


def _stopped(
    act: Activation, srcs: Sequence[Source], stopped_at: dt.datetime | None, now: dt.datetime
) -> bool:
    """Whether ``act`` began at or before the stop (so it is over for good)."""
    if stopped_at is None:
        return False
    if act.start_known or stopped_at >= act.active_from:
        return act.active_from <= stopped_at
    # The walk did not reach the beginning: it is the same activation as the one in
    # force at the stop unless that one is over by now. Unknown counts as stopped.
    then = activation_at(srcs, stopped_at)
    return then is not None and not (then.end_known and then.active_until <= now)


def _next_unstopped(
    srcs: Sequence[Source], after: dt.datetime, stopped_at: dt.datetime | None, now: dt.datetime
) -> Activation | None:
    """The first activation beginning after ``after`` that the stop does not cover."""
    for _ in range(STEPS):
        nxt = first_after(srcs, after, now)
        if nxt is None or stopped_at is None or nxt.active_from > stopped_at:
            return nxt
        if not nxt.end_known:
            return None
        after = nxt.active_until
    return None


def _state(
    srcs: Sequence[Source], now: dt.datetime, stopped_at: dt.datetime | None
) -> CalendarState:
    current = activation_at(srcs, now)
    if current is not None and not _stopped(current, srcs, stopped_at, now):
        phase = current.phase(now)
        assert phase is not None
        change = {
            Phase.WARMING: current.start,
            Phase.ACTIVE: current.end,
            Phase.COOLING: current.active_until,
        }[phase]
        if not current.end_known and not current.start_known:
            return CalendarState(phase, current, None, None if change >= MAX_INSTANT else change)
        nxt = (
            _next_unstopped(srcs, current.active_until, stopped_at, now)
            if current.end_known
            else None
        )
        return CalendarState(phase, current, nxt.active_from if nxt else None, change)
    if current is not None and not current.end_known:
        # Stopped, and the walk did not see this activation end: look again then.
        wake = None if current.active_until >= MAX_INSTANT else current.active_until
        phase = Phase.SCHEDULED if wake else Phase.COMPLETED
        return CalendarState(phase, None, None, wake)
    after = now if current is None else current.active_until
    nxt = _next_unstopped(srcs, after, stopped_at, now)
    if nxt is None:
        return CalendarState(Phase.COMPLETED, None, None, None)
    return CalendarState(Phase.SCHEDULED, nxt, nxt.active_from, nxt.active_from)


def event_state(
    spec: EventDaySpec,
    now: dt.datetime,
    manual: Sequence[Window] = (),
    stopped_at: dt.datetime | None = None,
) -> CalendarState:
    """The phase at ``now``, the activation in force (else the next one), and when the
    phase can next change. Raises :class:`ScheduleError` and nothing else."""
    if not MIN_INSTANT <= now < MAX_INSTANT - dt.timedelta(days=3 * 366):
        raise ScheduleError(f"schedule: cannot be evaluated at {now.isoformat()}")
    srcs = sources(spec, manual)
    try:
        return _state(srcs, now, stopped_at)
    except ScheduleError:
        raise
    except NeverFires as exc:
        raise ScheduleError(f"schedule.{exc.source}.cron: {exc}") from exc
    except (ArithmeticError, ValueError) as exc:
        # Instants beyond the supported years (a window in 9998 plus its trail time).
        when = format_instant(now)
        raise ScheduleError(f"schedule: cannot be evaluated at {when}: {exc}") from exc


def manual_control(
    annotations: dict[str, str],
) -> tuple[list[Window], dt.datetime | None, list[str]]:
    """(extra windows, stop time, problems) from the manual-control annotations."""
    windows: list[Window] = []
    stopped: dt.datetime | None = None
    problems: list[str] = []
    raw = annotations.get(MANUAL_WINDOW_ANNOTATION)
    if raw:
        try:
            start_text, end_text = raw.split("/", 1)
            window = Window(parse_instant(start_text), parse_instant(end_text))
            if window.end <= window.start:
                raise ValueError("end must be after start")
            windows.append(window)
        except ValueError as exc:
            problems.append(f"{MANUAL_WINDOW_ANNOTATION}={raw!r}: {exc}")
    raw = annotations.get(STOPPED_AT_ANNOTATION)
    if raw:
        try:
            stopped = parse_instant(raw)
        except ValueError as exc:
            problems.append(f"{STOPPED_AT_ANNOTATION}={raw!r}: {exc}")
    return windows, stopped, problems


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """matchLabels semantics: every selector pair is present in labels (empty selects all)."""
    return all(labels.get(k) == v for k, v in selector.items())

"""Where an EventDay stands at ``now``: its activations, phase and next start.

Manual control for on-call is expressed as data, so it is as level-triggered as the
schedule: an extra window (start now, for a duration) and a stop time (every
activation that began at or before it is over). Both come from annotations, which
GitOps tools leave alone (see crestline.handlers for their names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from crestline.api.eventday import EventDaySpec
from crestline.calendar.cron import Cron
from crestline.calendar.instants import parse_duration, parse_instant
from crestline.calendar.wallclock import parse_time
from crestline.policy.windows import Activation, CalendarState, Window, merge, recurring, state_at

MANUAL_WINDOW_ANNOTATION = "crestline.dev/manual-window"  # "<start>/<end>", RFC 3339
STOPPED_AT_ANNOTATION = "crestline.dev/stopped-at"  # RFC 3339
LOOKAHEAD = dt.timedelta(days=8)  # covers weekly schedules; rarer ones are searched further


def activations(
    spec: EventDaySpec,
    now: dt.datetime,
    manual: Sequence[Window] = (),
    stopped_at: dt.datetime | None = None,
) -> list[Activation]:
    """Merged activations around ``now`` (current, and at least the next one if any)."""
    sched = spec.schedule
    tz = ZoneInfo(sched.timezone)
    lead, trail = parse_duration(sched.lead_time), parse_duration(sched.trail_time)
    windows = [Window(parse_time(w.start, tz), parse_time(w.end, tz)) for w in sched.windows]
    windows += list(manual)
    for rec in sched.recurring:
        cron, duration = Cron.parse(rec.cron), parse_duration(rec.duration)
        since = now - duration - trail
        found = recurring(cron, duration, tz, since, now + lead + LOOKAHEAD)
        if not any(w.start - lead > now for w in found):
            # A rare schedule (monthly, yearly): find just its next occurrence.
            local = (now + lead).astimezone(tz).replace(tzinfo=None)
            start = parse_time(cron.next_after(local).isoformat(), tz)
            found.append(Window(start, start + duration))
        windows += found
    merged = merge(windows, lead, trail)
    if stopped_at is not None:
        merged = [a for a in merged if a.active_from > stopped_at]
    return merged


def event_state(
    spec: EventDaySpec,
    now: dt.datetime,
    manual: Sequence[Window] = (),
    stopped_at: dt.datetime | None = None,
) -> CalendarState:
    acts = activations(spec, now, manual, stopped_at)
    return state_at(acts, now, recurring=bool(spec.schedule.recurring))


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

"""``kubectl crestline``: the on-call view and controls.

Every change goes through annotations the operator honours (crestline.policy.manual,
crestline.policy.events), so the plugin needs no special access beyond patching the
resources, and GitOps tools leave its changes alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from crestline.api.base import GROUP, VERSION
from crestline.calendar.instants import format_instant, parse_duration
from crestline.policy.events import MANUAL_WINDOW_ANNOTATION, STOPPED_AT_ANNOTATION
from crestline.policy.manual import HOLD, PAUSED_UNTIL

SLOS, EVENTDAYS = "performanceslos", "eventdays"


class PluginError(Exception):
    """A user-facing error: printed without a traceback, exit code 1."""


def _duration(text: str | None) -> dt.timedelta | None:
    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise PluginError(str(exc)) from exc
    if value <= dt.timedelta(0):
        raise PluginError(f"duration {text!r} must be positive")
    return value


class Cluster:
    def __init__(self, kubeconfig: str | None, namespace: str | None) -> None:
        try:
            api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
            _, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        except (config.ConfigException, OSError) as exc:
            raise PluginError(f"cannot load kubeconfig: {exc}") from exc
        self.namespace = namespace or active.get("context", {}).get("namespace") or "default"
        self.custom = client.CustomObjectsApi(api)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        try:
            obj: Any = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                kind = "PerformanceSLO" if plural == SLOS else "EventDay"
                raise PluginError(f"no {kind} {name!r} in namespace {self.namespace!r}") from exc
            raise
        return dict(obj)

    def list(self, plural: str, all_namespaces: bool) -> list[dict[str, Any]]:
        listing: Any = (
            self.custom.list_cluster_custom_object(GROUP, VERSION, plural)
            if all_namespaces
            else self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)
        )
        return list(listing.get("items", []))

    def annotate(self, plural: str, name: str, annotations: dict[str, str | None]) -> None:
        self.get(plural, name)  # a clear error for unknown names
        self.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            plural,
            name,
            {"metadata": {"annotations": annotations}},
            _content_type="application/merge-patch+json",
        )


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _objectives(status: dict[str, Any]) -> str:
    parts = []
    for o in status.get("objectives", []):
        if o.get("value") is None:
            parts.append(f"{o['name']}=?")
        else:
            sign = "<=" if o.get("direction") == "below" else ">="
            parts.append(f"{o['name']}={o['value']:.3g}{sign}{o['target']:.3g}")
    return " ".join(parts) or "-"


def status(cluster: Cluster, all_namespaces: bool) -> str:
    rows = [["NAMESPACE", "NAME", "TARGET", "REPLICAS", "OBJECTIVES", "MODE", "LAST DECISION"]]
    for slo in cluster.list(SLOS, all_namespaces):
        st = slo.get("status", {})
        last = st.get("lastDecision") or {}
        decision = (
            f"{last.get('currentReplicas')}->{last.get('desiredReplicas')} {last.get('time', '')}"
            if last
            else "-"
        )
        rows.append(
            [
                slo["metadata"]["namespace"],
                slo["metadata"]["name"],
                slo["spec"]["targetRef"]["name"],
                f"{st.get('currentReplicas', '?')}/{st.get('desiredReplicas', '?')}",
                _objectives(st),
                st.get("mode", "-"),
                decision,
            ]
        )
    if len(rows) == 1:
        return f"no PerformanceSLOs in {'any namespace' if all_namespaces else cluster.namespace}"
    return _table(rows)


def explain(cluster: Cluster, name: str) -> str:
    slo = cluster.get(SLOS, name)
    st = slo.get("status", {})
    lines = [
        f"{cluster.namespace}/{name} -> {slo['spec']['targetRef']['kind']} "
        f"{slo['spec']['targetRef']['name']}: replicas {st.get('currentReplicas', '?')}, "
        f"desired {st.get('desiredReplicas', '?')}, mode {st.get('mode', '-')}",
        "",
        "Objectives:",
    ]
    for o in st.get("objectives", []):
        lines.append(
            f"  {o['name']:<16} value {o.get('value')!s:<10} target {o['target']} "
            f"({o.get('direction')}, {o.get('kind')}) ratio {o.get('ratio')} "
            f"proposes {o.get('proposal')}" + (f"  error: {o['error']}" if o.get("error") else "")
        )
    lines += ["", "Conditions:"]
    for c in st.get("conditions", []):
        lines.append(f"  {c['type']:<16} {c['status']:<6} {c['reason']}: {c.get('message', '')}")
    lines += ["", "Recent decisions (newest last):"]
    for d in st.get("decisions", []) or []:
        applied = "applied" if d.get("applied") else "not applied"
        lines.append(
            f"  {d['time']} {d['currentReplicas']} -> {d['desiredReplicas']} "
            f"({applied}): {d['reason']}"
        )
    if not st.get("decisions"):
        lines.append("  none yet")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubectl crestline", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--namespace")
    parser.add_argument("-A", "--all-namespaces", action="store_true")
    parser.add_argument("--kubeconfig")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("status", help="table of PerformanceSLOs")
    sub.add_parser("explain", help="recent decisions with their numbers").add_argument("slo")
    pause = sub.add_parser("pause", help="stop writing replicas (optionally for a while)")
    pause.add_argument("slo")
    pause.add_argument("--for", dest="duration", help="e.g. 30m, 2h (default: until resume)")
    sub.add_parser("resume", help="undo pause and hold").add_argument("slo")
    hold = sub.add_parser("hold", help="hold the target at N replicas for a while")
    hold.add_argument("slo")
    hold.add_argument("--replicas", type=int, required=True)
    hold.add_argument("--for", dest="duration", required=True)
    event = sub.add_parser("event", help="start or stop an EventDay now")
    event.add_argument("action", choices=["start", "stop"])
    event.add_argument("eventday")
    event.add_argument("--for", dest="duration", help="with start: how long (e.g. 3h)")
    args = parser.parse_args(argv)
    try:
        print(run(args))
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if args.cmd in ("hold",) and args.replicas < 0:
        raise PluginError("--replicas must be >= 0")
    duration = _duration(getattr(args, "duration", None))
    cluster = Cluster(args.kubeconfig, args.namespace)
    if args.cmd == "status":
        return status(cluster, args.all_namespaces)
    if args.cmd == "explain":
        return explain(cluster, args.slo)
    if args.cmd == "pause":
        until = format_instant(now + duration) if duration else "forever"
        cluster.annotate(SLOS, args.slo, {PAUSED_UNTIL: until})
        return f"{args.slo}: paused until {until}"
    if args.cmd == "resume":
        cluster.annotate(SLOS, args.slo, {PAUSED_UNTIL: None, HOLD: None})
        return f"{args.slo}: resumed"
    if args.cmd == "hold":
        assert duration is not None
        until = format_instant(now + duration)
        cluster.annotate(SLOS, args.slo, {HOLD: f"{args.replicas}@{until}"})
        return f"{args.slo}: held at {args.replicas} replicas until {until}"
    if args.action == "start":
        if duration is None:
            raise PluginError("event start needs --for, e.g. --for 3h")
        window = f"{format_instant(now)}/{format_instant(now + duration)}"
        cluster.annotate(
            EVENTDAYS,
            args.eventday,
            {MANUAL_WINDOW_ANNOTATION: window, STOPPED_AT_ANNOTATION: None},
        )
        return f"{args.eventday}: event mode from now until {format_instant(now + duration)}"
    cluster.annotate(EVENTDAYS, args.eventday, {STOPPED_AT_ANNOTATION: format_instant(now)})
    return f"{args.eventday}: stopped at {format_instant(now)}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Confine a PromQL query to one namespace: a label matcher on every selector.

A team writes the PromQL of its objectives, and the operator runs it with its own
Prometheus credentials, so the query must not see other namespaces' series. This is the
rule prom-label-proxy enforces, done in-process: the query is parsed by a real PromQL
parser (``promql-parser``, the Rust implementation), every vector selector - metric
selectors, range selectors, selectors inside subqueries and functions, each branch of an
``or`` in a selector - gets ``<label>="<namespace>"`` added to its own matchers, and the
tree is printed back. Matchers the user wrote stay (a selector then matches only series
that satisfy both, which can only narrow it).

The library's own printer does not escape label values, so the printing here is our own,
and it is checked: the text sent is parsed again and must carry the matcher on every
selector and print to itself. Anything that fails that check, or that the parser does
not know (newer syntax), is refused with the reason - never sent unconfined.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from dataclasses import dataclass

import promql_parser as pp

#: Confined queries remembered (a few hundred bytes each): one per objective and
#: namespace in use, so a few thousand cover a large cluster.
CONFINED_CACHE = 4096


class ConfineError(ValueError):
    """The query cannot be confined; the message says why (it is the user's query)."""


@dataclass(frozen=True)
class _Enforce:
    label: str
    value: str


_OPS = (
    (pp.MatchOp.Equal, "="),
    (pp.MatchOp.NotEqual, "!="),
    (pp.MatchOp.Re, "=~"),
    (pp.MatchOp.NotRe, "!~"),
)


def _quote(text: str) -> str:
    """A PromQL string literal (Go syntax; JSON escaping is a valid subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def _number(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return repr(x)


def _duration(td: dt.timedelta) -> str:
    if td < dt.timedelta(0):
        return "-" + str(pp.display_duration(-td))
    return str(pp.display_duration(td))


def _matcher(m: pp.Matcher) -> str:
    op = next(text for kind, text in _OPS if m.op == kind)
    return f"{m.name}{op}{_quote(m.value)}"


def _selector(v: pp.VectorSelector, enforce: _Enforce | None) -> str:
    extra = [f"{enforce.label}={_quote(enforce.value)}"] if enforce else []
    groups = v.matchers.or_matchers
    if groups:
        inner = " or ".join(",".join([*(_matcher(m) for m in g), *extra]) for g in groups)
    else:
        inner = ",".join([*(_matcher(m) for m in v.matchers.matchers), *extra])
    text = (v.name or "") + "{" + inner + "}"
    return text + _modifiers(v.offset, v.at)


def _modifiers(offset: dt.timedelta | None, at: pp.AtModifier | None) -> str:
    out = ""
    if offset is not None:
        out += f" offset {_duration(offset)}"
    if at is not None:
        if at.type == pp.AtModifierType.Start:
            out += " @ start()"
        elif at.type == pp.AtModifierType.End:
            out += " @ end()"
        else:
            assert at.at is not None
            out += f" @ {at.at.timestamp():.3f}"
    return out


def _labels(labels: list[str]) -> str:
    return "(" + ", ".join(labels) + ")"


def _bin_modifier(mod: pp.BinModifier | None) -> str:
    if mod is None:
        return ""
    fill = mod.fill_values
    if fill is not None and (fill.lhs is not None or fill.rhs is not None):
        raise ConfineError("fill() modifiers are not supported")
    out = " bool" if mod.return_bool else ""
    if mod.matching is not None:
        word = "on" if mod.matching.type == pp.LabelModifierType.Include else "ignoring"
        out += f" {word}{_labels(mod.matching.labels)}"
    if mod.card == pp.VectorMatchCardinality.ManyToOne:
        out += f" group_left{_labels(mod.group_labels or [])}"
    elif mod.card == pp.VectorMatchCardinality.OneToMany:
        out += f" group_right{_labels(mod.group_labels or [])}"
    return out


def _print(node: object, enforce: _Enforce | None) -> str:
    if isinstance(node, pp.VectorSelector):
        return _selector(node, enforce)
    if isinstance(node, pp.MatrixSelector):
        vs = node.vector_selector
        base = _selector_core(vs, enforce)
        return f"{base}[{_duration(node.range)}]" + _modifiers(vs.offset, vs.at)
    if isinstance(node, pp.NumberLiteral):
        return _number(node.val)
    if isinstance(node, pp.StringLiteral):
        return _quote(node.val)
    if isinstance(node, pp.ParenExpr):
        return f"({_print(node.expr, enforce)})"
    if isinstance(node, pp.UnaryExpr):
        return f"-{_operand(node.expr, enforce)}"
    if isinstance(node, pp.BinaryExpr):
        lhs, rhs = _operand(node.lhs, enforce), _operand(node.rhs, enforce)
        return f"{lhs} {node.op}{_bin_modifier(node.modifier)} {rhs}"
    if isinstance(node, pp.Call):
        args = ", ".join(_print(a, enforce) for a in node.args)
        return f"{node.func.name}({args})"
    if isinstance(node, pp.AggregateExpr):
        mod = ""
        if node.modifier is not None:
            word = "by" if node.modifier.type == pp.AggModifierType.By else "without"
            mod = f" {word} {_labels(node.modifier.labels)} "
        args = _print(node.expr, enforce)
        if node.param is not None:
            args = f"{_print(node.param, enforce)}, {args}"
        return f"{node.op}{mod}({args})"
    if isinstance(node, pp.SubqueryExpr):
        step = _duration(node.step) if node.step is not None else ""
        inner = _operand(node.expr, enforce)
        if node.range is None:
            raise ConfineError("a subquery without a range")
        return f"{inner}[{_duration(node.range)}:{step}]" + _modifiers(node.offset, node.at)
    raise ConfineError(f"unsupported PromQL construct {type(node).__name__}")


def _operand(node: object, enforce: _Enforce | None) -> str:
    """An operand of an operator, parenthesised when it is itself an operation, so the
    printed text means the tree exactly, whatever the operators' precedence."""
    text = _print(node, enforce)
    return f"({text})" if isinstance(node, pp.BinaryExpr | pp.UnaryExpr) else text


def _selector_core(v: pp.VectorSelector, enforce: _Enforce | None) -> str:
    """A selector without its offset/@ (a range selector puts them after the range)."""
    return _selector(
        _Plain(v.name, v.matchers),  # type: ignore[arg-type]
        enforce,
    )


@dataclass(frozen=True)
class _Plain:
    name: str | None
    matchers: pp.Matchers
    offset: None = None
    at: None = None


def _selectors(expr: object) -> list[pp.VectorSelector]:
    found: list[pp.VectorSelector] = []

    def visit(node: object) -> None:
        if isinstance(node, pp.VectorSelector):
            found.append(node)
        elif isinstance(node, pp.MatrixSelector):
            found.append(node.vector_selector)

    pp.walk(expr, visit, None)  # type: ignore[arg-type]
    return found


def _confined(v: pp.VectorSelector, enforce: _Enforce) -> bool:
    def has(ms: list[pp.Matcher]) -> bool:
        return any(
            m.name == enforce.label and m.op == pp.MatchOp.Equal and m.value == enforce.value
            for m in ms
        )

    groups = v.matchers.or_matchers
    return all(has(g) for g in groups) if groups else has(v.matchers.matchers)


def parse(query: str) -> object:
    try:
        return pp.parse(query)
    except (ValueError, RuntimeError) as exc:
        raise ConfineError(f"not valid PromQL: {str(exc)[:200]}") from exc


def confine(query: str, *, label: str, value: str) -> str:
    """``query`` with ``label="value"`` on every selector (see the module docstring)."""
    return _confine(query, label, value)


@functools.lru_cache(maxsize=CONFINED_CACHE)
def _confine(query: str, label: str, value: str) -> str:
    # Every evaluation asks again for the same few queries; parsing twice and printing
    # was about 6% of an operator's CPU at 2,000 SLOs. Errors are not cached.
    enforce = _Enforce(label, value)
    text = _print(parse(query), enforce)
    check = parse(text)
    selectors = _selectors(check)
    if not selectors:
        return text  # no series are read: nothing to confine
    if not all(_confined(v, enforce) for v in selectors) or _print(check, None) != text:
        raise ConfineError("the query could not be confined reliably; simplify it")
    return text


def is_confined(query: str, *, label: str, value: str) -> bool:
    """Whether every selector of ``query`` carries ``label="value"`` (the check above)."""
    enforce = _Enforce(label, value)
    return all(_confined(v, enforce) for v in _selectors(parse(query)))

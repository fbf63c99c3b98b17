"""Every PromQL query of platform/ (alerting/recording rules and Grafana dashboards), parsed.

`all_queries()` yields Query objects: where the query is, its text, and the vector selectors it uses
(metric name, label matchers) plus the labels it groups or matches on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import promql_parser as pp

from common import PLATFORM, find

# Grafana's variables, replaced by representative values before parsing.
GRAFANA_VARS = {
    "$__rate_interval": "5m", "${__rate_interval}": "5m", "$__interval": "1m", "${__interval}": "1m",
    "$__range": "1h", "${__range}": "1h",
}


@dataclass
class Selector:
    name: str | None
    matchers: list[tuple[str, str, str]]  # (label, op, value)


@dataclass
class Query:
    where: str
    expr: str
    selectors: list[Selector] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)
    error: str | None = None


def _walk(node, q: Query) -> None:
    t = type(node).__name__
    if t == "VectorSelector":
        ms = [(m.name, str(m.op).split(".")[-1], m.value) for m in node.matchers.matchers]
        name = node.name
        for label, op, value in ms:
            if label == "__name__" and op == "Equal":
                name = value
        q.selectors.append(Selector(name, [m for m in ms if m[0] != "__name__"]))
    elif t == "MatrixSelector":
        _walk(node.vector_selector, q)
    elif t == "AggregateExpr":
        if node.modifier is not None:
            q.grouping |= set(node.modifier.labels)
        _walk(node.expr, q)
        if node.param is not None:
            _walk(node.param, q)
    elif t == "BinaryExpr":
        mod = node.modifier
        if mod is not None:
            if mod.matching is not None:
                q.grouping |= set(mod.matching.labels)
            q.grouping |= set(mod.group_labels or [])
        _walk(node.lhs, q)
        _walk(node.rhs, q)
    elif t == "Call":
        for a in node.args:
            _walk(a, q)
    elif t in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
        _walk(node.expr, q)
    elif t in ("NumberLiteral", "StringLiteral"):
        pass
    else:
        raise TypeError(f"unknown PromQL node {t}")


def parse(where: str, expr: str) -> Query:
    q = Query(where, expr)
    text = expr
    for k, v in GRAFANA_VARS.items():
        text = text.replace(k, v)
    # Dashboard variables ($job, ${namespace}) become placeholder label values.
    text = re.sub(r"\$\{?([A-Za-z_]\w*)\}?", r"var_\1", text)
    try:
        _walk(pp.parse(text), q)
    except Exception as e:  # noqa: BLE001 - a parse error is a finding
        q.error = str(e).splitlines()[0][:200]
    return q


def label_values_query(where: str, text: str) -> Query | None:
    """Grafana `label_values(<selector>, <label>)` variable queries."""
    m = re.match(r"^\s*label_values\((.*),\s*(\w+)\s*\)\s*$", text, re.S)
    if not m:
        return None
    q = parse(where, m.group(1))
    q.grouping.add(m.group(2))
    return q


def rule_queries() -> list[Query]:
    out = []
    for pr in find("PrometheusRule"):
        for g in pr["spec"]["groups"]:
            for r in g["rules"]:
                name = r.get("alert") or r.get("record")
                out.append(parse(f"PrometheusRule {pr['metadata']['name']} / {g['name']} / {name}", r["expr"]))
    return out


def recorded_names() -> set[str]:
    return {r["record"] for pr in find("PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"] if "record" in r}


def dashboard_queries() -> list[Query]:
    out = []
    for path in sorted((PLATFORM / "monitoring" / "dashboards").glob("*.json")):
        d = json.loads(path.read_text())
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") == "query":
                text = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
                q = label_values_query(f"{path.name} variable ${v['name']}", text) or parse(f"{path.name} variable ${v['name']}", text)
                out.append(q)
        panels = list(d.get("panels", []))
        while panels:
            p = panels.pop(0)
            panels.extend(p.get("panels", []))
            for t in p.get("targets", []):
                if "expr" in t:
                    out.append(parse(f"{path.name} panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
    return out


def all_queries() -> list[Query]:
    return rule_queries() + dashboard_queries()


def base_name(metric: str, histograms: set[str]) -> str:
    """Histogram series map to their base name (foo_bucket/_sum/_count → foo)."""
    for suffix in ("_bucket", "_sum", "_count"):
        if metric.endswith(suffix) and metric[: -len(suffix)] in histograms:
            return metric[: -len(suffix)]
    return metric

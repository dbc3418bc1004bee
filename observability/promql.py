"""What a PromQL expression reads: the metric names in it (ours, the SDK's, Prometheus's `up`)."""

from __future__ import annotations

import re

from contracts import metrics as m

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
# Metric names of ours and the SDK's have a prefix; `up` is the one bare name the rules use. Label names inside
# braces and `by (…)` have neither.
_NAME = re.compile(r"\b(wafh_[a-z0-9_]+|temporal_[a-z0-9_]+|up)\b")


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads (string literals such as label values are not names)."""
    return set(_NAME.findall(_QUOTED.sub('""', expr)))


def owners(expr: str) -> set[str]:
    """The catalogue metrics and outside series an expression reads; raises for a name that is neither."""
    found: set[str] = set()
    for name in metric_names(expr):
        metric = m.series_owner(name)
        if metric is not None:
            found.add(metric.name)
        elif name in m.EXTERNAL_SERIES:
            found.add(name)
        else:
            raise ValueError(f"{name!r} in {expr!r} is neither in the metric catalogue nor a known outside series")
    return found

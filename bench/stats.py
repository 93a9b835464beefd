"""The percentiles every bench reports, computed one way."""

from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, between the two nearest; NaN for none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    """p50, p95 and p99 (to 0.1 ms) and the count: a route's latencies."""
    return {
        "p50": round(pct(values, 0.5), 4),
        "p95": round(pct(values, 0.95), 4),
        "p99": round(pct(values, 0.99), 4),
        "n": len(values),
    }


def spread(values: list[float]) -> dict:
    """p50, p95 and the maximum (to 1 ms) and the count: what a tail is judged by."""
    return {
        "p50": round(pct(values, 0.5), 3),
        "p95": round(pct(values, 0.95), 3),
        "max": round(max(values), 3) if values else None,
        "n": len(values),
    }

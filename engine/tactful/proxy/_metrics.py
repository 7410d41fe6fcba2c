"""Counters and gauges in the Prometheus text format, for GET /metrics."""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable

Labels = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, Labels], float] = defaultdict(float)
        self.gauges: dict[str, Callable[[], dict[Labels, float]]] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += amount

    def gauge(self, name: str, read) -> None:
        self.gauges[name] = read

    def value(self, name: str, **labels: str) -> float:
        return self.counters.get((name, tuple(sorted(labels.items()))), 0.0)

    async def render(self) -> str:
        """The text format; a gauge may be a coroutine function (it reads a store), and one that
        fails is left out rather than failing the scrape."""
        lines = []
        seen = set()
        for (name, labels), value in sorted(self.counters.items()):
            if name not in seen:
                lines.append(f"# TYPE {name} counter")
                seen.add(name)
            label = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label}}} {value:g}" if label else f"{name} {value:g}")
        for name, read in sorted(self.gauges.items()):
            try:
                values = read()
                values = await values if inspect.isawaitable(values) else values
            except Exception:  # noqa: BLE001 - a backend that is away: /metrics still answers
                self.inc("tactful_metrics_gauge_failures_total", gauge=name)
                continue
            for labels, value in values.items():
                label = ",".join(f'{k}="{v}"' for k, v in labels)
                lines.append(f"{name}{{{label}}} {value:g}" if label else f"{name} {value:g}")
        return "\n".join(lines) + "\n"

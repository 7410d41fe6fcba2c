"""Replaying an event log: one engine per visitor, fed in log order.

This is the one replay driver. ``tactful replay``, the golden spec (in CPython and
in Pyodide), the benchmarks and ``tactful simulate`` all go through it, so "what
the engine decides for this log" means the same thing everywhere.

>>> from tactful.core import Replay, load_playbook                       # doctest: +SKIP
>>> replay = Replay(load_playbook(text))                                  # doctest: +SKIP
>>> replay.feed("ana", [{"t": 0, "type": "page_view", "url": "/cart"}])  # doctest: +SKIP
[]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ._decision import Decision
from ._engine import Engine
from ._playbook import Playbook
from ._state import VisitorState

MAX_VISITOR_ID = 128


@dataclass(frozen=True, slots=True)
class Row:
    """One decision of one visitor, from line ``line`` of a log."""

    line: int
    visitor: str
    decision: Decision


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A log line that could not be replayed, or whose event the engine skipped."""

    line: int
    message: str
    skipped_event: bool = False  # the line was an event; the engine skipped it (counted by reason)


class Replay:
    """Per-visitor engines. Visitors are independent; each keeps its state across its visits."""

    def __init__(self, playbook: Playbook, paused: frozenset[str] = frozenset()):
        self.playbook = playbook
        self.paused = paused
        self.engines: dict[str, Engine] = {}
        self._skipped_before_reload: dict[str, int] = {}

    def engine(self, visitor: str) -> Engine:
        engine = self.engines.get(visitor)
        if engine is None:
            engine = self.engines[visitor] = Engine(self.playbook, visitor_id=visitor, paused=self.paused)
        return engine

    def feed(self, visitor: str, events: list[Any], now: float | None = None) -> list[Decision]:
        """Feed ``visitor``'s events; ``now`` defaults to the latest event time, as the page that sent
        them would stamp its batch (without one, the instant the engine is at: no time passes).

        ``now`` is on the page's clock, like event times: the engine maps it through the page's
        shift (a wall clock stepped between pages), so the engine's own clock is never mixed in.
        """
        engine = self.engine(visitor)
        if now is None:
            times = [e["t"] for e in events if isinstance(e, dict) and _finite(e.get("t"))]
            shift = engine.page.shift if engine.page else 0.0
            now = max(times) if times else (engine.state.clock or 0.0) - shift
        return engine.feed(events, now)

    def reload(self, visitor: str) -> Engine:
        """Restart ``visitor``'s engine from its stored record, as a page load in the browser does."""
        old = self.engine(visitor)
        _add(self._skipped_before_reload, old.skipped)
        fresh = Engine(self.playbook, state=VisitorState.from_bytes(old.state.to_bytes()), paused=self.paused)
        self.engines[visitor] = fresh
        return fresh

    @property
    def skipped(self) -> dict[str, int]:
        """Skipped events by reason, over every visitor and every reload."""
        total = dict(self._skipped_before_reload)
        for engine in self.engines.values():
            _add(total, engine.skipped)
        return dict(sorted(total.items()))


def replay_lines(replay: Replay, lines: Iterable[str]) -> Iterator[Row | LineProblem]:
    """Replay JSONL lines (each event also names its ``visitor``), one feed per line.

    Yields a ``Row`` per decision and a ``LineProblem`` per line that is not a
    replayable event (bad JSON, no visitor, no numeric ``t``) or whose event the
    engine skipped; the rest of the log still replays.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LineProblem(number, f"not JSON ({exc.msg}); skipped")
            continue
        visitor = event.get("visitor") if isinstance(event, dict) else None
        if not isinstance(visitor, str) or not visitor or len(visitor) > MAX_VISITOR_ID:
            yield LineProblem(number, "needs a `visitor` string; skipped")
            continue
        if not _finite(event.get("t")):
            yield LineProblem(number, "needs a numeric `t`; skipped")
            continue
        engine = replay.engine(visitor)
        before = dict(engine.skipped)
        decisions = replay.feed(visitor, [event])
        moved = [reason for reason, count in engine.skipped.items() if count != before.get(reason, 0)]
        if moved:
            yield LineProblem(number, f"event skipped ({moved[0]})", skipped_event=True)
        for decision in decisions:
            yield Row(number, visitor, decision)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for reason, count in more.items():
        total[reason] = total.get(reason, 0) + count
